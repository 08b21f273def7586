// Input checks shared by every launcher: a bad shape must fail before anything is dispatched,
// with a message that names the kernel and the argument.

import { bindingSize, type Binding } from './runtime.js';

/** Throws unless every named dimension is a positive integer. */
export function checkDims(kernel: string, dims: Record<string, number>): void {
  for (const [name, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`${kernel}: dimension ${name}=${v} must be a positive integer`);
    }
  }
}

/** Throws unless `buffer` holds at least `elements` 4-byte elements. */
export function checkBuffer(kernel: string, name: string, buffer: Binding, elements: number): void {
  const size = bindingSize(buffer);
  if (size < elements * 4) {
    throw new Error(`${kernel}: buffer '${name}' holds ${size / 4} elements, needs ${elements}`);
  }
}

/** Throws unless a CPU array has exactly `elements` entries. */
export function checkArray(kernel: string, name: string, a: ArrayLike<number>, elements: number): void {
  if (a.length < elements) {
    throw new Error(`${kernel}: array '${name}' has ${a.length} elements, needs ${elements}`);
  }
}

/** A size check of one operand: checkBuffer for GPU bindings, checkArray for CPU arrays. */
export type SizeCheck<T> = (kernel: string, name: string, operand: T, elements: number) => void;

/**
 * Checks each operand against its element count, in the order of `sizes`; a null (or undefined)
 * operand, an optional one left out, is skipped. A launcher passes checkBuffer and its float64
 * reference checkArray, so both check the same table of sizes.
 */
export function checkOperands<K extends string, T>(kernel: string, check: SizeCheck<T>, sizes: Record<K, number>, operands: Record<K, T | null>): void {
  for (const name of Object.keys(sizes) as K[]) {
    const operand = operands[name];
    if (operand !== null && operand !== undefined) check(kernel, name, operand, sizes[name]);
  }
}
