// The runtime: survives garbage collection of everything but itself, names kernels in GPU
// errors, caches pipelines, reads buffers back, and exits by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dawnFlagsFromEnv, GpuError, matmul_forward, NO_ADAPTER_HELP, openGpu, type Gpu } from '../src/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));

// Open the device inside a function that drops every other reference, so only the Gpu object
// can keep Dawn's create() result alive; then force GC before dispatching.
async function openAndForget(): Promise<Gpu> {
  const gpu = await openGpu();
  return gpu;
}

test('a device survives forced garbage collection between open and dispatch', async () => {
  assert.equal(typeof global.gc, 'function', 'run with node --expose-gc');
  const gpu = await openAndForget();
  for (let i = 0; i < 5; i++) {
    global.gc!();
    await new Promise((r) => setTimeout(r, 10));
  }
  const M = 33, N = 17, K = 9;
  const a = gpu.buffer(Float32Array.from({ length: M * K }, (_, i) => (i % 7) - 3));
  const b = gpu.buffer(Float32Array.from({ length: K * N }, (_, i) => (i % 5) - 2));
  const c = gpu.zeros(M * N * 4);
  for (let round = 0; round < 3; round++) {
    const enc = gpu.encoder();
    matmul_forward(gpu, enc, c, a, b, null, M, N, K);
    await enc.submit();
    global.gc!();
    const out = await gpu.read(c);
    assert.equal(out.length, M * N);
    // c[0][0] = Σ_k a[0][k]·b[k][0], computed by hand from the fill patterns.
    let want = 0;
    for (let k = 0; k < K; k++) want += ((k % 7) - 3) * (((k * N) % 5) - 2);
    assert.equal(out[0], want);
  }
  gpu.destroy();
});

test('a pipeline is compiled once per source and constants', async () => {
  const gpu = await openGpu();
  const code = '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\noverride S: f32 = 1.0;\n@compute @workgroup_size(1) fn main() { x[0] = S; }';
  const p1 = gpu.pipeline('fill_one', code, { S: 2 });
  const p2 = gpu.pipeline('fill_one', code, { S: 2 });
  const p3 = gpu.pipeline('fill_one', code, { S: 3 });
  assert.equal(p1, p2);
  assert.notEqual(p1, p3);
  const x = gpu.zeros(4);
  const enc = gpu.encoder();
  enc.dispatch(p3, [x], 1);
  await enc.submit();
  assert.deepEqual(Array.from(await gpu.read(x)), [3]);
  gpu.destroy();
});

test('a WGSL compile error is thrown and names the kernel', async () => {
  const gpu = await openGpu();
  gpu.pipeline('broken_kernel', '@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }');
  await assert.rejects(gpu.checkPipelines(), (e: unknown) => {
    assert.ok(e instanceof GpuError);
    assert.match((e as Error).message, /broken_kernel/);
    return true;
  });
  gpu.destroy();
});

test('a validation error at dispatch is thrown and names the kernel', async () => {
  const gpu = await openGpu();
  const code = '@group(0) @binding(0) var<storage, read_write> x: array<f32>;\n@compute @workgroup_size(1) fn main() { x[0] = 1.0; }';
  const p = gpu.pipeline('writes_x', code);
  // A uniform-only buffer bound as storage: invalid bind group.
  const wrong = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM });
  const enc = gpu.encoder();
  gpu.device.pushErrorScope('validation');
  enc.dispatch(p, [wrong], 1);
  const bindErr = await gpu.device.popErrorScope();
  assert.ok(bindErr, 'binding a uniform buffer as storage must be invalid');
  await assert.rejects(enc.submit(), (e: unknown) => {
    assert.ok(e instanceof GpuError);
    assert.match((e as Error).message, /writes_x/);
    return true;
  });
  gpu.destroy();
});

test('reads back typed arrays and parts of buffers', async () => {
  const gpu = await openGpu();
  const data = Int32Array.from([5, -6, 7, -8, 9]);
  const buf = gpu.buffer(data);
  assert.deepEqual(Array.from(await gpu.read(buf, Int32Array, 5)), [5, -6, 7, -8, 9]);
  assert.deepEqual(Array.from(await gpu.read(buf, Int32Array, 2, 2)), [7, -8]);
  gpu.destroy();
});

