// LoRA (PEFT layout): a frozen linear layer plus a trainable low-rank update.
//
//   W (N, K) frozen, bias (N) or none, lora_A (r, K), lora_B (N, r), scale = α / r.
//   lora_forward:  xa = inp·Aᵀ (M, r), saved for backward;
//                  out (M, N) = inp·Wᵀ + bias + scale · xa·Bᵀ
//   lora_backward: g = scale · dout·B (M, r) (scratch);
//                  dB += scale · doutᵀ·xa ;  dA += gᵀ·inp                 (parameter grads: +=)
//                  dinp = dout·W + g·A                                    (overwritten, or += with accumulateDinp)
//                  W is frozen: no dW is computed.
//   lora_merge_reference: W += scale · B·A in float64 (the trainer's merge for exports,
//                  trainer/src/model/lora.ts: one rounding to f32). The GPU lora_merge /
//                  lora_unmerge were deleted (issue #13): nothing called them, a float32 merge rounds
//                  twice, and an unmerge restores W only up to rounding.
//
// All of these are compositions of matmul.ts's `matmul` (transposes walked in place, alpha and
// accumulate in the kernel): 3 dispatches forward, 5 backward. A fused single-kernel
// forward (out = x·Wᵀ + b + scale·xa·Bᵀ in one register-tiled kernel, no workgroup memory) was
// written and measured first: 3–4× slower than these calls on lavapipe at M 4096, N = K = 128,
// r 8 (91 ms vs 22–37 ms forward, 84–131 ms vs 26–65 ms backward, same process, machine loaded;
// NOTES.md), because matmul.ts's subgroup kernel is that much faster than a plain one; the extra
// passes over the (M, r) and (M, N) tensors cost less than that. So LoRA reuses it.

import type { Binding, Gpu, StepEncoder } from './runtime.js';
import { checkArray, checkBuffer, checkDims, checkOperands, type SizeCheck } from './check.js';
import { linear_backward, linear_forward, matmul } from './matmul.js';

const scratch = new WeakMap<Gpu, GPUBuffer>();
function gScratch(gpu: Gpu, elements: number): GPUBuffer {
  let b = scratch.get(gpu);
  if (!b || b.size < elements * 4) {
    // The old one is dropped, not destroyed: an encoder not yet submitted may still bind it.
    b = gpu.zeros(Math.max(elements, 1024) * 4, 'lora_backward:g');
    scratch.set(gpu, b);
  }
  return b;
}

function checkScale(name: string, scale: number): void {
  if (!Number.isFinite(scale)) throw new Error(`${name}: scale=${scale} must be a finite number (α / r)`);
}

// The argument checks of each launcher and its float64 reference (checkBuffer / checkArray):
// dimensions, scale, then every operand's element count.
function checkForward<T>(name: string, check: SizeCheck<T>, o: { out: T; xa: T; inp: T; weight: T; bias: T | null; loraA: T; loraB: T },
  M: number, N: number, K: number, r: number, scale: number): void {
  checkDims(name, { M, N, K, r });
  checkScale(name, scale);
  checkOperands(name, check, { out: M * N, xa: M * r, inp: M * K, weight: N * K, bias: N, loraA: r * K, loraB: N * r }, o);
}
function checkBackward<T>(name: string, check: SizeCheck<T>,
  o: { dinp: T | null; dA: T | null; dB: T | null; dout: T; inp: T; xa: T; weight: T; loraA: T; loraB: T },
  M: number, N: number, K: number, r: number, scale: number): void {
  checkDims(name, { M, N, K, r });
  checkScale(name, scale);
  checkOperands(name, check, { dinp: M * K, dA: r * K, dB: N * r, dout: M * N, inp: M * K, xa: M * r, weight: N * K, loraA: r * K, loraB: N * r }, o);
}
function checkMerge<T>(name: string, check: SizeCheck<T>, o: { weight: T; loraA: T; loraB: T }, N: number, K: number, r: number, scale: number): void {
  checkDims(name, { N, K, r });
  checkScale(name, scale);
  checkOperands(name, check, { weight: N * K, loraA: r * K, loraB: N * r }, o);
}

