// Same-process before/after of the row-wise memory-bound kernels that have a 'subgroup' and a
// 'rows' variant (layernorm forward/backward, quantize_rows_int8), against copy:
//
//   node --import tsx --expose-gc src/bench/rowwise_variants.ts [--rounds 5] [--reps 5]
//
// Each round times `copy N=1048576`, then every case with each variant in turn (`reps` timings
// each), so every number comes from the same process under the same load; copy's data is cold
// at its turn, as it would be in a training step (the kernel harness, cli.ts, times each case
// back to back with warm caches). Prints medians in ms, GB/s by each case's minimal bytes (as in
// the bench cases) and the ratio to copy's GB/s. Each timing is record + submit + gpu.sync().

import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { openGpu, type StepEncoder } from '../runtime.js';
import { copy } from '../elementwise.js';
import { layernorm_backward, layernorm_forward, setLayernormVariant, type LayernormVariant } from '../layernorm.js';
import { quantize_rows_int8, setQuantizeVariant } from '../int8_matmul.js';
import { mulberry32, randomF32 } from '../testing.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, reps: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const reps = Number(values.reps);
if (!(Number.isInteger(rounds) && rounds > 0 && Number.isInteger(reps) && reps > 0)) throw new Error('--rounds and --reps must be positive integers');

const gpu = await openGpu();
const rand = mulberry32(1);
const input = (n: number) => gpu.buffer(randomF32(rand, n));

async function time(record: (enc: StepEncoder) => void, n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const enc = gpu.encoder();
    record(enc);
    const t = performance.now();
    await enc.submit();
    await gpu.sync();
    ms.push(performance.now() - t);
  }
  return ms;
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

interface Case { name: string; bytes: number; run(enc: StepEncoder): void; setVariant(v: LayernormVariant | null): void }
const cases: Case[] = [];
for (const [N, C] of [[4096, 128], [8192, 256]]) {
  const x = input(N * C), w = input(C), b = input(C), dy = input(N * C);
  const out = gpu.zeros(N * C * 4), mean = gpu.zeros(N * 4), rstd = gpu.zeros(N * 4), dx = gpu.zeros(N * C * 4), dw = gpu.zeros(C * 4), db = gpu.zeros(C * 4);
  const enc = gpu.encoder();
  layernorm_forward(gpu, enc, out, mean, rstd, x, w, b, N, C, 1e-12);
  await enc.submit();
  cases.push({ name: `layernorm_forward ${N}x${C}`, bytes: 4 * (2 * N * C + 2 * N + 2 * C), setVariant: setLayernormVariant,
    run: (e) => layernorm_forward(gpu, e, out, mean, rstd, x, w, b, N, C, 1e-12) });
  cases.push({ name: `layernorm_backward ${N}x${C}`, bytes: 4 * (3 * N * C + 2 * N + 3 * C), setVariant: setLayernormVariant,
    run: (e) => layernorm_backward(gpu, e, dx, dw, db, dy, x, w, mean, rstd, N, C) });
}
for (const [M, K] of [[4096, 128], [4096, 512]]) {
  const K4 = Math.ceil(K / 4);
  const x = input(M * K), q = gpu.zeros(M * K4 * 4), s = gpu.zeros(M * 4);
  cases.push({ name: `quantize_rows_int8 ${M}x${K}`, bytes: 4 * (M * K + M * K4 + M), setVariant: setQuantizeVariant,
    run: (e) => quantize_rows_int8(gpu, e, q, s, x, M, K) });
}
const Nc = 1 << 20;
const src = input(Nc), dst = gpu.zeros(Nc * 4);
const variants: LayernormVariant[] = ['subgroup', 'rows'];

const samples = new Map<string, number[]>();
const add = (key: string, v: number[]) => samples.set(key, [...(samples.get(key) ?? []), ...v]);
async function timeVariant(c: Case, v: LayernormVariant, n: number): Promise<number[]> {
  c.setVariant(v);
  try {
    return await time(c.run, n);
  } finally {
    c.setVariant(null);
  }
}
const load0 = loadavg()[0];
for (const c of cases) for (const v of variants) await timeVariant(c, v, 1); // compile + warm up
for (let r = 0; r < rounds; r++) {
  add('copy', await time((e) => copy(gpu, e, dst, src, Nc), reps));
  for (const c of cases) for (const v of variants) add(`${c.name}|${v}`, await timeVariant(c, v, reps));
}
const copyMs = median(samples.get('copy')!);
const copyGBs = (8 * Nc) / 1e6 / copyMs;
console.log(`${gpu.adapterInfo.description || gpu.adapterInfo.device}; load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}; ${rounds} rounds × ${reps} timings`);
console.log(`copy N=1048576: ${copyMs.toFixed(2)} ms, ${copyGBs.toFixed(2)} GB/s`);
console.log('| case | subgroup ms (GB/s, × copy) | rows ms (GB/s, × copy) | rows / subgroup |');
console.log('|---|---|---|---|');
for (const c of cases) {
  const [a, b] = variants.map((v) => median(samples.get(`${c.name}|${v}`)!));
  const cell = (ms: number) => `${ms.toFixed(2)} (${(c.bytes / 1e6 / ms).toFixed(2)}, ${(c.bytes / 1e6 / ms / copyGBs).toFixed(2)})`;
  console.log(`| ${c.name} | ${cell(a)} | ${cell(b)} | ${(b / a).toFixed(1)}× |`);
}
gpu.destroy();