test('TUNEBENCH_DAWN_FLAGS is split on commas and spaces', () => {
  assert.deepEqual(dawnFlagsFromEnv({ TUNEBENCH_DAWN_FLAGS: 'disable-dawn-features=timestamp_quantization, enable-dawn-features=allow_unsafe_apis' }), [
    'disable-dawn-features=timestamp_quantization',
    'enable-dawn-features=allow_unsafe_apis',
  ]);
  assert.deepEqual(dawnFlagsFromEnv({}), []);
});

test('the process exits by itself after destroy()', () => {
  const script = `import { openGpu } from '${here}../src/index.ts';
const gpu = await openGpu(); gpu.zeros(64); gpu.destroy(); console.log('done');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /done/);
});

test('with no adapter, openGpu names what to install', () => {
  // Point the Vulkan loader at an empty ICD list: Dawn then finds no adapter at all.
  const script = `import { openGpu } from '${here}../src/index.ts';
try { await openGpu(); console.log('opened'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent.json', VK_DRIVER_FILES: '/nonexistent.json' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /NoAdapterError: No WebGPU adapter was found/);
  assert.match(r.stdout, /mesa-vulkan-drivers/);
  assert.ok(NO_ADAPTER_HELP.includes('bookworm-backports'));
});

test('kernels can bind a 256-byte-aligned range of a flat buffer', async () => {
  const gpu = await openGpu();
  // Two 2×2 matrices stored 64 floats apart in one buffer, as a flat parameter store does.
  const flat = new Float32Array(128);
  flat.set([1, 2, 3, 4], 0);
  flat.set([5, 6, 7, 8], 64);
  const store = gpu.buffer(flat);
  const c = gpu.zeros(16);
  const enc = gpu.encoder();
  matmul_forward(gpu, enc, c, { buffer: store, offset: 0, size: 16 }, { buffer: store, offset: 256, size: 16 }, null, 2, 2, 2);
  assert.throws(
    () => matmul_forward(gpu, enc, c, { buffer: store, offset: 0, size: 8 }, store, null, 2, 2, 2),
    /buffer 'a' holds 2 elements, needs 4/,
  );
  await enc.submit();
  assert.deepEqual(Array.from(await gpu.read(c)), [19, 22, 43, 50]);
  gpu.destroy();
});

// Per-step uniforms (a dropout key, a loss normaliser) must not pile up: the caches are trimmed
// after submits, and a trim never destroys a uniform an encoder still recording has bound.
test('uniform and bind-group caches stay bounded and never free what an open encoder binds', async () => {
  const gpu = await openGpu();
  gpu.cacheLimits = { uniforms: 16, bindGroups: 24 };
  const WGSL = `struct P { a: u32, b: u32, c: u32, d: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> o: array<u32>;
@compute @workgroup_size(1) fn main() { o[p.b] = p.a * 3u + 1u; }`;
  const pipe = gpu.pipeline('uniform_echo', WGSL);
  const out = gpu.zeros(4 * 4);
  // An encoder opened first and submitted last: its uniform must survive every trim in between.
  const early = gpu.encoder('early');
  early.dispatch(pipe, [gpu.uniform([1_000_000, 3, 0, 0]), out], 1);
  let maxSizes = { uniforms: 0, bindGroups: 0 };
  for (let step = 0; step < 200; step++) {
    const enc = gpu.encoder();
    enc.dispatch(pipe, [gpu.uniform([step, 0, 0, 0]), out], 1);
    enc.dispatch(pipe, [gpu.uniform([7, 1, 0, 0]), out], 1); // repeats every step
    await enc.submit();
    const s = gpu.cacheSizes;
    maxSizes = { uniforms: Math.max(maxSizes.uniforms, s.uniforms), bindGroups: Math.max(maxSizes.bindGroups, s.bindGroups) };
    if (step % 50 === 49) {
      const got = await gpu.read(out, Uint32Array);
      assert.deepEqual(Array.from(got.slice(0, 2)), [step * 3 + 1, 22]);
    }
  }
  await early.submit();
  const got = await gpu.read(out, Uint32Array);
  assert.equal(got[3], 3_000_001);
  // Bounded by the limit plus what one trim interval adds (the early encoder pins only its own).
  assert.ok(maxSizes.uniforms <= 16 + 3, `uniform cache grew to ${maxSizes.uniforms}`);
  assert.ok(maxSizes.bindGroups <= 24 + 3, `bind-group cache grew to ${maxSizes.bindGroups}`);
  gpu.destroy();
});
