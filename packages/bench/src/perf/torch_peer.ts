// The PyTorch CPU peer of `tunebench bench peers`: runs scripts/torch_peer.py with Debian's
// /usr/bin/python3 (python3-torch) as a subprocess and reads the one JSON line it prints.
// A missing interpreter or a torch that cannot be imported is a skip with its reason, never a
// failure: the peer is optional like Chromium and tfjs. A script that runs and then fails or
// prints something unreadable is an error (that is a bug to see, not a missing peer).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

export const TORCH_PEER_SCRIPT = fileURLToPath(new URL('../../scripts/torch_peer.py', import.meta.url));
export const DEBIAN_PYTHON = '/usr/bin/python3';

export type TorchPeerCase = 'layer' | 'tiny';

export type TorchPeerResult =
  | { kind: 'measured'; case: TorchPeerCase; torch: string; threads: number; ms: number[] }
  | { kind: 'skipped'; reason: string };

/**
 * Read the script's output: the last non-empty line of stdout is its JSON (torch may print
 * warnings before it). Throws an Error naming the field when the JSON is not what the script writes.
 */
export function parseTorchPeerOutput(stdout: string, expected: TorchPeerCase): TorchPeerResult {
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const what = `${TORCH_PEER_SCRIPT} ${expected}`;
  if (lines.length === 0) throw new Error(`${what}: printed nothing (expected one JSON line)`);
  const last = lines[lines.length - 1];
  let j: unknown;
  try {
    j = JSON.parse(last);
  } catch (e) {
    throw new Error(`${what}: last output line is not JSON (${(e as Error).message}): ${last.slice(0, 200)}`);
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new Error(`${what}: expected a JSON object, got ${last.slice(0, 200)}`);
  const o = j as Record<string, unknown>;
  if ('skipped' in o) {
    if (typeof o.skipped !== 'string' || o.skipped === '') throw new Error(`${what}: field "skipped" must be a non-empty string`);
    return { kind: 'skipped', reason: o.skipped };
  }
  if (o.peer !== 'pytorch-cpu') throw new Error(`${what}: field "peer" must be "pytorch-cpu", got ${JSON.stringify(o.peer)}`);
  if (o.case !== expected) throw new Error(`${what}: field "case" must be "${expected}", got ${JSON.stringify(o.case)}`);
  if (typeof o.torch !== 'string') throw new Error(`${what}: field "torch" must be a version string, got ${JSON.stringify(o.torch)}`);
  if (!Number.isInteger(o.threads) || (o.threads as number) < 1) throw new Error(`${what}: field "threads" must be a positive integer, got ${JSON.stringify(o.threads)}`);
  if (!Array.isArray(o.ms) || o.ms.length === 0) throw new Error(`${what}: field "ms" must be a non-empty array of step times`);
  o.ms.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw new Error(`${what}: field "ms"[${i}] must be a finite number ≥ 0, got ${JSON.stringify(x)}`);
  });
  return { kind: 'measured', case: expected, torch: o.torch, threads: o.threads as number, ms: o.ms as number[] };
}

/**
 * Run the peer for `steps` timed steps after `warmup`, torch using `threads` threads (default:
 * this machine's cores). Resolves to a skip when `python` does not exist or cannot import torch.
 */
export function runTorchPeer(
  which: TorchPeerCase,
  opts: { steps: number; warmup: number; threads?: number; python?: string; timeoutMs?: number },
): Promise<TorchPeerResult> {
  const python = opts.python ?? DEBIAN_PYTHON;
  if (!existsSync(python)) {
    return Promise.resolve({ kind: 'skipped', reason: `${python} not found (the PyTorch peer uses Debian's python3 with python3-torch: apt-get install python3-torch)` });
  }
  const args = [TORCH_PEER_SCRIPT, which, '--steps', String(opts.steps), '--warmup', String(opts.warmup), '--threads', String(opts.threads ?? availableParallelism())];
  return new Promise((resolve, reject) => {
    execFile(python, args, { encoding: 'utf8', maxBuffer: 16 << 20, timeout: opts.timeoutMs ?? 30 * 60_000 }, (err, stdout, stderr) => {
      if (err) {
        const tail = stderr.trim().split('\n').slice(-5).join('\n');
        reject(new Error(`${python} ${TORCH_PEER_SCRIPT} ${which} failed (${err.code ?? err.signal ?? err.message}):\n${tail}`));
        return;
      }
      try {
        resolve(parseTorchPeerOutput(stdout, which));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
