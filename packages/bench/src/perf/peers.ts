// `tunebench bench peers`: the same work through other frameworks on this machine, and our ratio
// to each, measured in one run:
//   tfjs-webgpu   TensorFlow.js's WebGPU backend on the same adapter (Dawn from the `webgpu`
//                 package, a second device); an optional npm dependency.
//   pytorch-cpu   PyTorch on this machine's CPU (Debian's /usr/bin/python3 with python3-torch,
//                 torch threads = the machine's cores), scripts/torch_peer.py as a subprocess
//                 that prints its step times as JSON (torch_peer.ts).
//   jax-webgpu    jax-js (@jax-js/jax, an optional npm dependency) on its WebGPU backend, a
//                 Dawn device of the same adapter (jax_peer.ts);
//   jax-wasm      jax-js on its WebAssembly backend (single-threaded in Node).
// Cases:
//   matmul 512³        ours: linear_forward (tuned variant); tfjs: tf.matMul; jax: np.matmul
//   encoder layer      one training step (forward, backward, Adam) of one BERT encoder layer,
//                      d 128, 4 heads, T 64, B 32, FFN 512, with a 2-class token head. Ours: the
//                      GPU BertModel with 1 layer where only the layer and the head train (the
//                      embedding lookup runs forward); tfjs, torch and jax: the same layer written
//                      with their ops (post-LN, exact-erf GELU) on a fixed input, Adam, autodiff
//                      (jax: valueAndGrad and a hand-written Adam under one jit).
//   tiny MLM           a full MLM training step (all parameters, AdamW) of BERT-tiny, V 8192, B 32,
//                      T 128, 15 % labelled (as packages/trainer/src/bench/encoder_layer.ts tiny);
//                      ours vs torch and jax (jax: hand-written AdamW, jit; skipped with its
//                      reason when a step fails or takes over 60 s).
// Each of our samples and each tfjs sample includes one submit and a wait for the GPU (ours:
// gpu.sync(); tfjs: reading back one value); a torch sample ends when optimizer.step() returns; a
// jax sample when its outputs are ready (matmul: one value read back; steps: blockUntilReady).
// A peer that is not installed is skipped with its reason; when no peer at all can run, the
// command says so and exits 2.
import { existsSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { linear_forward, mulberry32, openGpu, randomF32, type Gpu } from '@tunebench/kernels';
import { DEFAULT_OPTIMIZER, makeConfig, newTrainingModel, recordTrainStep, syntheticBatch, type AdamWStep, type HeadSpec } from '@tunebench/trainer';
import { median } from './record.js';
import { runTorchPeer, type TorchPeerCase, type TorchPeerResult } from './torch_peer.js';
import { jaxLayer, jaxMatmul, jaxTiny, loadJax, type JaxDevice, type JaxLoaded } from './jax_peer.js';
import { timeSamples } from './time_samples.js';
import { provideDawnNavigator } from './dawn_navigator.js';

type Tf = typeof import('@tensorflow/tfjs-core');

export type PeerName = 'tfjs-webgpu' | 'pytorch-cpu' | 'jax-webgpu' | 'jax-wasm';
/** ratio = peer ms / our ms: above 1, ours is faster. */
export interface PeerRow { name: string; peer: PeerName; oursMs: number; peerMs: number; ratio: number }
export interface PeerSkip { peer: PeerName; what: string; reason: string }

/**
 * tfjs-core's gradient functions are registered by its ESM module register_all_gradients (the
 * @tensorflow/tfjs bundle imports it; tfjs-core's Node bundle does not), whose extensionless
 * imports Node cannot load: bundle it once with esbuild into the temp directory and import that.
 * The copies share tfjs's global engine and gradient registry (both live on globalThis).
 */
async function registerTfjsGradients(version: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const entry = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist', 'register_all_gradients.js');
  const out = join(tmpdir(), `tunebench-tfjs-gradients-${version}.mjs`);
  if (!existsSync(out)) {
    const { build } = await import('esbuild');
    const tmp = `${out}.${process.pid}.tmp.mjs`;
    await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: tmp, logLevel: 'warning' });
    renameSync(tmp, out);
  }
  await import(pathToFileURL(out).href);
}

