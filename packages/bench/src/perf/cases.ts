// The performance benchmark set: a few kernels at BERT-tiny shapes and one whole training step,
// plus the REFERENCE kernel every result is divided by. The reference is a plain WGSL matmul
// written here and never tuned: if it changed, every ratio of every stored baseline would shift
// (bump PERF_SET in record.ts if it ever must change).
import {
  linear_forward, linear_backward, layernorm_forward, gelu_forward, attention_forward, mulberry32, randomF32, type Gpu, type StepEncoder,
} from '@tunebench/kernels';
import { DEFAULT_OPTIMIZER, makeConfig, newTrainingModel, recordTrainStep, syntheticBatch, type AdamWStep, type HeadSpec } from '@tunebench/trainer';

export interface PerfInstance {
  run(enc: StepEncoder): void;
  dispose(): void;
}
export interface PerfCase {
  name: string;
  flops: number;
  bytes: number;
  setup(gpu: Gpu): PerfInstance;
}

export const REFERENCE_NAME = 'reference naive matmul 256x256x256';

const REFERENCE_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> c: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
const N: u32 = 256u;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let row = g.y; let col = g.x;
  var acc = 0.0;
  for (var k = 0u; k < N; k++) { acc += a[row * N + k] * b[k * N + col]; }
  c[row * N + col] = acc;
}`;

const f32 = (gpu: Gpu, n: number, seed: number) => gpu.buffer(randomF32(mulberry32(seed), n, -1, 1));

function referenceCase(): PerfCase {
  const n = 256;
  return {
    name: REFERENCE_NAME, flops: 2 * n ** 3, bytes: 3 * n * n * 4,
    setup(gpu) {
      const a = f32(gpu, n * n, 1), b = f32(gpu, n * n, 2), c = gpu.zeros(n * n * 4);
      const p = gpu.pipeline('perf_reference_matmul', REFERENCE_WGSL);
      return { run: (enc) => enc.dispatch(p, [c, a, b], n / 8, n / 8), dispose: () => [a, b, c].forEach((x) => x.destroy()) };
    },
  };
}

function linearCase(label: string, M: number, N: number, K: number): PerfCase {
  return {
    name: `linear_forward ${M}x${N}x${K} (${label})`, flops: 2 * M * N * K, bytes: 4 * (M * K + N * K + N + M * N),
    setup(gpu) {
      const x = f32(gpu, M * K, 3), w = f32(gpu, N * K, 4), bias = f32(gpu, N, 5), out = gpu.zeros(M * N * 4);
      return { run: (enc) => linear_forward(gpu, enc, out, x, w, bias, M, N, K), dispose: () => [x, w, bias, out].forEach((b) => b.destroy()) };
    },
  };
}

function linearBackwardCase(M: number, N: number, K: number): PerfCase {
  return {
    name: `linear_backward ${M}x${N}x${K}`, flops: 4 * M * N * K + M * N, bytes: 4 * (2 * M * N + 2 * M * K + 2 * N * K + N),
    setup(gpu) {
      const x = f32(gpu, M * K, 6), w = f32(gpu, N * K, 7), dout = f32(gpu, M * N, 8);
      const dx = gpu.zeros(M * K * 4), dw = gpu.zeros(N * K * 4), db = gpu.zeros(N * 4);
      return { run: (enc) => linear_backward(gpu, enc, dx, dw, db, dout, x, w, M, N, K), dispose: () => [x, w, dout, dx, dw, db].forEach((b) => b.destroy()) };
    },
  };
}

function layernormCase(N: number, C: number): PerfCase {
  return {
    name: `layernorm_forward ${N}x${C}`, flops: 8 * N * C, bytes: 4 * (2 * N * C + 2 * C + 2 * N),
    setup(gpu) {
      const x = f32(gpu, N * C, 9), w = f32(gpu, C, 10), b = f32(gpu, C, 11), out = gpu.zeros(N * C * 4), mean = gpu.zeros(N * 4), rstd = gpu.zeros(N * 4);
      return { run: (enc) => layernorm_forward(gpu, enc, out, mean, rstd, x, w, b, N, C, 1e-12), dispose: () => [x, w, b, out, mean, rstd].forEach((q) => q.destroy()) };
    },
  };
}

function geluCase(n: number): PerfCase {
  return {
    name: `gelu_forward ${n}`, flops: 20 * n, bytes: 8 * n,
    setup(gpu) {
      const x = f32(gpu, n, 12), out = gpu.zeros(n * 4);
      return { run: (enc) => gelu_forward(gpu, enc, out, x, n), dispose: () => [x, out].forEach((q) => q.destroy()) };
    },
  };
}

function attentionCase(B: number, T: number, NH: number, HS: number): PerfCase {
  const C = NH * HS;
  return {
    name: `attention_forward B${B} T${T} NH${NH} HS${HS}`, flops: 4 * B * NH * T * T * HS, bytes: 4 * (4 * B * T * C + B * NH * T + B * T),
    setup(gpu) {
      const q = f32(gpu, B * T * C, 13), k = f32(gpu, B * T * C, 14), v = f32(gpu, B * T * C, 15);
      const mask = gpu.buffer(new Int32Array(B * T).fill(1)), out = gpu.zeros(B * T * C * 4), lse = gpu.zeros(B * NH * T * 4);
      return { run: (enc) => attention_forward(gpu, enc, out, lse, q, k, v, mask, B, T, NH, HS), dispose: () => [q, k, v, mask, out, lse].forEach((x) => x.destroy()) };
    },
  };
}

/** One full MLM training step (the training loop's recordTrainStep: forward, backward, AdamW) of a 2-layer, 128-wide BERT. */
function trainStepCase(B: number, T: number): PerfCase {
  const V = 2048;
  const config = makeConfig({ numLayers: 2, hiddenSize: 128, numHeads: 2, intermediateSize: 512 }, V, { maxPositions: 128, hiddenDropout: 0.1, attentionDropout: 0.1 });
  const heads: HeadSpec[] = [{ kind: 'mlm' }];
  // ≈ 6 · parameters · tokens for the encoder (forward + backward); a yardstick for GFLOP/s.
  const P = 2 * (4 * 128 * 128 + 2 * 128 * 512);
  return {
    name: `train step tiny-2L MLM B${B} T${T}`, flops: 6 * P * B * T, bytes: 0,
    setup(gpu) {
      const { model, adamw, ranges, destroy } = newTrainingModel(gpu, config, heads, { weightDecay: 0.01 });
      const batch = syntheticBatch(B, T, V, 'mlm', 7);
      // Adam's step stays 1 (a timing yardstick, not a training run).
      const update: AdamWStep = { ranges, hyper: { lr: 1e-4, step: 1, gradScale: 1 }, optimizer: { ...DEFAULT_OPTIMIZER, maxGradNorm: 0 } };
      let step = 0;
      return {
        run: (enc) => void recordTrainStep(enc, model, adamw, { batch, dropoutSeed: 1, step: ++step }, update),
        dispose: destroy,
      };
    },
  };
}

export function perfCases(): PerfCase[] {
  return [
    referenceCase(),
    linearCase('QKV', 2048, 384, 128),
    linearCase('FFN up', 2048, 512, 128),
    linearBackwardCase(2048, 512, 128),
    layernormCase(2048, 128),
    geluCase(2048 * 512),
    attentionCase(16, 64, 2, 64),
    trainStepCase(16, 64),
  ];
}
