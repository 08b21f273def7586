// Backend selection for the CLI: 'gpu' (BertModel on WebGPU, the default) or 'cpu' (the float64
// reference model: exact, slow, for tests and tiny debugging runs).

import { ReferenceBackend } from './backend.js';
import type { BackendFactory } from './loop.js';

export const BACKEND_NAMES = ['gpu', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function backendFactory(name: string): BackendFactory {
  if (name === 'cpu') return async (a) => new ReferenceBackend(a.config, a.heads, a.store, a.lora, a.loss, a.int8 ?? false);
  if (name === 'gpu') {
    return async (a) => {
      const { createGpuBackend } = await import('./gpu_backend.js');
      return createGpuBackend(a);
    };
  }
  throw new Error(`unknown backend '${name}'; valid backends: ${BACKEND_NAMES.join(', ')}`);
}

/** Release the GPU device if one was opened (no-op otherwise). */
export async function closeBackends(): Promise<void> {
  const { closeSharedGpu } = await import('./gpu_backend.js');
  closeSharedGpu();
}
