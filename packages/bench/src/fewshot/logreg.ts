// The logistic-regression head of frozen_lr and SetFit's stage 2: multinomial logistic regression
// with an L2 penalty, in float64, the same objective as scikit-learn's
// LogisticRegression(penalty='l2', C=C, fit_intercept=True) with the lbfgs solver:
//
//   minimise  Σᵢ −log softmax(W xᵢ + b)[yᵢ]  +  ‖W‖² / (2C)          (the intercept b is not penalised)
//
// The objective is strictly convex in W (and convex in b), so any solver that converges reaches the
// same W; we use L-BFGS (memory 10, backtracking Armijo line search) and stop on the gradient's
// max-norm, as scikit-learn does (its tol 1e-4 applies to the objective divided by n; our default 1e-6 on the sum is far tighter, so the fixture test
// measures the model, not the stopping rule). Fixtures made with Debian's python3-sklearn:
// packages/bench/test/fixtures/logreg/ (make_logreg_fixture.py).

export interface LogRegOptions {
  /** Inverse regularisation strength (scikit-learn's C). */
  C?: number;
  maxIter?: number;
  /** Stop when max |∂objective| ≤ tol. */
  tol?: number;
}

export interface LogRegModel {
  /** (K, D) row-major. */
  W: Float64Array;
  /** (K). */
  b: Float64Array;
  numClasses: number;
  dim: number;
  iterations: number;
  /** Final objective value. */
  loss: number;
}

/** Objective and gradient at θ = [W (K·D), b (K)]. */
function objective(theta: Float64Array, X: Float64Array, y: Int32Array, n: number, D: number, K: number, C: number, grad: Float64Array): number {
  grad.fill(0);
  let f = 0;
  const z = new Float64Array(K);
  const bOff = K * D;
  for (let i = 0; i < n; i++) {
    let zmax = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = theta[bOff + k];
      for (let d = 0; d < D; d++) s += theta[k * D + d] * X[i * D + d];
      z[k] = s;
      if (s > zmax) zmax = s;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(z[k] - zmax);
    const logZ = zmax + Math.log(sum);
    f += logZ - z[y[i]];
    for (let k = 0; k < K; k++) {
      const g = Math.exp(z[k] - logZ) - (k === y[i] ? 1 : 0);
      for (let d = 0; d < D; d++) grad[k * D + d] += g * X[i * D + d];
      grad[bOff + k] += g;
    }
  }
  for (let j = 0; j < K * D; j++) {
    f += (theta[j] * theta[j]) / (2 * C);
    grad[j] += theta[j] / C;
  }
  return f;
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Fit on X (n, D) row-major and labels y in [0, K). */
export function fitLogReg(X: ArrayLike<number>, y: ArrayLike<number>, numClasses: number, opts: LogRegOptions = {}): LogRegModel {
  const n = y.length;
  if (n === 0) throw new Error('fitLogReg: no examples');
  if (X.length % n !== 0) throw new Error(`fitLogReg: X has ${X.length} values, not a multiple of ${n} rows`);
  const D = X.length / n, K = numClasses;
  if (!(K >= 2)) throw new Error(`fitLogReg: need at least 2 classes, got ${K}`);
  const C = opts.C ?? 1, maxIter = opts.maxIter ?? 1000, tol = opts.tol ?? 1e-6;
  if (!(C > 0)) throw new Error(`fitLogReg: C must be > 0, got ${C}`);
  const Xd = Float64Array.from(X);
  const yi = Int32Array.from(y);
  for (let i = 0; i < n; i++) if (!(yi[i] >= 0 && yi[i] < K)) throw new Error(`fitLogReg: label ${y[i]} of row ${i} is outside [0, ${K})`);
  const P = K * D + K;
  let theta = new Float64Array(P);
  let g = new Float64Array(P);
  let f = objective(theta, Xd, yi, n, D, K, C, g);
  const mem = 10;
  const S: Float64Array[] = [], Yv: Float64Array[] = [], rho: number[] = [];
  let it = 0;
  for (; it < maxIter && maxAbs(g) > tol; it++) {
    // Two-loop recursion: direction = −H·g.
    const q = Float64Array.from(g);
    const alpha: number[] = [];
    for (let j = S.length - 1; j >= 0; j--) {
      const a = rho[j] * dot(S[j], q);
      alpha[j] = a;
      for (let p = 0; p < P; p++) q[p] -= a * Yv[j][p];
    }
    const gamma = S.length ? dot(S[S.length - 1], Yv[Yv.length - 1]) / dot(Yv[Yv.length - 1], Yv[Yv.length - 1]) : 1 / Math.max(1, maxAbs(g));
    for (let p = 0; p < P; p++) q[p] *= gamma;
    for (let j = 0; j < S.length; j++) {
      const bcoef = rho[j] * dot(Yv[j], q);
      for (let p = 0; p < P; p++) q[p] += S[j][p] * (alpha[j] - bcoef);
    }
    for (let p = 0; p < P; p++) q[p] = -q[p];
    let gd = dot(g, q);
    if (!(gd < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0; Yv.length = 0; rho.length = 0;
      for (let p = 0; p < P; p++) q[p] = -g[p];
      gd = dot(g, q);
    }
    let step = 1;
    const next = new Float64Array(P), gNext = new Float64Array(P);
    let fNext = Infinity;
    for (let ls = 0; ls < 60; ls++) {
      for (let p = 0; p < P; p++) next[p] = theta[p] + step * q[p];
      fNext = objective(next, Xd, yi, n, D, K, C, gNext);
      if (fNext <= f + 1e-4 * step * gd) break;
      step /= 2;
    }
    if (!(fNext <= f)) break; // no progress possible at float64 precision
    const s = new Float64Array(P), yk = new Float64Array(P);
    for (let p = 0; p < P; p++) {
      s[p] = next[p] - theta[p];
      yk[p] = gNext[p] - g[p];
    }
    const sy = dot(s, yk);
    if (sy > 1e-12) {
      S.push(s); Yv.push(yk); rho.push(1 / sy);
      if (S.length > mem) { S.shift(); Yv.shift(); rho.shift(); }
    }
    theta = next; g = gNext; f = fNext;
  }
  return { W: theta.slice(0, K * D), b: theta.slice(K * D), numClasses: K, dim: D, iterations: it, loss: f };
}

/** Class probabilities (n, K) of rows X (n, D). */
export function predictProba(m: LogRegModel, X: ArrayLike<number>): Float64Array {
  const D = m.dim, K = m.numClasses;
  if (X.length % D !== 0) throw new Error(`predictProba: X has ${X.length} values, not a multiple of dim ${D}`);
  const n = X.length / D;
  const out = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    let zmax = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = m.b[k];
      for (let d = 0; d < D; d++) s += m.W[k * D + d] * X[i * D + d];
      out[i * K + k] = s;
      if (s > zmax) zmax = s;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += (out[i * K + k] = Math.exp(out[i * K + k] - zmax));
    for (let k = 0; k < K; k++) out[i * K + k] /= sum;
  }
  return out;
}

/** Arg-max class of each row of a (n, K) probability matrix. */
export function argmaxRows(p: Float64Array, K: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < p.length / K; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (p[i * K + k] > p[i * K + best]) best = k;
    out.push(best);
  }
  return out;
}
