// Wall-clock samples of an async piece of work, as `bench peers` times ours and every peer.
import { performance } from 'node:perf_hooks';

/** `warmup` untimed calls, then the milliseconds of each of `samples` calls. */
export async function timeSamples(fn: () => Promise<void>, warmup: number, samples: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}
