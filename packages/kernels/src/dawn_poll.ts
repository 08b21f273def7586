// Waiting for the GPU without spinning a CPU core.
//
// Why: Dawn's node binding resolves every promise (onSubmittedWorkDone, mapAsync, popErrorScope)
// by polling: while any is pending it calls the global setImmediate with a native callback that
// runs wgpuInstanceProcessEvents and schedules itself again (crbug.com/dawn/1127). That is a busy
// loop: the main thread uses a whole core for as long as the GPU works. On a software adapter the
// GPU *is* the CPU, so the loop takes a core away from lavapipe's worker threads (measured here:
// main thread 300 ms of CPU per 1 s wait; a tiny BERT step's process CPU 37 % main thread).
//
// What: installDawnPollBackoff() replaces globalThis.setImmediate with a wrapper that passes every
// JavaScript callback straight through and delays only native callbacks (Dawn's poll; node's own
// code does not go through the global) by a timer that grows with the length of the current wait:
// no delay during the first millisecond, then age/16 ms, at most 4 ms. A wait of t ms therefore
// ends at most ~t/16 (≤ 4) ms late and wakes the thread ~100-1000 times a second instead of
// continuously. TUNEBENCH_DAWN_POLL=spin leaves setImmediate alone (Dawn's own behaviour).

import { promisify } from 'node:util';

const MAX_DELAY_MS = 4;
/** A poll that runs this long after the previous one starts a new wait. */
const NEW_WAIT_GAP_MS = 50;

let installed = false;

/**
 * True for functions implemented in C++ (N-API), such as Dawn's poll callback (an anonymous native
 * function). Bound JavaScript functions also print as native code; their name starts with 'bound '.
 */
export function isNativeCallback(fn: unknown): boolean {
  return typeof fn === 'function' && !fn.name.startsWith('bound ') && Function.prototype.toString.call(fn).endsWith('{ [native code] }');
}

/** How long to sleep before the next poll of a wait that started `ageMs` ago. */
export function pollDelayMs(ageMs: number): number {
  return ageMs < 1 ? 0 : Math.min(MAX_DELAY_MS, ageMs / 16);
}

/** Whether installDawnPollBackoff() has replaced setImmediate in this thread. */
export function dawnPollBackoffInstalled(): boolean {
  return installed;
}

/**
 * Make Dawn's event polling sleep between polls (see the file header). Idempotent; called by
 * openGpu(). Returns false when disabled by TUNEBENCH_DAWN_POLL=spin.
 */
export function installDawnPollBackoff(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.TUNEBENCH_DAWN_POLL === 'spin') return false;
  if (installed) return true;
  installed = true;
  const original = globalThis.setImmediate;
  // Captured now, so that a test mocking timers later cannot stall the GPU waits.
  const timeout = globalThis.setTimeout;
  let waitStart = 0;
  let lastPoll = -Infinity;
  const wrapped = function setImmediate(callback: (...args: unknown[]) => void, ...args: unknown[]) {
    if (!isNativeCallback(callback)) return original(callback, ...args);
    const now = performance.now();
    if (now - lastPoll > NEW_WAIT_GAP_MS) waitStart = now;
    const delay = pollDelayMs(now - waitStart);
    const poll = () => {
      lastPoll = performance.now();
      callback(...args);
    };
    return delay === 0 ? original(poll) : timeout(poll, delay);
  };
  // util.promisify(setImmediate) keeps working: it looks up this symbol on the function.
  Object.defineProperty(wrapped, promisify.custom, { value: (original as unknown as Record<symbol, unknown>)[promisify.custom] });
  globalThis.setImmediate = wrapped as unknown as typeof globalThis.setImmediate;
  return true;
}
