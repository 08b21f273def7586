// Tile lab: a parametrized copy of the subgroup matmul (A·B only, vec4 B and C, no bias) for trying
// tile shapes outside the library, candidates alternating run by run in one process:
//   node --import tsx --expose-gc src/bench/matmul_tile_lab.ts --shapes 1024x1024x1024 --cands 16x8u1,24x8u1,32x8u1 --iters 7
// A candidate is <R>x<C>u<U>[a4][ub]: R rows per workgroup (multiple of 8), C columns per lane
// (multiple of 4), U k per loop step (all U k of a row into the same accumulators), a4 = A read
// as vec4 (U = 4), ub = B read through a 64 KiB uniform-buffer window, one dispatch per chunk of
// columns (K·chunk ≤ 16384; lavapipe gathers uniform loads without per-lane branches). --dump
// prints the first candidate's WGSL. Checks 64 random outputs against float64 per shape and
// prints wall and process CPU time (see matmul_rows_ab.ts for why CPU time).
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { openGpu } from '../runtime.js';
import { matmulHeader } from '../matmul_common.js';
import { mulberry32, randomF32 } from '../testing.js';

const { values } = parseArgs({ options: { shapes: { type: 'string', default: '1024x1024x1024' }, cands: { type: 'string', default: '16x8u1' }, iters: { type: 'string', default: '7' }, dump: { type: 'boolean', default: false } } });

// R rows per subgroup tile (multiple of 8), C cols per lane (multiple of 4), U k per loop step.
export function gen(R: number, C: number, U: number, opts: { av4?: boolean; ub?: boolean } = {}): string {
  const S = 8, V = C / 4, RB = R / S;
  const I = Array.from({ length: RB }, (_, i) => i);
  const Vs = Array.from({ length: V }, (_, v) => v);
  const acc = (r: number, v: number) => `c${r}_${v}`;
  // loads for U k's, then per row: all U k's into the same accumulators (keeps acc in a register)
  const body = (xs: (u: number, i: number) => string, loadsA: string) => {
    const lines: string[] = [loadsA];
    for (let u = 0; u < U; u++) lines.push(Vs.map((v) => `let b${u}_${v} = ${opts.ub ? 'bu' : 'b'}[pb + ${v}u];`).join(' ') + ` pb += stepB;`);
    for (let r = 0; r < R; r++) {
      const parts: string[] = [];
      for (let u = 0; u < U; u++) parts.push(`let s${u} = subgroupBroadcast(${xs(u, Math.floor(r / S))}, ${r % S}u);`);
      for (let v = 0; v < V; v++) for (let u = 0; u < U; u++) parts.push(`${acc(r, v)} += s${u} * b${u}_${v};`);
      lines.push(`{ ${parts.join(' ')} }`);
    }
    return lines.join('\n    ');
  };
  let loop: string;
  if (opts.av4) {
    if (U !== 4) throw new Error('a4 needs u4');
    loop = `for (var k4 = 0u; k4 < K / 4u; k4++) {
    ${body((u, i) => `y${i}[${u}]`, I.map((i) => `let y${i} = a[pa${i} / 4u]; pa${i} += 4u;`).join(' '))}
  }`;
  } else {
    loop = `for (var k = 0u; k < K; k += ${U}u) {
    ${body((u, i) => `x${u}_${i}`, Array.from({ length: U }, (_, u) => I.map((i) => `let x${u}_${i} = a[pa${i} + ${u}u];`).join(' ')).join(' '))}
    ${I.map((i) => `pa${i} += ${U}u;`).join(' ')}
  }`;
  }
  const park = Array.from({ length: R }, (_, r) => Vs.map((v) => `tile[${V * r + v}] = ${acc(r, v)};`).join(' ')).join('\n  ');
  let hdr = matmulHeader(true, !!opts.av4, true);
  if (opts.ub) hdr = hdr.replace('@group(0) @binding(2) var<storage, read> b: array<vec4f>;', '@group(0) @binding(2) var<uniform> bu: array<vec4f, 4096>;');
  return `enable subgroups;
${hdr}
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let M = dims.M; let N = dims.N; let K = dims.K;
  let row0 = dims.m0 + wg.y * ${R}u;
  ${opts.ub ? `let n0 = dims.pad0; let Nc = dims.pad1;
  let colOwn = n0 + (wg.x * 8u + lane) * ${C}u;
  let col0 = min(colOwn, n0 + max(Nc, ${C}u) - ${C}u);` : `let colOwn = (wg.x * 8u + lane) * ${C}u;
  let col0 = min(colOwn, max(N, ${C}u) - ${C}u);`}
${I.map((i) => `  var pa${i} = min(row0 + ${i * S}u + lane, M - 1u) * K;`).join('\n')}
  ${opts.ub ? 'var pb = (col0 - n0) / 4u; let stepB = Nc / 4u;' : 'var pb = col0 / 4u; let stepB = N / 4u;'}
${Array.from({ length: R }, (_, r) => '  ' + Vs.map((v) => `var ${acc(r, v)} = vec4f(0.0);`).join(' ')).join('\n')}
  var tile: array<vec4f, ${V * R}>;
  ${loop}
  ${park}
  for (var r = 0u; r < ${R}u; r++) {
    let row = row0 + r;
    if (row >= M) { break; }
    for (var q = 0u; q < ${V}u; q++) {
      let col = col0 + 4u * q;
      if (col >= colOwn && col < ${opts.ub ? 'n0 + Nc' : 'N'}) { store_out4(0u, row, col, tile[${V}u * r + q]); }
    }
  }
}
`;
}

