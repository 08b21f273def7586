// Benchmark (prints numbers, asserts nothing): training speed of the GPU BERT.
//
//   layer  ms/step of one encoder layer — forward + backward + AdamW — at d 128, 4 heads, T 64,
//          B 32, FFN 512 (the issue's yardstick: tfjs-webgpu measured 1237 ms/step on this
//          lavapipe, target ≤ 250). Measured two ways: (a) a 1-layer model with a 2-class token
//          head where only the layer and the head train (the embeddings run forward only): the
//          whole step; (b) the same with 2 layers minus (a): the marginal cost of one more layer
//          (a full backward including the input gradient), without head or embeddings.
//   tiny / mini  training tokens/s of a full MLM step (all parameters train, AdamW) of the
//          BERT-tiny / BERT-mini presets, vocab 8192, B 32, T 128, 15 % of tokens labelled.
//
// Usage: npx tsx packages/trainer/src/bench/encoder_layer.ts [layer|tiny|mini|all] [--steps N] [--warmup N] [--profile]
// Each measured step is the training loop's own step (recordTrainStep, src/train/train_step.ts: zero
// grads, forward, backward, AdamW without clipping) in one StepEncoder, submitted and awaited (the
// loss is not read back).
// --profile also replays every dispatch of one recorded step alone (best of 3, submit + wait each)
// and prints the time per kernel label and per phase (forward / backward / optimizer): a
// breakdown, not the step time (no overlap, plus one submit round trip per dispatch).

import { openGpu, type Gpu, type StepEncoder } from '@tunebench/kernels';
import { makeConfig, type BertConfig } from '../model/config.js';
import type { HeadSpec } from '../model/heads.js';
import type { ModelBatch } from '../model/batch.js';
import { newTrainingModel, recordTrainStep, syntheticBatch } from '../train/train_step.js';
import type { AdamWStep } from '../train/gpu_adamw.js';
import { DEFAULT_OPTIMIZER } from '../train/optimizer.js';

export interface BenchResult {
  name: string;
  msPerStep: number;
  msPerStepMin: number;
  /**
   * CPU time (user + system, all threads of this process, lavapipe's included) per step, median.
   * On a software adapter this is the work done whatever else runs on the machine: wall time on
   * an idle machine lies between cpuMsPerStep / (lavapipe threads) and cpuMsPerStep.
   */
  cpuMsPerStep: number;
  tokensPerSecond: number;
  steps: number;
}