/** Load tfjs-core + the WebGPU backend on a Dawn device of our own; a clear error when impossible. */
export async function loadTfjsWebgpu(): Promise<{ tf: Tf; version: string; keep: unknown }> {
  // The backend registers itself at import time only when navigator.gpu exists: set it first.
  const keep = await provideDawnNavigator();
  let tf: Tf;
  try {
    tf = await import('@tensorflow/tfjs-core');
    await registerTfjsGradients(tf.version_core);
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    throw new Error(`tfjs-webgpu is not installed (optional dependencies @tensorflow/tfjs-core and @tensorflow/tfjs-backend-webgpu): ${(e as Error).message.split('\n')[0]}`);
  }
  let ok = false;
  try {
    ok = await tf.setBackend('webgpu');
    await tf.ready();
  } catch (e) {
    throw new Error(`tfjs-webgpu did not start on this Dawn: ${(e as Error).message}`);
  }
  if (!ok || tf.getBackend() !== 'webgpu') throw new Error(`tfjs-webgpu did not start on this Dawn (backend: ${tf.getBackend()})`);
  return { tf, version: tf.version_core, keep };
}

async function oursMatmul(gpu: Gpu, n: number, samples: number): Promise<number[]> {
  const rand = mulberry32(1);
  const a = gpu.buffer(randomF32(rand, n * n, -1, 1)), w = gpu.buffer(randomF32(rand, n * n, -1, 1)), c = gpu.zeros(n * n * 4);
  try {
    return await timeSamples(async () => {
      const enc = gpu.encoder('peer matmul');
      linear_forward(gpu, enc, c, a, w, null, n, n, n);
      await enc.submit();
      await gpu.sync();
    }, 2, samples);
  } finally {
    [a, w, c].forEach((b) => b.destroy());
  }
}

async function tfMatmul(tf: Tf, n: number, samples: number): Promise<number[]> {
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1), b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  try {
    return await timeSamples(async () => {
      const c = tf.matMul(a, b, false, true);
      const one = tf.slice(c, [0, 0], [1, 1]);
      await one.data();
      tf.dispose([c, one]);
    }, 2, samples);
  } finally {
    tf.dispose([a, b]);
  }
}

const D = 128, H = 4, T = 64, B = 32, F = 512;

async function oursLayer(gpu: Gpu, samples: number): Promise<number[]> {
  const V = 1024;
  const config = makeConfig({ numLayers: 1, hiddenSize: D, numHeads: H, intermediateSize: F }, V, { maxPositions: 128, hiddenDropout: 0, attentionDropout: 0 });
  const heads: HeadSpec[] = [{ kind: 'token_cls', numLabels: 2 }];
  // The embeddings run forward only; Adam without weight decay (as tf.train.adam), its step stays 1.
  const { model, adamw, ranges, destroy } = newTrainingModel(gpu, config, heads, { weightDecay: 0, trains: (s) => s.layer >= 0 });
  const update: AdamWStep = { ranges, hyper: { lr: 1e-3, step: 1, gradScale: 1 }, optimizer: { ...DEFAULT_OPTIMIZER, maxGradNorm: 0 } };
  const batch = syntheticBatch(B, T, V, 2, 3);
  let step = 0;
  try {
    return await timeSamples(async () => {
      const enc = gpu.encoder('peer layer');
      recordTrainStep(enc, model, adamw, { batch, dropoutSeed: 1, step: ++step }, update);
      await enc.submit();
      await gpu.sync();
    }, 2, samples);
  } finally {
    destroy();
  }
}

