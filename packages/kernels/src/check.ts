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
