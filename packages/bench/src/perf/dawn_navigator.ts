// navigator.gpu for the JavaScript peers of `bench peers` (tfjs-webgpu, jax-webgpu), which look for
// WebGPU where a browser has it. In Node the `webgpu` package (Dawn) provides it: its globals
// (GPUBufferUsage, ...) and a GPU object from create(). That object is created once and kept for
// the process's life: dropping it while a device lives makes Dawn abort later (webgpu 0.6.2).
// Both peers share it, and both also read navigator.userAgent.

let dawnGpu: unknown = null;

/** Set globalThis.navigator = { gpu: Dawn's GPU object, userAgent: 'node' }; throws when the webgpu package cannot load. */
export async function provideDawnNavigator(): Promise<unknown> {
  let webgpu: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (e) {
    throw new Error(`the webgpu package cannot be loaded: ${(e as Error).message}`);
  }
  Object.assign(globalThis, webgpu.globals);
  dawnGpu ??= webgpu.create([]);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawnGpu, userAgent: 'node' }, configurable: true });
  return dawnGpu;
}
