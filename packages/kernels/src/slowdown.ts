// TUNEBENCH_SLOWDOWN: make chosen kernels slower on purpose, to prove a regression check catches it.
//
//   TUNEBENCH_SLOWDOWN='gelu_forward:1.3'              every kernel whose label matches /gelu_forward/ does 1.3× its work
//   TUNEBENCH_SLOWDOWN='matmul:1.15,layernorm:2'       several, comma-separated (the factor follows the last ':')
//
// How: after each dispatch of a matching kernel, StepEncoder.submit dispatches it again — whole
// for each integer part above 1, and for the fraction a dispatch over that share of the
// workgroups (its largest grid axis scaled, rounded up). The repeated work recomputes the same
// outputs (or adds into them again where a kernel accumulates), so results can change: this is a
// benchmark switch, never for training. Where a dispatch is a single workgroup the fraction is
// carried from one dispatch to the next (error diffusion), so the average is still the factor.

export interface SlowdownRule {
  pattern: RegExp;
  factor: number;
}

export class Slowdown {
  private readonly carry = new Map<string, number>();
  constructor(readonly rules: readonly SlowdownRule[]) {}

  /** The factor for kernel `label` (the product of every matching rule; 1 when none matches). */
  factorOf(label: string): number {
    return this.rules.reduce((f, r) => (r.pattern.test(label) ? f * r.factor : f), 1);
  }

  /** The extra dispatches (workgroup counts) to record after a dispatch of `label` over `wg`. */
  extra(label: string, wg: readonly [number, number, number]): [number, number, number][] {
    const f = this.factorOf(label);
    if (f === 1) return [];
    const out: [number, number, number][] = [];
    for (let i = 1; i < Math.floor(f); i++) out.push([wg[0], wg[1], wg[2]]);
    const frac = f - Math.floor(f);
    if (frac <= 0) return out;
    const axis = wg[0] >= wg[1] && wg[0] >= wg[2] ? 0 : wg[1] >= wg[2] ? 1 : 2;
    if (wg[axis] > 1) {
      const part: [number, number, number] = [wg[0], wg[1], wg[2]];
      part[axis] = Math.max(1, Math.round(frac * wg[axis]));
      out.push(part);
    } else {
      const c = (this.carry.get(label) ?? 0) + frac;
      if (c >= 1) out.push([1, 1, 1]);
      this.carry.set(label, c >= 1 ? c - 1 : c);
    }
    return out;
  }
}

/** Parse a TUNEBENCH_SLOWDOWN value; throws a clear error naming the bad part. */
export function parseSlowdown(text: string): Slowdown | null {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (!parts.length) return null;
  const rules = parts.map((part) => {
    const at = part.lastIndexOf(':');
    const what = `TUNEBENCH_SLOWDOWN: '${part}'`;
    if (at <= 0) throw new Error(`${what}: expected <kernel-label-regex>:<factor ≥ 1>, e.g. gelu_forward:1.3`);
    const factor = Number(part.slice(at + 1));
    if (!Number.isFinite(factor) || factor < 1 || factor > 100) throw new Error(`${what}: the factor must be a number in [1, 100]`);
    let pattern: RegExp;
    try {
      pattern = new RegExp(part.slice(0, at));
    } catch (e) {
      throw new Error(`${what}: not a regular expression (${(e as Error).message})`);
    }
    return { pattern, factor };
  });
  return new Slowdown(rules);
}

export function slowdownFromEnv(env: NodeJS.ProcessEnv = process.env): Slowdown | null {
  return parseSlowdown(env.TUNEBENCH_SLOWDOWN ?? '');
}