export async function benchTraining(
  gpu: Gpu, name: string, config: BertConfig, heads: HeadSpec[], batch: ModelBatch, trainable: (layer: number) => boolean,
  steps: number, warmup: number, profile = false,
): Promise<BenchResult> {
  const { model, adamw, ranges, destroy } = newTrainingModel(gpu, config, heads, { weightDecay: 0.01, trains: (s) => trainable(s.layer) });
  const optimizer = { ...DEFAULT_OPTIMIZER, maxGradNorm: 0 };
  const update = (step: number): AdamWStep => ({ ranges, hyper: { lr: 1e-4, step, gradScale: 1 }, optimizer });
  const times: number[] = [];
  const cpu: number[] = [];
  try {
    for (let step = 1; step <= warmup + steps; step++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const enc = gpu.encoder();
      recordTrainStep(enc, model, adamw, { batch, dropoutSeed: 1, step }, update(step));
      await enc.submit();
      await gpu.sync();
      if (step > warmup) {
        times.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
    }
    const loss = await model.readLoss();
    if (!Number.isFinite(loss)) throw new Error(`${name}: loss is ${loss}`);
    if (profile) {
      const enc = gpu.encoder('profile');
      const { forwardEnd, backwardEnd } = recordTrainStep(enc, model, adamw, { batch, dropoutSeed: 1, step: 1 }, update(warmup + steps));
      await replayDispatches(gpu, enc, name, (i) => (i < forwardEnd ? 'forward' : i < backwardEnd ? 'backward' : 'optimizer'));
    }
  } finally {
    destroy();
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return {
    name, msPerStep: median, msPerStepMin: times[0], cpuMsPerStep: cpu[Math.floor(cpu.length / 2)],
    tokensPerSecond: (batch.B * batch.T) / (median / 1000), steps,
  };
}

interface RecordedDispatch { entry: { pipeline: GPUComputePipeline; label: string }; bindGroup: GPUBindGroup; workgroups: [number, number, number] }

/** Run each dispatch recorded in `enc` alone (best of 3) and print the time per kernel and phase. */
async function replayDispatches(gpu: Gpu, enc: StepEncoder, name: string, phase: (i: number) => string): Promise<void> {
  await gpu.checkPipelines();
  // StepEncoder keeps its dispatches private; a benchmark may look (the list is never modified).
  const ds = (enc as unknown as { dispatches: RecordedDispatch[] }).dispatches;
  const perKernel = new Map<string, number>();
  const perPhase = new Map<string, number>();
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i];
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const ce = gpu.device.createCommandEncoder();
      const pass = ce.beginComputePass();
      pass.setPipeline(d.entry.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
      pass.end();
      const t0 = performance.now();
      gpu.device.queue.submit([ce.finish()]);
      await gpu.device.queue.onSubmittedWorkDone();
      best = Math.min(best, performance.now() - t0);
    }
    const key = `${phase(i)} ${d.entry.label}`;
    perKernel.set(key, (perKernel.get(key) ?? 0) + best);
    perPhase.set(phase(i), (perPhase.get(phase(i)) ?? 0) + best);
  }
  console.log(`profile of one step of ${name}: ${ds.length} dispatches; ${[...perPhase].map(([k, t]) => `${k} ${t.toFixed(1)} ms`).join(', ')}`);
  for (const [k, t] of [...perKernel].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${t.toFixed(1).padStart(8)} ms  ${k}`);
}

export async function benchEncoderLayer(gpu: Gpu, steps = 5, warmup = 2, profile = false): Promise<BenchResult[]> {
  const shape = { hiddenSize: 128, numHeads: 4, intermediateSize: 512 };
  const batch = syntheticBatch(32, 64, 1000, 2, 1);
  const head: HeadSpec[] = [{ kind: 'token_cls', numLabels: 2 }];
  // Only the encoder layers (and the 2-class head, 258 parameters) train.
  const one = await benchTraining(gpu, 'encoder layer d128 h4 T64 B32 FFN512 (1-layer model: embeddings fwd + layer + head + AdamW)',
    makeConfig({ numLayers: 1, ...shape }, 1000, { maxPositions: 64 }), head, batch, (layer) => layer >= 0, steps, warmup, profile);
  const two = await benchTraining(gpu, '2-layer model', makeConfig({ numLayers: 2, ...shape }, 1000, { maxPositions: 64 }), head, batch,
    (layer) => layer >= 0, steps, warmup, false);
  const ms = two.msPerStep - one.msPerStep;
  const marginal: BenchResult = {
    name: 'encoder layer d128 h4 T64 B32 FFN512 (marginal: 2-layer step − 1-layer step)',
    msPerStep: ms, msPerStepMin: two.msPerStepMin - one.msPerStepMin, cpuMsPerStep: two.cpuMsPerStep - one.cpuMsPerStep,
    tokensPerSecond: (batch.B * batch.T) / (ms / 1000), steps,
  };
  return [one, marginal];
}

export async function benchPreset(gpu: Gpu, preset: 'tiny' | 'mini', steps = 3, warmup = 1, profile = false): Promise<BenchResult> {
  const config = makeConfig(preset, 8192, { maxPositions: 128 });
  return benchTraining(gpu, `${preset} MLM V8192 B32 T128`, config, [{ kind: 'mlm' }], syntheticBatch(32, 128, 8192, 'mlm', 2), () => true, steps, warmup, profile);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const which = args.find((a) => !a.startsWith('--')) ?? 'all';
  const num = (flag: string, d: number) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  const profile = args.includes('--profile');
  const gpu = await openGpu();
  try {
    console.log(`adapter: ${gpu.adapterInfo.description || gpu.adapterInfo.device} (${gpu.adapterInfo.vendor})`);
    const out: BenchResult[] = [];
    if (which === 'layer' || which === 'all') out.push(...(await benchEncoderLayer(gpu, num('--steps', 5), num('--warmup', 2), profile)));
    if (which === 'tiny' || which === 'all') out.push(await benchPreset(gpu, 'tiny', num('--steps', 3), num('--warmup', 1), profile));
    if (which === 'mini' || which === 'all') out.push(await benchPreset(gpu, 'mini', num('--steps', 3), num('--warmup', 1), profile));
    for (const r of out) {
      console.log(`${r.name}: ${r.msPerStep.toFixed(1)} ms/step (median of ${r.steps}, min ${r.msPerStepMin.toFixed(1)}), ` +
        `${Math.round(r.tokensPerSecond)} training tokens/s; CPU ${r.cpuMsPerStep.toFixed(1)} ms/step`);
    }
    const load = (await import('node:os')).loadavg()[0];
    if (load > 2.5) {
      console.log(`note: load average ${load.toFixed(1)} on ${(await import('node:os')).cpus().length} CPUs — wall times are inflated by other processes; CPU ms/step is the steadier number`);
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
