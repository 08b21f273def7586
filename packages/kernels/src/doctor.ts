// `tunebench doctor`: is this machine able to run tunebench? Prints the adapter, its features and
// limits, checks matmul against the float64 reference, and times one matmul.

import { matmul_forward, matmul_forward_reference } from './matmul.js';
import { openGpu, type Gpu } from './runtime.js';
import { firstMismatch, mulberry32, poisoned, randomF32 } from './testing.js';

export interface DoctorReport {
  ok: boolean;
  lines: string[];
}

const SHOWN_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
] as const;

/** Runs every check; `log` receives each line as it is produced. */
export async function runDoctor(log: (line: string) => void = console.log): Promise<DoctorReport> {
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    log(s);
  };
  let gpu: Gpu;
  try {
    gpu = await openGpu();
  } catch (e) {
    say(`FAIL  ${(e as Error).message}`);
    return { ok: false, lines };
  }
  let ok = true;
  try {
    const info = gpu.adapterInfo;
    say(`adapter       ${info.vendor} / ${info.architecture} / ${info.device}${info.isSoftware ? '  (software)' : ''}`);
    say(`description   ${info.description || '(none)'}`);
    say(`features      ${[...gpu.features].join(', ') || '(none of timestamp-query, shader-f16, subgroups)'}`);
    say(`offered       ${[...gpu.adapter.features].sort().join(', ')}`);
    if (gpu.dawnFlags.length) say(`dawn flags    ${gpu.dawnFlags.join(' ')}`);
    for (const k of SHOWN_LIMITS) say(`limit         ${k} = ${(gpu.limits as unknown as Record<string, number>)[k]}`);

    // Self-check: odd shapes, so edge tiles are exercised, with bias.
    for (const [M, N, K] of [
      [1, 1, 1],
      [67, 45, 33],
      [130, 257, 64],
    ] as const) {
      const rand = mulberry32(M * 1000 + N);
      const a = randomF32(rand, M * K);
      const b = randomF32(rand, K * N);
      const bias = randomF32(rand, N);
      const C = poisoned(gpu, M * N);
      const enc = gpu.encoder('doctor');
      matmul_forward(gpu, enc, C, gpu.buffer(a), gpu.buffer(b), gpu.buffer(bias), M, N, K);
      await enc.submit();
      const got = await gpu.read(C);
      const want = new Float64Array(M * N);
      matmul_forward_reference(want, a, b, bias, M, N, K);
      const bad = firstMismatch(got, want, () => 2 * (K + 1) * 2 ** -24 * (K + 1));
      if (bad) {
        ok = false;
        say(`FAIL  matmul ${M}×${N}×${K}: element ${bad.index} = ${bad.actual}, reference ${bad.expected}`);
      } else {
        say(`ok    matmul ${M}×${N}×${K} (+bias) matches the float64 reference`);
      }
    }

    // One timing: 512³, median of 5 after a warm-up.
    const n = 512;
    const rand = mulberry32(1);
    const A = gpu.buffer(randomF32(rand, n * n));
    const B = gpu.buffer(randomF32(rand, n * n));
    const C = gpu.zeros(n * n * 4);
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const enc = gpu.encoder('doctor-timing');
      matmul_forward(gpu, enc, C, A, B, null, n, n, n);
      const t0 = performance.now();
      await enc.submit();
      await gpu.sync();
      if (i > 0) times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    const ms = times[Math.floor(times.length / 2)];
    say(`time  matmul ${n}³: ${ms.toFixed(1)} ms median of 5 (${((2 * n ** 3) / ms / 1e6).toFixed(2)} GFLOP/s incl. submit)`);
  } catch (e) {
    ok = false;
    say(`FAIL  ${(e as Error).message}`);
  } finally {
    gpu.destroy();
  }
  say(ok ? 'doctor: all checks passed' : 'doctor: FAILED');
  return { ok, lines };
}