async function tfLayer(tf: Tf, samples: number): Promise<number[]> {
  const hs = D / H;
  const w = (r: number, c: number, seed: number) => tf.variable(tf.randomNormal([r, c], 0, 0.02, 'float32', seed));
  const z = (n: number) => tf.variable(tf.zeros([n]));
  const o = (n: number) => tf.variable(tf.ones([n]));
  const p = { wq: w(D, D, 1), bq: z(D), wk: w(D, D, 2), bk: z(D), wv: w(D, D, 3), bv: z(D), wo: w(D, D, 4), bo: z(D), g1: o(D), b1: z(D), w1: w(D, F, 5), c1: z(F), w2: w(F, D, 6), c2: z(D), g2: o(D), b2: z(D), wc: w(D, 2, 7), cc: z(2) };
  const x = tf.randomNormal([B * T, D], 0, 1, 'float32', 8);
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: B * T }, (_, i) => i % 2), 'int32'), 2);
  const ln = (t: import('@tensorflow/tfjs-core').Tensor2D, g: import('@tensorflow/tfjs-core').Variable, b: import('@tensorflow/tfjs-core').Variable) => {
    const { mean, variance } = tf.moments(t, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-12))), g), b) as import('@tensorflow/tfjs-core').Tensor2D;
  };
  const heads = (t: import('@tensorflow/tfjs-core').Tensor) => tf.transpose(tf.reshape(t, [B, T, H, hs]), [0, 2, 1, 3]);
  const loss = () => {
    const q = heads(tf.add(tf.matMul(x, p.wq), p.bq)), k = heads(tf.add(tf.matMul(x, p.wk), p.bk)), v = heads(tf.add(tf.matMul(x, p.wv), p.bv));
    const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)));
    const ctx = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B * T, D]);
    const h = ln(tf.add(x, tf.add(tf.matMul(ctx, p.wo), p.bo)) as import('@tensorflow/tfjs-core').Tensor2D, p.g1, p.b1);
    const u = tf.add(tf.matMul(h, p.w1), p.c1);
    const gelu = tf.mul(tf.mul(u, 0.5), tf.add(1, tf.erf(tf.mul(u, Math.SQRT1_2))));
    const out = ln(tf.add(h, tf.add(tf.matMul(gelu, p.w2), p.c2)) as import('@tensorflow/tfjs-core').Tensor2D, p.g2, p.b2);
    const logits = tf.add(tf.matMul(out, p.wc), p.cc);
    return tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1))) as import('@tensorflow/tfjs-core').Scalar;
  };
  const opt = tf.train.adam(1e-3);
  try {
    return await timeSamples(async () => {
      const l = opt.minimize(loss, true);
      await l!.data();
      l!.dispose();
    }, 2, samples);
  } finally {
    tf.dispose([x, labels, ...Object.values(p)]);
    opt.dispose();
  }
}

async function oursTiny(gpu: Gpu, samples: number): Promise<number[]> {
  // The step of encoder_layer.ts `tiny`: all parameters train, AdamW with weight decay 0.01, dropout 0.1.
  const config = makeConfig('tiny', 8192, { maxPositions: 128 });
  const { model, adamw, ranges, destroy } = newTrainingModel(gpu, config, [{ kind: 'mlm' }], { weightDecay: 0.01, trains: () => true });
  const optimizer = { ...DEFAULT_OPTIMIZER, maxGradNorm: 0 };
  const batch = syntheticBatch(32, 128, 8192, 'mlm', 2);
  let step = 0;
  try {
    return await timeSamples(async () => {
      step++;
      const enc = gpu.encoder('peer tiny');
      recordTrainStep(enc, model, adamw, { batch, dropoutSeed: 1, step }, { ranges, hyper: { lr: 1e-4, step, gradScale: 1 }, optimizer });
      await enc.submit();
      await gpu.sync();
    }, 2, samples);
  } finally {
    destroy();
  }
}

export interface PeersResult {
  rows: PeerRow[];
  skipped: PeerSkip[];
  /** Peer runs that started and then failed (a bug, not a missing peer). */
  failed: PeerSkip[];
  tfjsVersion: string | null;
  /** @jax-js/jax's version when it loaded, and the backends that started. */
  jax: { version: string; devices: JaxDevice[] } | null;
  torch: { version: string; threads: number } | null;
  adapter: string;
}

