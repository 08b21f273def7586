// The jax-js peer of `tunebench bench peers` (@jax-js/jax, an optional npm dependency), on two of
// its backends: `webgpu` on a Dawn device of the same adapter (the `webgpu` package provides
// navigator.gpu, as for tfjs) and `wasm` (its WebAssembly backend; single-threaded in Node, whose
// global scope has no Worker). The three cases have the shapes and semantics of peers.ts and
// scripts/torch_peer.py, written in jax-js's NumPy/JAX API:
//   matmul        np.matmul of two 512² arrays, then one value read back;
//   layer         the post-LN encoder layer (exact-erf GELU: nn.gelu approximate: false, i.e.
//                 x·½·erfc(−x/√2)) with a 2-class token head; loss and gradient by valueAndGrad,
//                 Adam written by hand on the parameter arrays, the whole step under jit;
//   tiny          the BERT-tiny MLM step (embeddings + 2 layers + MLM head on the labelled rows,
//                 decoder tied to the word embeddings, dropout 0.1), AdamW written by hand; eager,
//                 not jit (jax-js's jit cannot compile the scatter in the gradient of np.take).
// jax-js arrays are reference counted: every function takes ownership of its array arguments,
// `.ref` keeps one for a later use (see its README). A sample ends when every output of the step
// is ready (blockUntilReady: a read-back on WebGPU).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { mulberry32, randomF32 } from '@tunebench/kernels';
import { timeSamples } from './time_samples.js';
import { provideDawnNavigator } from './dawn_navigator.js';

type Jax = typeof import('@jax-js/jax');
type JArray = import('@jax-js/jax').Array;
type Params = Record<string, JArray>;
export type JaxDevice = 'webgpu' | 'wasm';

export const JAX_MISSING = '@jax-js/jax is not installed (optional dependency): npm install @jax-js/jax';

export interface JaxLoaded {
  jax: Jax;
  version: string;
  /** Each asked-for device: null when it started, else why not. */
  devices: Map<JaxDevice, string | null>;
}