/** out = inp·Wᵀ + bias + scale·(inp·Aᵀ)·Bᵀ; xa = inp·Aᵀ is written for the backward. */
export function lora_forward(
  gpu: Gpu, enc: StepEncoder, out: Binding, xa: Binding, inp: Binding, weight: Binding, bias: Binding | null,
  loraA: Binding, loraB: Binding, M: number, N: number, K: number, r: number, scale: number,
): void {
  checkForward('lora_forward', checkBuffer, { out, xa, inp, weight, bias, loraA, loraB }, M, N, K, r, scale);
  linear_forward(gpu, enc, out, inp, weight, bias, M, N, K);
  lora_adapter_forward(gpu, enc, out, xa, inp, loraA, loraB, M, N, K, r, scale);
}

/**
 * The adapter alone, on top of a linear layer's output: xa = x·Aᵀ ; out += scale·xa·Bᵀ. The model
 * calls this after its own linear_forward (or int8 / frozen-prefix paths), with x = the layer's
 * input, or that input after LoRA dropout (PEFT applies lora_dropout to the adapter's input only).
 */
export function lora_adapter_forward(
  gpu: Gpu, enc: StepEncoder, out: Binding, xa: Binding, x: Binding, loraA: Binding, loraB: Binding,
  M: number, N: number, K: number, r: number, scale: number,
): void {
  checkDims('lora_adapter_forward', { M, N, K, r });
  checkScale('lora_adapter_forward', scale);
  checkOperands('lora_adapter_forward', checkBuffer, { out: M * N, xa: M * r, x: M * K, loraA: r * K, loraB: N * r }, { out, xa, x, loraA, loraB });
  linear_forward(gpu, enc, xa, x, loraA, null, M, r, K);
  matmul(gpu, enc, { out, a: xa, b: loraB, M, N, K: r, transB: true, alpha: scale, accumulate: true });
}

/**
 * dB += scale·doutᵀ·xa ; dA += (scale·dout·B)ᵀ·inp ; dinp = dout·W + scale·(dout·B)·A
 * (dinp += … when accumulateDinp). Any of dinp, dA, dB may be null to skip it.
 */
export function lora_backward(
  gpu: Gpu, enc: StepEncoder, dinp: Binding | null, dA: Binding | null, dB: Binding | null, dout: Binding,
  inp: Binding, xa: Binding, weight: Binding, loraA: Binding, loraB: Binding,
  M: number, N: number, K: number, r: number, scale: number, accumulateDinp = false,
): void {
  checkBackward('lora_backward', checkBuffer, { dinp, dA, dB, dout, inp, xa, weight, loraA, loraB }, M, N, K, r, scale);
  if (dinp) linear_backward(gpu, enc, dinp, null, null, dout, inp, weight, M, N, K, accumulateDinp);
  lora_adapter_backward(gpu, enc, dinp, dA, dB, dout, inp, xa, loraA, loraB, M, N, K, r, scale, true);
}

/**
 * The adapter's backward alone: dB += scale·doutᵀ·xa ; g = scale·dout·B ; dA += gᵀ·x ;
 * dx = g·A, added to dx (accumulateDx) or written over it — the model writes it apart when LoRA
 * dropout must be undone before it joins the layer's dinp. `g` (M × r): scratch, or the caller's.
 */
