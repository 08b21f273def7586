// `tunebench profile`: N training steps of a BERT model with a GPU timestamp around every
// dispatch, a per-kernel table (calls, total ms, % of the step's GPU time, GFLOP/s, GB/s, share
// of this machine's measured peak) and a Chrome trace JSON that Perfetto (ui.perfetto.dev) and
// chrome://tracing open.
//
// How: while profiling, StepEncoder.submit (packages/kernels/src/runtime.ts) is replaced in this
// process by a version that puts each recorded dispatch in its own compute pass with
// timestampWrites (begin, end) and resolves the query set after the step; StepEncoder.dispatch
// and Gpu.uniform are wrapped to remember each dispatch's bound bytes and its uniform words (the
// matmul kernels' M, N, K). One pass per dispatch adds a pass boundary between dispatches, so the
// per-kernel times are a slight upper bound of what the fused step spends. Dawn quantizes
// timestamps (65.5 µs on lavapipe) unless it runs with disable-dawn-features=timestamp_quantization,
// which this command adds to the Dawn flags (TUNEBENCH_DAWN_FLAGS are kept).
//
// FLOPs are known for the matmul family only (2·rows·N·K per dispatch from its uniform); bytes
// are the sizes of every buffer range a dispatch binds (each read or written once: an estimate).
// Peaks are measured here first: GFLOP/s of the best of a few 1024³ linear_forward runs, GB/s of a
// 32 MiB copy.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StepEncoder, Gpu, openGpu, dawnFlagsFromEnv, linear_forward, copy, mulberry32, randomF32, type Binding, type PipelineEntry } from '@tunebench/kernels';
import {
  makeConfig, BERT_PRESETS, DEFAULT_OPTIMIZER, newTrainingModel, recordTrainStep, syntheticBatch, type AdamWStep, type HeadSpec,
} from '@tunebench/trainer';

export const NO_QUANTIZATION = 'disable-dawn-features=timestamp_quantization';

interface Captured { label: string; bytes: number; dims: number[] | null; workgroups: [number, number, number] }
export interface TimedDispatch extends Captured { step: number; index: number; startNs: bigint; endNs: bigint }

/** Per-step list of timed dispatches, filled while `active`. */
class Recorder {
  active = false;
  step = 0;
  timed: TimedDispatch[] = [];
  /** Per step: ns from the leading empty pass's start to the first dispatch's start. */
  queueStartNs: number[] = [];
  uniforms = new WeakMap<GPUBuffer, number[]>();
  captured = new WeakMap<StepEncoder, Captured[]>();
}

const bindingBytes = (b: Binding): number => ('buffer' in b && !('mapState' in b) ? (b as { size?: number; buffer: GPUBuffer }).size ?? (b as { buffer: GPUBuffer }).buffer.size : (b as GPUBuffer).size);