/** Set navigator (userAgent, and gpu from Dawn when `webgpu` is wanted) before jax-js looks at it. */
async function provideNavigator(wantGpu: boolean): Promise<string | null> {
  // jax-js reads navigator.userAgent while it plans kernels, on every backend.
  const nav = (globalThis as { navigator?: { gpu?: unknown; userAgent?: string } }).navigator;
  if (nav?.userAgent === undefined) Object.defineProperty(globalThis, 'navigator', { value: { ...nav, userAgent: 'node' }, configurable: true });
  if (!wantGpu) return null;
  try {
    await provideDawnNavigator();
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

/** Import jax-js and start the asked-for backends; throws JAX_MISSING when the package is absent. */
export async function loadJax(want: JaxDevice[] = ['webgpu', 'wasm']): Promise<JaxLoaded> {
  const noGpu = await provideNavigator(want.includes('webgpu'));
  let jax: Jax;
  let version = '?';
  try {
    jax = await import('@jax-js/jax');
    const require = createRequire(import.meta.url);
    // dist/index.cjs → the package.json beside dist (its exports map does not export package.json).
    version = (JSON.parse(readFileSync(join(dirname(require.resolve('@jax-js/jax')), '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch (e) {
    throw new Error(`${JAX_MISSING} (${(e as Error).message.split('\n')[0]})`);
  }
  const devices = new Map<JaxDevice, string | null>();
  for (const d of want) {
    if (d === 'webgpu' && noGpu) {
      devices.set(d, noGpu);
      continue;
    }
    try {
      const started = await jax.init(d);
      devices.set(d, started.includes(d) ? null : `jax-js's ${d} backend did not start here`);
    } catch (e) {
      devices.set(d, `jax-js's ${d} backend failed to start: ${(e as Error).message}`);
    }
  }
  return { jax, version, devices };
}

/**
 * Run `fn` on `device` (the default device of new arrays) with a referenced timer alive: Dawn's
 * node binding does not hold the event loop open while createComputePipelineAsync (jax-js compiles
 * its kernels with it) is pending, so without one Node exits mid-await with the promise unsettled.
 */
export async function onDevice<T>(jax: Jax, device: JaxDevice, fn: () => Promise<T>): Promise<T> {
  jax.defaultDevice(device);
  const alive = setInterval(() => {}, 1 << 30);
  try {
    return await fn();
  } finally {
    clearInterval(alive);
  }
}

/** A float32 array on `device`, uniform in ±scale from our seeded generator (std = scale/√3). */
function randArray(jax: Jax, device: JaxDevice, shape: number[], seed: number, scale: number): JArray {
  const n = shape.reduce((a, b) => a * b, 1);
  return jax.numpy.array(randomF32(mulberry32(seed), n, -scale, scale), { shape, device });
}

/** C = A·B of two n×n arrays, one value read back (as the tfjs sample). */
export async function jaxMatmul(jax: Jax, device: JaxDevice, n: number, samples: number): Promise<number[]> {
  const np = jax.numpy;
  return onDevice(jax, device, async () => {
    const a = randArray(jax, device, [n, n], 1, 1), b = randArray(jax, device, [n, n], 2, 1);
    try {
      return await timeSamples(async () => void (await np.matmul(a.ref, b.ref).slice(0, 0).data()), 2, samples);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
}

// ---- the encoder layer, shared by the layer and tiny cases --------------------------------------

export interface LayerShape { B: number; T: number; D: number; H: number; F: number }
const LAYER_KEYS = ['wq', 'bq', 'wk', 'bk', 'wv', 'bv', 'wo', 'bo', 'g1', 'b1', 'w1', 'c1', 'w2', 'c2', 'g2', 'b2'] as const;

function layerParams(jax: Jax, device: JaxDevice, s: LayerShape, seed: number, prefix = ''): Params {
  const np = jax.numpy;
  const w = (r: number, c: number, k: number) => randArray(jax, device, [r, c], seed * 100 + k, 0.02 * Math.sqrt(3));
  const z = (n: number) => np.zeros([n], { device }), o = (n: number) => np.ones([n], { device });
  const { D, F } = s;
  const p: Params = { wq: w(D, D, 1), bq: z(D), wk: w(D, D, 2), bk: z(D), wv: w(D, D, 3), bv: z(D), wo: w(D, D, 4), bo: z(D), g1: o(D), b1: z(D), w1: w(D, F, 5), c1: z(F), w2: w(F, D, 6), c2: z(D), g2: o(D), b2: z(D) };
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [prefix + k, v]));
}

const lin = (jax: Jax, x: JArray, w: JArray, b: JArray) => jax.numpy.matmul(x, w).add(b);

/** LayerNorm over the last axis, biased variance, eps 1e-12 inside the square root. */
function layerNorm(jax: Jax, t: JArray, g: JArray, b: JArray): JArray {
  const np = jax.numpy;
  const xc = t.ref.sub(t.mean(-1, { keepdims: true }));
  const variance = np.square(xc.ref).mean(-1, { keepdims: true });
  return xc.div(np.sqrt(variance.add(1e-12))).mul(g).add(b);
}

/** Inverted dropout with keep probability 1 − rate; `key` is consumed. */
function dropout(jax: Jax, x: JArray, key: JArray | null, rate: number): JArray {
  if (!key || rate === 0) {
    key?.dispose();
    return x;
  }
  const keep = jax.random.bernoulli(key, 1 - rate, x.shape).astype(jax.numpy.float32);
  return x.mul(keep).mul(1 / (1 - rate));
}

/**
 * One post-LN BERT layer on x [B·T, D] (consumed); p holds `${prefix}wq` …; keys (3 or null) drive
 * dropout on the attention probabilities, the attention output and the FFN output.
 */
function encoderLayer(jax: Jax, x: JArray, p: Params, s: LayerShape, prefix: string, keys: JArray[] | null, rate: number): JArray {
  const { np, nn } = { np: jax.numpy, nn: jax.nn };
  const { B, T, D, H } = s, hs = D / H;
  const q_ = (k: string) => p[prefix + k];
  const heads = (t: JArray) => t.reshape([B, T, H, hs]).transpose([0, 2, 1, 3]);
  const q = heads(lin(jax, x.ref, q_('wq'), q_('bq'))), k = heads(lin(jax, x.ref, q_('wk'), q_('bk'))), v = heads(lin(jax, x.ref, q_('wv'), q_('bv')));
  const att = dropout(jax, nn.softmax(np.matmul(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(hs)), -1), keys?.[0] ?? null, rate);
  const ctx = np.matmul(att, v).transpose([0, 2, 1, 3]).reshape([B * T, D]);
  const h = layerNorm(jax, x.add(dropout(jax, lin(jax, ctx, q_('wo'), q_('bo')), keys?.[1] ?? null, rate)), q_('g1'), q_('b1'));
  const u = nn.gelu(lin(jax, h.ref, q_('w1'), q_('c1')), { approximate: false });
  return layerNorm(jax, h.add(dropout(jax, lin(jax, u, q_('w2'), q_('c2')), keys?.[2] ?? null, rate)), q_('g2'), q_('b2'));
}

/** −mean over rows of Σ onehot·logSoftmax(logits): cross-entropy with one-hot targets (consumed). */
const crossEntropy = (jax: Jax, logits: JArray, onehot: JArray) => jax.nn.logSoftmax(logits, -1).mul(onehot).sum(-1).mean().neg();

/**
 * Adam (AdamW when weightDecay > 0: decoupled, p ← p·(1 − lr·wd) first) on every parameter; lrT is
 * lr·√(1−β2ᵗ)/(1−β1ᵗ), a scalar array (consumed). Returns the new parameters and moments.
 */
function adam(jax: Jax, p: Params, g: Params, m: Params, v: Params, lrT: JArray, lr: number, weightDecay: number): [Params, Params, Params] {
  const np = jax.numpy;
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const P: Params = {}, M: Params = {}, V: Params = {};
  for (const k of Object.keys(p)) {
    const gk = g[k];
    M[k] = m[k].mul(b1).add(gk.ref.mul(1 - b1));
    V[k] = v[k].mul(b2).add(np.square(gk).mul(1 - b2));
    const w = weightDecay > 0 ? p[k].mul(1 - lr * weightDecay) : p[k];
    P[k] = w.sub(M[k].ref.mul(lrT.ref).div(np.sqrt(V[k].ref).add(eps)));
  }
  lrT.dispose();
  return [P, M, V];
}

const lrAt = (lr: number, t: number) => (lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
const zerosLike = (jax: Jax, p: Params): Params => Object.fromEntries(Object.entries(p).map(([k, a]) => [k, jax.numpy.zeros(a.shape, { device: a.device as JaxDevice })]));

/**
 * The encoder-layer training step of peers.ts on `device`: returns a closure that runs one step
 * (and resolves when it is done) with its loss, plus dispose. Used by the timing and the test.
 */
export function jaxLayerTrainer(jax: Jax, device: JaxDevice, s: LayerShape, lr = 1e-3): { step: () => Promise<number>; dispose: () => void } {
  const np = jax.numpy;
  let p: Params = { ...layerParams(jax, device, s, 1), wc: randArray(jax, device, [s.D, 2], 7, 0.02 * Math.sqrt(3)), cc: np.zeros([2], { device }) };
  let m = zerosLike(jax, p), v = zerosLike(jax, p);
  const x = randArray(jax, device, [s.B * s.T, s.D], 8, Math.sqrt(3));
  const labels = np.array(Float32Array.from({ length: s.B * s.T * 2 }, (_, i) => ((i >> 1) % 2 === (i & 1) ? 1 : 0)), { shape: [s.B * s.T, 2], device });
  const loss = (p: Params, x: JArray, onehot: JArray) => crossEntropy(jax, lin(jax, encoderLayer(jax, x, p, s, '', null, 0), p.wc, p.cc), onehot);
  const train = jax.jit((p: Params, m: Params, v: Params, x: JArray, onehot: JArray, lrT: JArray) => {
    const [l, g] = jax.valueAndGrad(loss)(jax.tree.ref(p), x, onehot);
    return [l, ...adam(jax, p, g as Params, m, v, lrT, lr, 0)] as [JArray, Params, Params, Params];
  });
  let t = 0;
  return {
    step: async () => {
      t++;
      const [l, P, M, V] = train(p, m, v, x.ref, labels.ref, np.array(lrAt(lr, t), { device }));
      [p, m, v] = [P, M, V];
      await jax.blockUntilReady([P, M, V]);
      return (await l.data())[0];
    },
    dispose: () => {
      jax.tree.dispose([p, m, v, x, labels]);
      train.dispose();
    },
  };
}

export async function jaxLayer(jax: Jax, device: JaxDevice, s: LayerShape, samples: number): Promise<number[]> {
  return onDevice(jax, device, async () => {
    const tr = jaxLayerTrainer(jax, device, s);
    try {
      return await timeSamples(async () => void (await tr.step()), 2, samples);
    } finally {
      tr.dispose();
    }
  });
}

// ---- the tiny MLM step ---------------------------------------------------------------------------

export const TINY = { V: 8192, D: 128, L: 2, H: 2, F: 512, B: 32, T: 128, drop: 0.1, labelled: 0.15 };

/**
 * The tiny MLM step (torch_peer.py tiny) on `device`: word + position + type embeddings,
 * LayerNorm, dropout; 2 layers; the MLM head on the labelled rows (dense, exact GELU, LayerNorm,
 * decoder tied to the word embeddings + bias); cross-entropy; AdamW lr 1e-4, wd 0.01.
 * When the first step (which also compiles the kernels) or the second takes longer than
 * `stepLimitMs`, throw (the caller records the case as skipped) instead of timing more.
 */
export function jaxTiny(jax: Jax, device: JaxDevice, samples: number, stepLimitMs = 60_000): Promise<number[]> {
  return onDevice(jax, device, () => tinySamples(jax, device, samples, stepLimitMs));
}

async function tinySamples(jax: Jax, device: JaxDevice, samples: number, stepLimitMs: number): Promise<number[]> {
  const np = jax.numpy, nn = jax.nn;
  const { V, D, L, H, F, B, T, drop } = TINY, s: LayerShape = { B, T, D, H, F }, lr = 1e-4;
  const sc = 0.02 * Math.sqrt(3);
  let p: Params = {
    word: randArray(jax, device, [V, D], 11, sc), pos: randArray(jax, device, [T, D], 12, sc), typ: randArray(jax, device, [2, D], 13, sc),
    ge: np.ones([D], { device }), be: np.zeros([D], { device }),
    tw: randArray(jax, device, [D, D], 14, sc), tb: np.zeros([D], { device }), gh: np.ones([D], { device }), bh: np.zeros([D], { device }),
    dec: np.zeros([V], { device }),
  };
  for (let l = 0; l < L; l++) p = { ...p, ...layerParams(jax, device, s, 20 + l, `l${l}.`) };
  let m = zerosLike(jax, p), v = zerosLike(jax, p);
  const rand = mulberry32(2);
  const ids = Int32Array.from({ length: B * T }, () => 1 + Math.floor(rand() * (V - 1)));
  const rows: number[] = [], targets: number[] = [];
  for (let i = 0; i < B * T; i++) if (rand() < TINY.labelled) { rows.push(i); targets.push(Math.floor(rand() * V)); }
  const inputs = {
    ids: np.array(ids, { dtype: np.int32, device }),
    types: np.zeros([B * T], { dtype: np.int32, device }),
    rows: np.array(Int32Array.from(rows), { dtype: np.int32, device }),
    onehot: nn.oneHot(np.array(Int32Array.from(targets), { dtype: np.int32, device }), V),
  };
  type Inputs = typeof inputs;
  const loss = (p: Params, inp: Inputs, key: JArray) => {
    const keys = [...jax.random.split(key, 1 + 3 * L)];
    const emb = np.take(p.word.ref, inp.ids, 0).add(np.take(p.typ, inp.types, 0)).reshape([B, T, D]).add(p.pos.reshape([1, T, D])).reshape([B * T, D]);
    let x = dropout(jax, layerNorm(jax, emb, p.ge, p.be), keys[0], drop);
    for (let l = 0; l < L; l++) x = encoderLayer(jax, x, p, s, `l${l}.`, keys.slice(1 + 3 * l, 4 + 3 * l), drop);
    const h = layerNorm(jax, nn.gelu(lin(jax, np.take(x, inp.rows, 0), p.tw, p.tb), { approximate: false }), p.gh, p.bh);
    return crossEntropy(jax, lin(jax, h, p.word.transpose(), p.dec), inp.onehot);
  };
  // Not under jit: jax-js 0.1.25's jit cannot compile the scatter that is the gradient of the
  // gathers (np.take: word/type embeddings, labelled rows) — "jit: routine primitive scatter input
  // is not imm" — so the step runs eagerly, op by op.
  const train = (p: Params, m: Params, v: Params, inp: Inputs, key: JArray, lrT: JArray) => {
    const [l, g] = jax.valueAndGrad(loss)(jax.tree.ref(p), inp, key);
    return [l, ...adam(jax, p, g as Params, m, v, lrT, lr, 0.01)] as [JArray, Params, Params, Params];
  };
  let t = 0;
  const step = async () => {
    t++;
    const [l, P, M, V] = train(p, m, v, jax.tree.ref(inputs), jax.random.key(t), np.array(lrAt(lr, t), { device }));
    [p, m, v] = [P, M, V];
    await jax.blockUntilReady([P, M, V]);
    l.dispose();
  };
  try {
    const t0 = performance.now();
    await step();
    const first = performance.now() - t0;
    if (first > stepLimitMs) throw new Error(`too slow to time: one step took ${(first / 1000).toFixed(0)} s (> ${stepLimitMs / 1000} s; the first, with kernel compilation)`);
    const t1 = performance.now();
    await step();
    const second = performance.now() - t1;
    if (second > stepLimitMs) throw new Error(`too slow to time: the second step took ${(second / 1000).toFixed(0)} s (> ${stepLimitMs / 1000} s)`);
    return await timeSamples(step, 0, samples);
  } finally {
    jax.tree.dispose([p, m, v, inputs]);
  }
}
