// Student's t distribution, for t-based confidence intervals and paired t tests over a handful of
// seeds (the claims of packages/bench/src/claims.ts). JavaScript has no incomplete beta, so:
//   P(T ≤ t) for t < 0 = ½ · I_{ν/(ν+t²)}(ν/2, ½)      (I: the regularized incomplete beta)
// with I_x(a, b) by its continued fraction (modified Lentz, Numerical Recipes §6.4), using the
// symmetry I_x(a,b) = 1 − I_{1−x}(b,a) where the fraction converges slowly; ln Γ by Lanczos
// (g = 7, 9 terms: ~15 digits). The quantile inverts the CDF by bisection on [0, 2·10⁸] then
// Newton steps — slower than Hill's algorithm but plainly right; ν = 1 and 2 have closed forms
// and are used as checks in the tests. Values are checked against scipy.stats.t in test/student_t.test.ts.

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, reflection below ½). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of I_x(a, b) (converges fast for x < (a+1)/(a+b+2)). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), a, b > 0, x in [0, 1]. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new Error(`incompleteBeta: a and b must be > 0, got a=${a}, b=${b}`);
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaFraction(1 - x, b, a)) / b;
}

function checkDf(fn: string, df: number): void {
  if (!(df > 0) || !Number.isFinite(df)) throw new Error(`${fn}: degrees of freedom must be a positive finite number, got ${String(df)}`);
}

/** P(T ≤ t) for T ~ Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  checkDf('studentTCdf', df);
  if (Number.isNaN(t)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  // I_{ν/(ν+t²)}(ν/2, ½) written with t²/ν so large ν keeps its digits.
  const tail = 0.5 * incompleteBeta(1 / (1 + (t * t) / df), df / 2, 0.5);
  return t < 0 ? tail : 1 - tail;
}

/** Two-sided p-value P(|T| ≥ |t|). */
export function studentTTwoSided(t: number, df: number): number {
  checkDf('studentTTwoSided', df);
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return Math.min(1, incompleteBeta(1 / (1 + (t * t) / df), df / 2, 0.5));
}

/** The q-quantile of Student's t with `df` degrees of freedom, 0 < q < 1 (scipy.stats.t.ppf). */
export function studentTQuantile(q: number, df: number): number {
  checkDf('studentTQuantile', df);
  if (!(q > 0 && q < 1)) throw new Error(`studentTQuantile: q must be in (0, 1), got ${String(q)}`);
  if (q === 0.5) return 0;
  if (q < 0.5) return -studentTQuantile(1 - q, df);
  // Upper half: find t > 0 with P(T > t) = 1 − q, working on the tail for precision.
  const tailTarget = 1 - q;
  const tail = (t: number) => 0.5 * incompleteBeta(1 / (1 + (t * t) / df), df / 2, 0.5);
  let lo = 0;
  let hi = 1;
  while (tail(hi) > tailTarget && hi < 2e8) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (tail(mid) > tailTarget) lo = mid;
    else hi = mid;
  }
  let t = 0.5 * (lo + hi);
  // Newton polish on the tail: d tail / dt = −pdf(t).
  const lnNorm = lnGamma((df + 1) / 2) - lnGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  for (let i = 0; i < 3; i++) {
    const pdf = Math.exp(lnNorm - ((df + 1) / 2) * Math.log1p((t * t) / df));
    if (!(pdf > 0)) break;
    const next = t + (tail(t) - tailTarget) / pdf;
    if (!Number.isFinite(next) || next <= 0) break;
    t = next;
  }
  return t;
}
