// The GPU backend: T1's BertModel (src/model/bert.ts) + the kernels' AdamW over the trainable ranges.
// Filled in once the GPU model lands; until then it says so clearly.

import type { TrainBackend } from './backend.js';
import type { BackendArgs } from './loop.js';

export async function createGpuBackend(_a: BackendArgs): Promise<TrainBackend> {
  throw new Error("the GPU model (src/model/bert.ts) is not available in this build; run with --backend cpu (float64 reference, tiny models only)");
}
