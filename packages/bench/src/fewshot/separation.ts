// How well a set of embeddings separates the labels (Q133: what the contrastive step changes):
//   silhouette        mean over points of (b − a) / max(a, b), a = mean cosine distance to its own
//                     class, b = smallest mean distance to another class (scikit-learn's
//                     silhouette_score with metric='cosine'); in [−1, 1], higher = better separated
//   centroidAccuracy  leave-one-out nearest-centroid accuracy by cosine similarity
//   pca2              the 2-D PCA projection (power iteration on the covariance) for the figure
// All in float64 on (n, D) row-major arrays.

function unitRows(X: ArrayLike<number>, n: number, D: number): Float64Array {
  const U = new Float64Array(n * D);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += X[i * D + d] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < D; d++) U[i * D + d] = X[i * D + d] * inv;
  }
  return U;
}

export function silhouetteCosine(X: ArrayLike<number>, y: readonly number[]): number {
  const n = y.length, D = X.length / n;
  const U = unitRows(X, n, D);
  const classes = [...new Set(y)];
  if (classes.length < 2) throw new Error('silhouette: needs at least 2 labels');
  let total = 0;
  for (let i = 0; i < n; i++) {
    const sum = new Map<number, number>(), cnt = new Map<number, number>();
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let c = 0;
      for (let d = 0; d < D; d++) c += U[i * D + d] * U[j * D + d];
      sum.set(y[j], (sum.get(y[j]) ?? 0) + (1 - c));
      cnt.set(y[j], (cnt.get(y[j]) ?? 0) + 1);
    }
    // A point alone in its class scores 0 (scikit-learn's convention).
    if (!cnt.get(y[i])) continue;
    const a = sum.get(y[i])! / cnt.get(y[i])!;
    let b = Infinity;
    for (const c of classes) if (c !== y[i] && cnt.get(c)) b = Math.min(b, sum.get(c)! / cnt.get(c)!);
    const m = Math.max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return total / n;
}

export function centroidAccuracy(X: ArrayLike<number>, y: readonly number[]): number {
  const n = y.length, D = X.length / n;
  const U = unitRows(X, n, D);
  const classes = [...new Set(y)];
  const sums = new Map(classes.map((c) => [c, new Float64Array(D)]));
  const cnt = new Map(classes.map((c) => [c, 0]));
  for (let i = 0; i < n; i++) {
    const s = sums.get(y[i])!;
    for (let d = 0; d < D; d++) s[d] += U[i * D + d];
    cnt.set(y[i], cnt.get(y[i])! + 1);
  }
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = -Infinity, bestC = -1;
    for (const c of classes) {
      const k = cnt.get(c)! - (c === y[i] ? 1 : 0);
      if (k === 0) continue;
      const s = sums.get(c)!;
      let dotp = 0, norm = 0;
      for (let d = 0; d < D; d++) {
        const v = s[d] - (c === y[i] ? U[i * D + d] : 0);
        dotp += v * U[i * D + d];
        norm += v * v;
      }
      const cos = norm > 0 ? dotp / Math.sqrt(norm) : -Infinity;
      if (cos > best) { best = cos; bestC = c; }
    }
    if (bestC === y[i]) correct++;
  }
  return correct / n;
}

/** 2-D PCA projection (n, 2) of the centred rows, by power iteration with deflation. */
export function pca2(X: ArrayLike<number>, n: number): { points: number[][]; explained: number[] } {
  const D = X.length / n;
  const mean = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) mean[d] += X[i * D + d] / n;
  const Z = new Float64Array(n * D);
  for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) Z[i * D + d] = X[i * D + d] - mean[d];
  const cov = new Float64Array(D * D);
  for (let i = 0; i < n; i++) for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) cov[a * D + b] += (Z[i * D + a] * Z[i * D + b]) / Math.max(1, n - 1);
  let trace = 0;
  for (let a = 0; a < D; a++) trace += cov[a * D + a];
  const comps: Float64Array[] = [], vals: number[] = [];
  for (let c = 0; c < 2; c++) {
    let v = new Float64Array(D).map((_, i) => 1 + ((i * 7919) % 13) / 13);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(D);
      for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) w[a] += cov[a * D + b] * v[b];
      for (const u of comps) {
        let p = 0;
        for (let a = 0; a < D; a++) p += w[a] * u[a];
        for (let a = 0; a < D; a++) w[a] -= p * u[a];
      }
      const norm = Math.sqrt(w.reduce((s, x) => s + x * x, 0));
      if (norm === 0) break;
      lambda = norm;
      v = w.map((x) => x / norm);
    }
    comps.push(v);
    vals.push(lambda);
  }
  const points = [];
  for (let i = 0; i < n; i++) {
    const p = comps.map((u) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += Z[i * D + d] * u[d];
      return s;
    });
    points.push(p);
  }
  return { points, explained: vals.map((l) => (trace > 0 ? l / trace : 0)) };
}