/** Install the timing wrappers (idempotent); returns the recorder. */
function instrument(): Recorder {
  const g = globalThis as unknown as { __tunebenchProfiler?: Recorder };
  if (g.__tunebenchProfiler) return g.__tunebenchProfiler;
  const rec = new Recorder();
  g.__tunebenchProfiler = rec;
  const gpuProto = Gpu.prototype as unknown as { uniform: (words: ArrayLike<number>, kind?: 'u32' | 'f32') => GPUBuffer };
  const origUniform = gpuProto.uniform;
  gpuProto.uniform = function (this: Gpu, words: ArrayLike<number>, kind: 'u32' | 'f32' = 'u32') {
    const buf = origUniform.call(this, words, kind);
    if (kind === 'u32') rec.uniforms.set(buf, Array.from(words));
    return buf;
  };
  type EncInternals = { dispatches: { entry: PipelineEntry; bindGroup: GPUBindGroup; workgroups: [number, number, number] }[]; submitted: boolean; gpu: Gpu; label: string };
  const encProto = StepEncoder.prototype as unknown as {
    dispatch: (this: StepEncoder, entry: PipelineEntry, buffers: Binding[], x: number, y?: number, z?: number) => void;
    submit: (this: StepEncoder) => Promise<void>;
  };
  const origDispatch = encProto.dispatch;
  encProto.dispatch = function (this: StepEncoder, entry, buffers, x, y = 1, z = 1) {
    origDispatch.call(this, entry, buffers, x, y, z);
    if (!rec.active) return;
    const list = rec.captured.get(this) ?? [];
    const first = buffers[0] as GPUBuffer;
    const dims = rec.uniforms.get(first) ?? null;
    const bytes = buffers.reduce((s, b, i) => s + (i === 0 && dims ? 0 : bindingBytes(b)), 0);
    list.push({ label: entry.label, bytes, dims, workgroups: [x, y, z] });
    rec.captured.set(this, list);
  };
  const origSubmit = encProto.submit;
  encProto.submit = async function (this: StepEncoder) {
    if (!rec.active) return origSubmit.call(this);
    const self = this as unknown as EncInternals;
    if (self.submitted) throw new Error(`step '${self.label}' was already submitted`);
    self.submitted = true;
    const ds = self.dispatches;
    if (!ds.length) return;
    const caps = rec.captured.get(this) ?? [];
    const device = self.gpu.device;
    const n = ds.length;
    // Query pairs: 0 = an empty leading pass (it absorbs the queue's start-up work, e.g. the
    // batch uploads written with queue.writeBuffer, which would otherwise land in the first
    // kernel's time), then one pair per dispatch.
    const q = n + 1;
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * q });
    const resolveBuf = device.createBuffer({ size: 16 * q, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readBuf = device.createBuffer({ size: 16 * q, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const build = () => {
      const enc = device.createCommandEncoder({ label: `${self.label} (profiled)` });
      enc.beginComputePass({ label: 'queue start', timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } }).end();
      ds.forEach((d, j) => {
        const i = j + 1;
        const pass = enc.beginComputePass({ label: d.entry.label, timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        pass.setPipeline(d.entry.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
        pass.end();
      });
      enc.resolveQuerySet(querySet, 0, 2 * q, resolveBuf, 0);
      enc.copyBufferToBuffer(resolveBuf, 0, readBuf, 0, 16 * q);
      return enc.finish();
    };
    await self.gpu.submit(build, ds.map((d) => d.entry.label));
    await readBuf.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(readBuf.getMappedRange().slice(0));
    readBuf.unmap();
    [readBuf, resolveBuf].forEach((b) => b.destroy());
    querySet.destroy();
    rec.queueStartNs.push(Number(t[2]! - t[0]!));
    ds.forEach((d, i) => {
      const c = caps[i] ?? { label: d.entry.label, bytes: 0, dims: null, workgroups: d.workgroups };
      rec.timed.push({ ...c, step: rec.step, index: i, startNs: t[2 * i + 2]!, endNs: t[2 * i + 3]! });
    });
  };
  return rec;
}

/** FLOPs of each timed matmul dispatch: 2 · rows · N · K · batch items (rows from consecutive m0). */
export function matmulFlops(ds: TimedDispatch[]): number[] {
  return ds.map((d, i) => {
    if (!/^(matmul|linear)/.test(d.label) || !d.dims || d.dims.length < 8) return 0;
    const [M, N, K] = d.dims as [number, number, number];
    const m0 = d.dims[7]!, z0 = d.dims[8] ?? 0;
    let rows = M - m0;
    // The next dispatch of the same call continues at a larger m0 (same M, N, K, z0).
    for (let j = i + 1; j < ds.length; j++) {
      const e = ds[j]!;
      if (e.step !== d.step || e.label !== d.label || !e.dims) break;
      if (e.dims[0] === M && e.dims[1] === N && e.dims[2] === K && (e.dims[8] ?? 0) === z0 && e.dims[7]! > m0) { rows = e.dims[7]! - m0; }
      break;
    }
    return 2 * rows * N * K * d.workgroups[2];
  });
}

export interface KernelRow { kernel: string; calls: number; totalMs: number; pctOfStep: number; gflops: number | null; gbps: number; shareOfPeak: number; peakKind: 'compute' | 'memory' }

export function kernelTable(ds: TimedDispatch[], steps: number, peak: { gflops: number; gbps: number }): KernelRow[] {
  const flops = matmulFlops(ds);
  const by = new Map<string, { calls: number; ns: number; flops: number; bytes: number }>();
  let total = 0;
  ds.forEach((d, i) => {
    const ns = Number(d.endNs - d.startNs);
    total += ns;
    const e = by.get(d.label) ?? { calls: 0, ns: 0, flops: 0, bytes: 0 };
    e.calls++;
    e.ns += ns;
    e.flops += flops[i]!;
    e.bytes += d.bytes;
    by.set(d.label, e);
  });
  return [...by.entries()].map(([kernel, e]) => {
    const s = Math.max(e.ns, 1) / 1e9;
    const gflops = e.flops ? e.flops / s / 1e9 : null;
    const gbps = e.bytes / s / 1e9;
    const compute = gflops !== null;
    return {
      kernel, calls: e.calls / steps, totalMs: e.ns / 1e6 / steps, pctOfStep: (100 * e.ns) / Math.max(total, 1),
      gflops, gbps, shareOfPeak: compute ? gflops! / peak.gflops : gbps / peak.gbps, peakKind: compute ? 'compute' : 'memory',
    } as KernelRow;
  }).sort((a, b) => b.totalMs - a.totalMs);
}

/** Chrome trace (JSON object format): one complete ('X') event per dispatch, µs since the first. */
export function chromeTrace(ds: TimedDispatch[], meta: Record<string, unknown>): unknown {
  const t0 = ds.reduce((m, d) => (d.startNs < m ? d.startNs : m), ds[0]?.startNs ?? 0n);
  const flops = matmulFlops(ds);
  return {
    displayTimeUnit: 'ms',
    otherData: meta,
    traceEvents: [
      { name: 'process_name', ph: 'M', pid: 1, args: { name: 'tunebench GPU' } },
      { name: 'thread_name', ph: 'M', pid: 1, tid: 1, args: { name: 'compute queue' } },
      ...ds.map((d, i) => ({
        name: d.label, cat: 'gpu', ph: 'X', pid: 1, tid: 1,
        ts: Number(d.startNs - t0) / 1000, dur: Number(d.endNs - d.startNs) / 1000,
        args: { step: d.step, dispatch: d.index, workgroups: d.workgroups.join('x'), boundBytes: d.bytes, ...(flops[i] ? { flops: flops[i] } : {}) },
      })),
    ],
  };
}

async function measurePeaks(gpu: Gpu): Promise<{ gflops: number; gbps: number }> {
  const rand = mulberry32(9);
  const n = 1024;
  const a = gpu.buffer(randomF32(rand, n * n, -1, 1)), w = gpu.buffer(randomF32(rand, n * n, -1, 1)), c = gpu.zeros(n * n * 4);
  const words = 8 << 20;
  const src = gpu.buffer(randomF32(rand, words, -1, 1)), dst = gpu.zeros(words * 4);
  const best = async (rec: (enc: StepEncoder) => void, reps: number) => {
    let b = Infinity;
    for (let i = 0; i < reps; i++) {
      const enc = gpu.encoder('peak');
      rec(enc);
      const t0 = performance.now();
      await enc.submit();
      await gpu.sync();
      b = Math.min(b, performance.now() - t0);
    }
    return b / 1000;
  };
  try {
    const tm = await best((enc) => linear_forward(gpu, enc, c, a, w, null, n, n, n), 4);
    const tc = await best((enc) => copy(gpu, enc, dst, src, words), 4);
    return { gflops: (2 * n ** 3) / tm / 1e9, gbps: (8 * words) / tc / 1e9 };
  } finally {
    [a, w, c, src, dst].forEach((b) => b.destroy());
  }
}

export interface ProfileOptions {
  model: 'tiny' | 'mini';
  steps: number;
  batch: number;
  seq: number;
  vocab: number;
  log?: (l: string) => void;
}

export interface ProfileResult {
  rows: KernelRow[];
  dispatches: TimedDispatch[];
  peak: { gflops: number; gbps: number };
  stepMs: number[];
  /** Median ms between the start of a step's command buffer and its first dispatch (uploads, queue start-up). */
  queueStartMs: number;
  adapter: string;
  dawnFlags: string[];
  trace: unknown;
}

export async function runProfile(o: ProfileOptions): Promise<ProfileResult> {
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`--steps ${o.steps}: expected a positive integer`);
  const log = o.log ?? ((l: string) => console.log(l));
  const flags = [...new Set([...dawnFlagsFromEnv(), NO_QUANTIZATION])];
  const rec = instrument();
  const gpu = await openGpu({ dawnFlags: flags });
  try {
    if (!gpu.features.has('timestamp-query')) {
      throw new Error(`this adapter (${gpu.adapterInfo.description || gpu.adapterInfo.device}) does not offer the 'timestamp-query' feature: per-dispatch GPU times cannot be measured here`);
    }
    log(`measuring this adapter's peaks (1024³ linear_forward, 32 MiB copy)…`);
    const peak = await measurePeaks(gpu);
    const shape = BERT_PRESETS[o.model];
    const config = makeConfig(o.model, o.vocab, { maxPositions: Math.max(128, o.seq) });
    const heads: HeadSpec[] = [{ kind: 'mlm' }];
    const { model, adamw, ranges, destroy } = newTrainingModel(gpu, config, heads, { weightDecay: 0.01 });
    const batch = syntheticBatch(o.batch, o.seq, o.vocab, 'mlm', 5);
    const update: AdamWStep = { ranges, hyper: { lr: 1e-4, step: 1, gradScale: 1 }, optimizer: { ...DEFAULT_OPTIMIZER, maxGradNorm: 0 } };
    const stepMs: number[] = [];
    try {
      log(`profiling ${o.steps} MLM training steps of BERT-${o.model} (L${shape.numLayers} H${shape.hiddenSize} A${shape.numHeads}, vocab ${o.vocab}), B ${o.batch} × T ${o.seq}, after 1 warm-up step`);
      for (let step = 0; step <= o.steps; step++) {
        rec.active = step > 0;
        rec.step = step;
        const enc = gpu.encoder(`profile step ${step}`);
        recordTrainStep(enc, model, adamw, { batch, dropoutSeed: 1, step: step + 1 }, update);
        const t0 = performance.now();
        await enc.submit();
        await gpu.sync();
        if (step > 0) stepMs.push(performance.now() - t0);
      }
    } finally {
      rec.active = false;
      destroy();
    }
    const ds = rec.timed.splice(0);
    const qs = rec.queueStartNs.splice(0).sort((a, b) => a - b);
    const queueStartMs = (qs[qs.length >> 1] ?? 0) / 1e6;
    const rows = kernelTable(ds, o.steps, peak);
    const a = gpu.adapterInfo;
    const adapter = `${a.description || a.device}`;
    const trace = chromeTrace(ds, { adapter, dawnFlags: flags, model: o.model, batch: o.batch, seq: o.seq, steps: o.steps, peak });
    return { rows, dispatches: ds, peak, stepMs, queueStartMs, adapter, dawnFlags: flags, trace };
  } finally {
    gpu.destroy();
  }
}

export function profileTable(r: ProfileResult): string {
  const stepGpuMs = r.rows.reduce((s, x) => s + x.totalMs, 0);
  const lines = [
    `adapter: ${r.adapter}; Dawn flags: ${r.dawnFlags.join(' ') || '(none)'}`,
    `measured peaks: ${r.peak.gflops.toFixed(1)} GFLOP/s (1024³ linear_forward), ${r.peak.gbps.toFixed(1)} GB/s (copy)`,
    `before the first dispatch of a step (queue start-up, uploads of the batch): ${r.queueStartMs.toFixed(2)} ms; not counted below`,
    `step: ${stepGpuMs.toFixed(1)} ms of GPU time in ${r.rows.reduce((s, x) => s + x.calls, 0).toFixed(0)} dispatches (sum of per-dispatch timestamps); wall time per step (one pass per dispatch, + submit/wait) ${[...r.stepMs].sort((a, b) => a - b)[r.stepMs.length >> 1]!.toFixed(1)} ms`,
    '',
  ];
  const head = ['kernel', 'calls/step', 'ms/step', '% of step', 'GFLOP/s', 'GB/s*', 'share of peak'];
  const body = r.rows.map((x) => [x.kernel, x.calls.toFixed(0), x.totalMs.toFixed(3), x.pctOfStep.toFixed(1), x.gflops === null ? '–' : x.gflops.toFixed(2), x.gbps.toFixed(2), `${(100 * x.shareOfPeak).toFixed(1)} % ${x.peakKind === 'compute' ? 'FLOP' : 'BW'}`]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (c: string[]) => c.map((s, i) => (i === 0 ? s.padEnd(w[i]!) : s.padStart(w[i]!))).join('  ');
  lines.push(fmt(head), fmt(w.map((n) => '-'.repeat(n))), ...body.map(fmt));
  lines.push('', '* GB/s from the bytes of every buffer range a dispatch binds (each read or written once): an estimate. GFLOP/s for the matmul family only.');
  return lines.join('\n');
}

export function writeTrace(path: string, trace: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(trace));
}