export function lora_adapter_backward(
  gpu: Gpu, enc: StepEncoder, dx: Binding | null, dA: Binding | null, dB: Binding | null, dout: Binding,
  x: Binding, xa: Binding, loraA: Binding, loraB: Binding,
  M: number, N: number, K: number, r: number, scale: number, accumulateDx: boolean, g: Binding | null = null,
): void {
  const name = 'lora_adapter_backward';
  checkDims(name, { M, N, K, r });
  checkScale(name, scale);
  checkOperands(name, checkBuffer, { dx: M * K, dA: r * K, dB: N * r, dout: M * N, x: M * K, xa: M * r, loraA: r * K, loraB: N * r, g: M * r },
    { dx, dA, dB, dout, x, xa, loraA, loraB, g });
  if (dB) matmul(gpu, enc, { out: dB, a: dout, b: xa, M: N, N: r, K: M, transA: true, alpha: scale, accumulate: true });
  if (!dA && !dx) return;
  const gBuf = g ?? gScratch(gpu, M * r);
  matmul(gpu, enc, { out: gBuf, a: dout, b: loraB, M, N: r, K: N, alpha: scale });
  if (dA) matmul(gpu, enc, { out: dA, a: gBuf, b: x, M: r, N: K, K: M, transA: true, accumulate: true });
  if (dx) matmul(gpu, enc, { out: dx, a: gBuf, b: loraA, M, N: K, K: r, accumulate: accumulateDx });
}

// ------------------------------------------------------------------ float64 references

export function lora_forward_reference(
  out: Float64Array, xa: Float64Array, inp: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number> | null,
  loraA: ArrayLike<number>, loraB: ArrayLike<number>, M: number, N: number, K: number, r: number, scale: number,
): void {
  checkForward('lora_forward_reference', checkArray, { out, xa, inp, weight, bias, loraA, loraB }, M, N, K, r, scale);
  for (let i = 0; i < M; i++) {
    for (let q = 0; q < r; q++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += inp[i * K + k] * loraA[q * K + k];
      xa[i * r + q] = s;
    }
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += inp[i * K + k] * weight[n * K + k];
      let u = 0;
      for (let q = 0; q < r; q++) u += xa[i * r + q] * loraB[n * r + q];
      out[i * N + n] = s + scale * u;
    }
  }
}

export function lora_backward_reference(
  dinp: Float64Array | null, dA: Float64Array | null, dB: Float64Array | null, dout: ArrayLike<number>,
  inp: ArrayLike<number>, xa: ArrayLike<number>, weight: ArrayLike<number>, loraA: ArrayLike<number>, loraB: ArrayLike<number>,
  M: number, N: number, K: number, r: number, scale: number, accumulateDinp = false,
): void {
  checkBackward('lora_backward_reference', checkArray, { dinp, dA, dB, dout, inp, xa, weight, loraA, loraB }, M, N, K, r, scale);
  const g = new Float64Array(M * r); // scale · dout·B
  for (let i = 0; i < M; i++) {
    for (let q = 0; q < r; q++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dout[i * N + n] * loraB[n * r + q];
      g[i * r + q] = scale * s;
    }
  }
  if (dB) {
    for (let n = 0; n < N; n++) {
      for (let q = 0; q < r; q++) {
        let s = 0;
        for (let i = 0; i < M; i++) s += dout[i * N + n] * xa[i * r + q];
        dB[n * r + q] += scale * s;
      }
    }
  }
  if (dA) {
    for (let q = 0; q < r; q++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let i = 0; i < M; i++) s += g[i * r + q] * inp[i * K + k];
        dA[q * K + k] += s;
      }
    }
  }
  if (dinp) {
    for (let i = 0; i < M; i++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += dout[i * N + n] * weight[n * K + k];
        for (let q = 0; q < r; q++) s += g[i * r + q] * loraA[q * K + k];
        dinp[i * K + k] = accumulateDinp ? dinp[i * K + k] + s : s;
      }
    }
  }
}

/** weight (N, K) += scale·B·A in float64 (fold the adapter into the frozen weight). */
export function lora_merge_reference(weight: Float64Array, loraA: ArrayLike<number>, loraB: ArrayLike<number>, N: number, K: number, r: number, scale: number): void {
  checkMerge('lora_merge_reference', checkArray, { weight, loraA, loraB }, N, K, r, scale);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let q = 0; q < r; q++) s += loraB[n * r + q] * loraA[q * K + k];
      weight[n * K + k] += scale * s;
    }
  }
}
