// Benchmark (prints numbers, asserts nothing): training speed of the GPU BERT.
//
//   layer  ms/step of one encoder layer — forward + backward + AdamW — at d 128, 4 heads, T 64,
//          B 32, FFN 512 (the yardstick: tfjs-webgpu measured 1237 ms/step on this
//          lavapipe, target ≤ 250). The model is 1 layer with a 2-class token head; only the
//          layer (and the tiny head) train, so the embeddings run forward only.
//   tiny / mini  training tokens/s of a full MLM step (all parameters train, AdamW) of the
//          BERT-tiny / BERT-mini presets, vocab 8192, B 32, T 128, 15 % of tokens labelled.
//
// Usage: npx tsx packages/trainer/src/bench/encoder_layer.ts [layer|tiny|mini|all] [--steps N] [--warmup N]
// Each measured step is one StepEncoder submitted and awaited (the loss is not read back).

import { ADAMW_HYPER_WORDS, adamw_hyperparameters, adamw_update, openGpu, type AdamWRange, type Gpu } from '@tunebench/kernels';
import { BertModel } from '../model/bert.js';
import { makeConfig, type BertConfig } from '../model/config.js';
import type { HeadSpec } from '../model/heads.js';
import { initParams, mulberry32, ParamStore, paramSpecs } from '../model/params.js';
import type { ModelBatch } from '../model/batch.js';

export interface BenchResult {
  name: string;
  msPerStep: number;
  msPerStepMin: number;
  tokensPerSecond: number;
  steps: number;
}

function batchOf(B: number, T: number, V: number, labels: 'mlm' | 'token2', seed: number): ModelBatch {
  const rand = mulberry32(seed);
  const n = B * T;
  const inputIds = Int32Array.from({ length: n }, () => 1 + Math.floor(rand() * (V - 1)));
  const lab = Int32Array.from({ length: n }, () => (labels === 'mlm' ? (rand() < 0.15 ? Math.floor(rand() * V) : -100) : Math.floor(rand() * 2)));
  return { B, T, inputIds, attentionMask: new Int32Array(n).fill(1), tokenTypeIds: new Int32Array(n), labels: lab };
}

export async function benchTraining(
  gpu: Gpu, name: string, config: BertConfig, heads: HeadSpec[], batch: ModelBatch, trainable: (layer: number) => boolean,
  steps: number, warmup: number,
): Promise<BenchResult> {
  const store = new ParamStore(paramSpecs(config, heads));
  initParams(store, 1, config.initializerRange);
  const model = new BertModel(gpu, config, heads, store);
  model.setTrainable((s) => trainable(s.layer));
  const ranges: AdamWRange[] = store.specs.filter((s) => trainable(s.layer)).map((s) => ({ ...store.range(s.name), weightDecay: s.noDecay ? 0 : 0.01 }));
  const m = gpu.zeros(store.totalSize * 4), v = gpu.zeros(store.totalSize * 4), hyper = gpu.zeros(ADAMW_HYPER_WORDS * 4);
  const times: number[] = [];
  try {
    for (let step = 1; step <= warmup + steps; step++) {
      gpu.write(hyper, adamw_hyperparameters({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, step }));
      const t0 = performance.now();
      const enc = gpu.encoder();
      model.zeroGrads(enc);
      model.forward(enc, batch, { train: true, seed: 1, step });
      model.backward(enc);
      adamw_update(gpu, enc, model.params, model.grads, m, v, hyper, null, ranges);
      await enc.submit();
      await gpu.sync();
      if (step > warmup) times.push(performance.now() - t0);
    }
    const loss = await model.readLoss();
    if (!Number.isFinite(loss)) throw new Error(`${name}: loss is ${loss}`);
  } finally {
    model.destroy();
    m.destroy(); v.destroy(); hyper.destroy();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { name, msPerStep: median, msPerStepMin: times[0], tokensPerSecond: (batch.B * batch.T) / (median / 1000), steps };
}

export async function benchEncoderLayer(gpu: Gpu, steps = 5, warmup = 2): Promise<BenchResult> {
  const config = makeConfig({ numLayers: 1, hiddenSize: 128, numHeads: 4, intermediateSize: 512 }, 1000, { maxPositions: 64 });
  // Only layer 0 (and the 2-class head, 258 parameters) trains.
  return benchTraining(gpu, 'encoder layer d128 h4 T64 B32 FFN512', config, [{ kind: 'token_cls', numLabels: 2 }], batchOf(32, 64, 1000, 'token2', 1),
    (layer) => layer >= 0, steps, warmup);
}

export async function benchPreset(gpu: Gpu, preset: 'tiny' | 'mini', steps = 3, warmup = 1): Promise<BenchResult> {
  const config = makeConfig(preset, 8192, { maxPositions: 128 });
  return benchTraining(gpu, `${preset} MLM V8192 B32 T128`, config, [{ kind: 'mlm' }], batchOf(32, 128, 8192, 'mlm', 2), () => true, steps, warmup);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const which = args.find((a) => !a.startsWith('--')) ?? 'all';
  const num = (flag: string, d: number) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  const gpu = await openGpu();
  try {
    console.log(`adapter: ${gpu.adapterInfo.description || gpu.adapterInfo.device} (${gpu.adapterInfo.vendor})`);
    const out: BenchResult[] = [];
    if (which === 'layer' || which === 'all') out.push(await benchEncoderLayer(gpu, num('--steps', 5), num('--warmup', 2)));
    if (which === 'tiny' || which === 'all') out.push(await benchPreset(gpu, 'tiny', num('--steps', 3), num('--warmup', 1)));
    if (which === 'mini' || which === 'all') out.push(await benchPreset(gpu, 'mini', num('--steps', 3), num('--warmup', 1)));
    for (const r of out) {
      console.log(`${r.name}: ${r.msPerStep.toFixed(1)} ms/step (median of ${r.steps}, min ${r.msPerStepMin.toFixed(1)}), ${Math.round(r.tokensPerSecond)} training tokens/s`);
    }
  } finally {
    gpu.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
