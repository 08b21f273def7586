// One GPU per test file, for the GPU tests of every package. It uses node:test's before/after
// hooks, so it is not in the package's main export (that would load node:test into every
// program): import it as '@tunebench/kernels/test-gpu'.
import { after, before } from 'node:test';
import { openGpu, type Gpu } from './runtime.js';

/**
 * Opens a GPU before the file's first test and hands it to `use` (the file keeps it in its own
 * `gpu` variable; setup that needs the device, such as a subgroup probe, goes there too). After the
 * last test, `cleanup` runs (e.g. resetting a variant override) and the GPU is destroyed.
 */
export function gpuForTests(use: (gpu: Gpu) => unknown, cleanup?: () => void): void {
  let gpu: Gpu | undefined;
  before(async () => {
    gpu = await openGpu();
    await use(gpu);
  });
  after(() => {
    try {
      cleanup?.();
    } finally {
      gpu?.destroy();
    }
  });
}