function parseCand(s: string) {
  const m = /^(\d+)x(\d+)u(\d+)(a4)?(ub)?$/.exec(s);
  if (!m) throw new Error(`bad cand ${s}`);
  return { name: s, R: +m[1], C: +m[2], U: +m[3], av4: !!m[4], ub: !!m[5] };
}

const cands = values.cands!.split(',').map(parseCand);
if (values.dump) { const c = cands[0]; console.log(gen(c.R, c.C, c.U, { av4: c.av4, ub: c.ub })); process.exit(0); }
const shapes = values.shapes!.split(',').map((s) => s.split('x').map(Number) as [number, number, number]);
const iters = Number(values.iters);
const gpu = await openGpu();
try {
  console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  for (const [M, N, K] of shapes) {
    const rand = mulberry32(1);
    const ah = randomF32(rand, M * K), bh = randomF32(rand, K * N);
    const bpad = new Float32Array(Math.max(K * N, 16384)); bpad.set(bh);
    const ncH = Math.max(64, Math.min(N, Math.floor(16384 / K / 64) * 64));
    const bt = new Float32Array(K * N + 16384);
    for (let n0 = 0; n0 < N; n0 += ncH) { const w = Math.min(ncH, N - n0); for (let k = 0; k < K; k++) for (let j = 0; j < w; j++) bt[n0 * K + k * w + j] = bh[k * N + n0 + j]; }
    const BT = gpu.buffer(bt, 'BT', GPUBufferUsage.UNIFORM);
    const A = gpu.buffer(ah), B = gpu.buffer(bpad, 'B'), Cb = gpu.zeros(M * N * 4);
    // reference on a few rows (float64)
    const pipes = cands.map((c) => {
      const t0 = performance.now();
      const p = gpu.pipeline(`exp-${c.name}`, gen(c.R, c.C, c.U, { av4: c.av4, ub: c.ub }));
      return { c, p, compile: performance.now() - t0, times: [] as number[], cpu: [] as number[] };
    });
    const dims = gpu.uniform([M, N, K, 0, 0, 0, 0, 0, 0, 0x3f800000, K, 1, 1, N, 0, 0]);
    for (let it = 0; it <= iters; it++) {
      for (const x of pipes) {
        const enc = gpu.encoder('exp');
        if (x.c.ub) {
          const nc = Math.min(N, Math.floor(16384 / K / 64) * 64);
          for (let n0 = 0; n0 < N; n0 += nc) {
            const w = Math.min(nc, N - n0);
            const d = gpu.uniform([M, N, K, 0, 0, 0, 0, 0, 0, 0x3f800000, K, 1, 1, N, n0, w]);
            enc.dispatch(x.p, [d, A, { buffer: BT, offset: n0 * K * 4, size: 65536 }, A, Cb], Math.ceil(w / (8 * x.c.C)), Math.ceil(M / x.c.R), 1);
          }
        } else enc.dispatch(x.p, [dims, A, B, A, Cb], Math.ceil(N / (8 * x.c.C)), Math.ceil(M / x.c.R), 1);
        const t0 = performance.now(); const u0 = process.cpuUsage();
        await enc.submit();
        await gpu.sync();
        const dt = performance.now() - t0; const du = process.cpuUsage(u0);
        if (it === 0) x.compile += dt; else { x.times.push(dt); x.cpu.push((du.user + du.system) / 1000); }
        if (it === 0) {
          const out = await gpu.read(Cb, Float32Array, M * N);
          let maxErr = 0;
          for (let t = 0; t < 64; t++) {
            const i = Math.floor(rand() * M), j = Math.floor(rand() * N);
            let s = 0; for (let k = 0; k < K; k++) s += ah[i * K + k] * bh[k * N + j];
            maxErr = Math.max(maxErr, Math.abs(out[i * N + j] - s));
          }
          if (maxErr > 1e-3) console.log(`  !! ${x.c.name} wrong: max err ${maxErr}`);
          gpu.write(Cb, new Float32Array(M * N));
        }
      }
    }
    for (const x of pipes) {
      const t = x.times.sort((p, q) => p - q);
      if (!t.length) continue; const med = t[Math.floor(t.length / 2)];
      const gf = (ms: number) => ((2 * M * N * K) / (ms * 1e6)).toFixed(1);
      const cp = x.cpu.sort((p, q) => p - q); const cmed = cp[Math.floor(cp.length / 2)];
      console.log(`${M}x${N}x${K} ${x.c.name.padEnd(10)} median ${med.toFixed(1).padStart(7)} ms ${gf(med).padStart(6)} GF/s best ${gf(t[0]).padStart(6)} | cpu med ${cmed.toFixed(1).padStart(7)} ms -> ${gf(cmed / 2).padStart(6)} GF/2cpu-s (min ${gf(cp[0] / 2)} @ ${cp[0].toFixed(1)}ms)  first ${x.compile.toFixed(0)} ms`);
    }
    for (const x of [A, B, BT, Cb]) x.destroy();
  }
  console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally { gpu.destroy(); }