export async function runPeers(opts: { samples?: number; log?: (l: string) => void; python?: string } = {}): Promise<PeersResult> {
  const samples = opts.samples ?? 6;
  const log = opts.log ?? ((l: string) => console.log(l));
  const skipped: PeerSkip[] = [];
  const failed: PeerSkip[] = [];
  let tfjs: Awaited<ReturnType<typeof loadTfjsWebgpu>> | null = null;
  try {
    tfjs = await loadTfjsWebgpu();
  } catch (e) {
    skipped.push({ peer: 'tfjs-webgpu', what: 'all cases', reason: (e as Error).message });
    log(`tfjs-webgpu skipped: ${(e as Error).message}`);
  }
  let jax: JaxLoaded | null = null;
  const jaxPeers: [PeerName, JaxDevice][] = [];
  try {
    jax = await loadJax(['webgpu', 'wasm']);
    for (const [d, why] of jax.devices) {
      const peer: PeerName = `jax-${d}`;
      if (why === null) jaxPeers.push([peer, d]);
      else {
        skipped.push({ peer, what: 'all cases', reason: why });
        log(`${peer} skipped: ${why}`);
      }
    }
  } catch (e) {
    for (const peer of ['jax-webgpu', 'jax-wasm'] as const) skipped.push({ peer, what: 'all cases', reason: (e as Error).message });
    log(`jax-webgpu, jax-wasm skipped: ${(e as Error).message}`);
  }
  /** A jax case that throws is recorded in `skipped` with its reason (a missing op, too slow), not a crash. */
  const jaxSamples = async (peer: PeerName, what: string, run: () => Promise<number[]>): Promise<number[] | null> => {
    try {
      return await run();
    } catch (e) {
      const reason = (e as Error).message.split('\n')[0];
      skipped.push({ peer, what, reason });
      log(`${peer} skipped ${what}: ${reason}`);
      return null;
    }
  };
  const gpu = await openGpu();
  const rows: PeerRow[] = [];
  let torch: PeersResult['torch'] = null;
  let torchMissing = false;
  const torchSamples = async (which: TorchPeerCase, what: string): Promise<number[] | null> => {
    if (torchMissing) return null;
    let r: TorchPeerResult;
    try {
      r = await runTorchPeer(which, { steps: samples, warmup: 2, python: opts.python });
    } catch (e) {
      failed.push({ peer: 'pytorch-cpu', what, reason: (e as Error).message });
      log(`pytorch-cpu FAILED on ${what}: ${(e as Error).message}`);
      return null;
    }
    if (r.kind === 'skipped') {
      torchMissing = true;
      skipped.push({ peer: 'pytorch-cpu', what: 'all cases', reason: r.reason });
      log(`pytorch-cpu skipped: ${r.reason}`);
      return null;
    }
    torch = { version: r.torch, threads: r.threads };
    return r.ms;
  };
  try {
    const add = (name: string, peer: PeerName, ours: number[], theirs: number[]) => {
      const r: PeerRow = { name, peer, oursMs: median(ours), peerMs: median(theirs), ratio: median(theirs) / median(ours) };
      rows.push(r);
      log(`${name.padEnd(52)} ours ${r.oursMs.toFixed(1).padStart(8)} ms   ${peer.padEnd(11)} ${r.peerMs.toFixed(1).padStart(8)} ms   ours is ${r.ratio.toFixed(2)}× ${r.ratio >= 1 ? 'faster' : 'slower'}`);
    };
    const matmulName = 'matmul 512x512x512';
    const matmul = tfjs || jaxPeers.length ? await oursMatmul(gpu, 512, samples) : null;
    if (tfjs && matmul) add(matmulName, 'tfjs-webgpu', matmul, await tfMatmul(tfjs.tf, 512, samples));
    for (const [peer, d] of jaxPeers) {
      const theirs = await jaxSamples(peer, matmulName, () => jaxMatmul(jax!.jax, d, 512, samples));
      if (matmul && theirs) add(matmulName, peer, matmul, theirs);
    }
    const layerName = `encoder layer train step d${D} h${H} T${T} B${B} FFN${F}`;
    const layer = await oursLayer(gpu, samples);
    if (tfjs) add(layerName, 'tfjs-webgpu', layer, await tfLayer(tfjs.tf, samples));
    const torchLayer = await torchSamples('layer', layerName);
    if (torchLayer) add(layerName, 'pytorch-cpu', layer, torchLayer);
    for (const [peer, d] of jaxPeers) {
      const theirs = await jaxSamples(peer, layerName, () => jaxLayer(jax!.jax, d, { B, T, D, H, F }, samples));
      if (theirs) add(layerName, peer, layer, theirs);
    }
    if (!torchMissing || jaxPeers.length) {
      const tinyName = 'tiny MLM train step L2 H128 V8192 B32 T128';
      const tiny = await oursTiny(gpu, samples);
      const torchTiny = await torchSamples('tiny', tinyName);
      if (torchTiny) add(tinyName, 'pytorch-cpu', tiny, torchTiny);
      for (const [peer, d] of jaxPeers) {
        const theirs = await jaxSamples(peer, tinyName, () => jaxTiny(jax!.jax, d, samples));
        if (theirs) add(tinyName, peer, tiny, theirs);
      }
    }
    const a = gpu.adapterInfo;
    const jaxInfo = jax ? { version: jax.version, devices: jaxPeers.map(([, d]) => d) } : null;
    return { rows, skipped, failed, tfjsVersion: tfjs?.version ?? null, jax: jaxInfo, torch, adapter: `${a.description || a.device}` };
  } finally {
    gpu.destroy();
    void tfjs?.keep;
  }
}
