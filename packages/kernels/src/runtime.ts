// The GPU runtime: one object that owns the WebGPU device for its whole life.
//
// Why an object and not module globals: Dawn's node binding aborts the process (futex / mutex
// errors, segfaults) if the GPU object returned by `create()` is garbage-collected while a device
// made from it is still in use. `Gpu` holds that object in a field for as long as the device
// lives, and `destroy()` releases both together. See ../../shared/notes/performance-here.md.
//
// Everything a kernel launcher needs lives here: a pipeline cache keyed by WGSL source and
// override constants, buffer helpers, cached uniform and bind-group objects (shapes repeat every
// step), and a StepEncoder that records many dispatches into one command buffer and submits once.

import { create, globals } from 'webgpu';
import { installDawnPollBackoff } from './dawn_poll.js';
import { countDispatch, newCounters, snapshotCounters, workgroupSizeOf, type GpuCounters } from './counters.js';
import { slowdownFromEnv, type Slowdown } from './slowdown.js';

/** What to install when no adapter exists. Printed by openGpu(), doctor and the tests. */
export const NO_ADAPTER_HELP = [
  'No WebGPU adapter was found.',
  'tunebench needs a GPU driver with Vulkan, Metal or D3D12, or the software Vulkan driver (Mesa lavapipe):',
  '  Debian/Ubuntu: mesa-vulkan-drivers >= 23 and libvulkan1, e.g. on Debian 12 (bookworm), as root:',
  "    echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list",
  '    apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1',
  "  (Dawn refuses Mesa 22's lavapipe, the version in bookworm itself.)",
  "  Or run 'npm run setup', which does this when it runs as root on Debian/Ubuntu.",
].join('\n');

export class NoAdapterError extends Error {
  constructor(detail?: string) {
    super(NO_ADAPTER_HELP + (detail ? `\n(${detail})` : ''));
    this.name = 'NoAdapterError';
  }
}

/** An error raised by the GPU (validation, out-of-memory, device lost), naming the kernel. */
export class GpuError extends Error {
  constructor(message: string, readonly kernel?: string) {
    super(kernel ? `GPU error in kernel '${kernel}': ${message}` : `GPU error: ${message}`);
    this.name = 'GpuError';
  }
}

/** Optional features we ask for when the adapter offers them. */
const WANTED_FEATURES = ['timestamp-query', 'shader-f16', 'subgroups'] as const;

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU / software adapters such as lavapipe. */
  isSoftware: boolean;
}

export interface OpenGpuOptions {
  /** Dawn toggles, e.g. ['disable-dawn-features=timestamp_quantization']. Defaults to TUNEBENCH_DAWN_FLAGS. */
  dawnFlags?: string[];
  powerPreference?: GPUPowerPreference;
  /** Features to skip even when offered (tests use this to exercise fallbacks). */
  disableFeatures?: string[];
}

/** Parse TUNEBENCH_DAWN_FLAGS: a comma- or space-separated list of Dawn options. */
export function dawnFlagsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.TUNEBENCH_DAWN_FLAGS ?? '';
  return raw.split(/[\s,]+/).filter((s) => s.length > 0);
}

let globalsInstalled = false;
function installGlobals(): void {
  if (globalsInstalled) return;
  // GPUBufferUsage, GPUMapMode, ... are used by launchers; the binding provides them.
  for (const [k, v] of Object.entries(globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  globalsInstalled = true;
}

/**
 * Open the first WebGPU adapter and a device on it. Throws NoAdapterError (with what to install)
 * when there is none.
 */
export async function openGpu(options: OpenGpuOptions = {}): Promise<Gpu> {
  // Dawn's Vulkan loader wants a runtime directory; CI containers often have none.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  installGlobals();
  installDawnPollBackoff();
  const flags = options.dawnFlags ?? dawnFlagsFromEnv();
  let navigatorGpu: GPU;
  try {
    navigatorGpu = create(flags) as GPU;
  } catch (e) {
    throw new NoAdapterError(`Dawn failed to start: ${(e as Error).message}`);
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await navigatorGpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw new NoAdapterError(`requestAdapter failed: ${(e as Error).message}`);
  }
  if (!adapter) throw new NoAdapterError();

  const disabled = new Set(options.disableFeatures ?? []);
  const requiredFeatures = WANTED_FEATURES.filter(
    (f) => adapter!.features.has(f) && !disabled.has(f),
  ) as GPUFeatureName[];
  // Ask for the adapter's own limits: the defaults (128 MiB per storage binding, 8 storage
  // buffers per stage) are too small for vocabulary projections and fused kernels.
  const requiredLimits: Record<string, number> = {};
  for (const key of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupsPerDimension',
  ] as const) {
    const v = (adapter.limits as unknown as Record<string, number>)[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'tunebench' });
  const info = adapter.info;
  const description: AdapterDescription = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    isSoftware: /llvmpipe|lavapipe|swiftshader|software|cpu/i.test(
      `${info.vendor} ${info.architecture} ${info.device} ${info.description}`,
    ),
  };
  return new Gpu(navigatorGpu, adapter, device, description, new Set(requiredFeatures), flags);
}

export type TypedArray = Float32Array | Int32Array | Uint32Array;

/**
 * What a kernel binds: a whole buffer, or a range of one ({ buffer, offset, size } in bytes;
 * offset a multiple of minStorageBufferOffsetAlignment, 256 on every adapter we know). Ranges let
 * a model keep all its parameters (or gradients, or optimizer moments) in one flat buffer.
 */
export type Binding = GPUBuffer | GPUBufferBinding;

/** Size in bytes a binding covers. */
export function bindingSize(b: Binding): number {
  if (isBuffer(b)) return b.size;
  return b.size ?? b.buffer.size - (b.offset ?? 0);
}

/** Byte offset of a binding into its buffer (0 for a whole buffer). */
export function bindingOffset(b: Binding): number {
  return isBuffer(b) ? 0 : (b.offset ?? 0);
}

function isBuffer(b: Binding): b is GPUBuffer {
  return !('buffer' in b && typeof (b as GPUBufferBinding).buffer === 'object');
}

function bindingKey(b: Binding): string {
  if (isBuffer(b)) return String(bufferId(b));
  return `${bufferId(b.buffer)}@${b.offset ?? 0}+${b.size ?? ''}`;
}

export interface PipelineEntry {
  pipeline: GPUComputePipeline;
  label: string;
  /** Invocations per workgroup, read from the WGSL (null if it could not be); for the counters. */
  workgroupSize?: number | null;
}

interface Dispatch {
  entry: PipelineEntry;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
  bytesBound: number;
  flops: number;
}

let nextBufferId = 1;
const bufferIds = new WeakMap<GPUBuffer, number>();
function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) {
    id = nextBufferId++;
    bufferIds.set(b, id);
  }
  return id;
}

interface UniformEntry {
  key: string;
  buffer: GPUBuffer;
  /** Gpu.submitCount when last returned by uniform(). */
  lastUse: number;
  /** Open encoders that have bound it. */
  holders: number;
}

export class Gpu {
  /** Kept for the device's whole life: see the note at the top of this file. */
  private readonly navigatorGpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly adapterInfo: AdapterDescription;
  readonly features: ReadonlySet<string>;
  readonly dawnFlags: readonly string[];
  private readonly pipelines = new Map<string, PipelineEntry>();
  /** Uniform buffers by content, with the submit count at their last use (see trimCaches). */
  private readonly uniforms = new Map<string, UniformEntry>();
  private readonly uniformByBuffer = new WeakMap<GPUBuffer, UniformEntry>();
  private readonly bindGroups = new Map<GPUComputePipeline, Map<string, GPUBindGroup>>();
  private bindGroupCount = 0;
  /** Encoders recorded but not yet submitted, with the uniforms each has bound. */
  private readonly openEncoders = new Map<StepEncoder, Set<UniformEntry>>();
  private submitCount = 0;
  /** Cache sizes above which trimCaches() evicts (tests lower them). */
  cacheLimits = { uniforms: 2048, bindGroups: 4096 };
  private readonly pendingScopes: Promise<void>[] = [];
  private lostError: GpuError | null = null;
  private uncaptured: GpuError | null = null;
  private destroyed = false;
  /** Structural counters of everything done through this object (counters.ts); never reset, diff snapshots. */
  readonly counters: GpuCounters = newCounters();
  /** TUNEBENCH_SLOWDOWN, read once: kernels whose work is repeated on purpose (slowdown.ts). */
  readonly slowdown: Slowdown | null = slowdownFromEnv();

  constructor(
    navigatorGpu: GPU,
    adapter: GPUAdapter,
    device: GPUDevice,
    info: AdapterDescription,
    features: Set<string>,
    dawnFlags: string[],
  ) {
    this.navigatorGpu = navigatorGpu;
    this.adapter = adapter;
    this.device = device;
    this.adapterInfo = info;
    this.features = features;
    this.dawnFlags = dawnFlags;
    device.lost.then((lost) => {
      if (!this.destroyed) this.lostError = new GpuError(`device lost (${lost.reason}): ${lost.message}`);
    });
    device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.uncaptured ??= new GpuError(err.message, labelIn(err.message));
    });
  }

  /** The GPU object this device came from (exposed so nothing else needs to hold it). */
  get gpu(): GPU {
    return this.navigatorGpu;
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** A copy of the counters now (diff two with countersDelta). */
  snapshotCounters(): GpuCounters {
    return snapshotCounters(this.counters);
  }

  has(feature: string): boolean {
    return this.features.has(feature);
  }

  /** Throws the first error the device reported since the last check. */
  private throwIfFailed(): void {
    if (this.destroyed) throw new GpuError('the device was destroyed');
    const e = this.lostError ?? this.uncaptured;
    if (e) {
      this.uncaptured = null;
      throw e;
    }
  }

  /** Await compile errors of pipelines created since the last check. */
  async checkPipelines(): Promise<void> {
    const pending = this.pendingScopes.splice(0);
    await Promise.all(pending);
    this.throwIfFailed();
  }

  /**
   * A compute pipeline for `code`, cached by source and override constants. `label` names the
   * kernel in every error Dawn reports about it.
   */
  pipeline(label: string, code: string, constants: Record<string, number> = {}, entryPoint = 'main'): PipelineEntry {
    const constKey = Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`)
      .join(',');
    const key = `${entryPoint}\u0000${constKey}\u0000${code}`;
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label, code });
    const pipeline = this.device.createComputePipeline({
      label,
      layout: 'auto',
      compute: { module, entryPoint, constants },
    });
    this.pendingScopes.push(
      this.device.popErrorScope().then((err) => {
        if (err) this.uncaptured ??= new GpuError(err.message, label);
      }),
    );
    const entry = { pipeline, label, workgroupSize: workgroupSizeOf(code, constants, entryPoint) };
    this.pipelines.set(key, entry);
    this.counters.pipelinesCompiled++;
    return entry;
  }

  /** A storage buffer holding a copy of `data`. */
  buffer(data: TypedArray, label = 'buffer', extraUsage = 0): GPUBuffer {
    const size = Math.max(4, align4(data.byteLength));
    const buf = this.device.createBuffer({
      label,
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
      mappedAtCreation: true,
    });
    this.countAllocation(size);
    const Ctor = data.constructor as { new (b: ArrayBuffer): TypedArray };
    new Ctor(buf.getMappedRange()).set(data);
    buf.unmap();
    return buf;
  }

  /** A zero-filled storage buffer of `byteLength` bytes (WebGPU zero-initialises new buffers). */
  zeros(byteLength: number, label = 'zeros'): GPUBuffer {
    const size = Math.max(4, align4(byteLength));
    this.countAllocation(size);
    return this.device.createBuffer({
      label,
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /** Overwrite a buffer (or a part of it) from the CPU. */
  write(buffer: GPUBuffer, data: TypedArray, byteOffset = 0): void {
    this.counters.uploads++;
    this.counters.uploadBytes += data.byteLength;
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * A uniform buffer holding `words` (u32/i32/f32 bit patterns), cached by content: launchers
   * call this every dispatch with the same shapes, and get the same buffer back.
   */
  uniform(words: ArrayLike<number>, kind: 'u32' | 'f32' = 'u32'): GPUBuffer {
    const data = kind === 'u32' ? Uint32Array.from(words) : new Uint32Array(Float32Array.from(words).buffer);
    const padded = new Uint32Array(Math.max(4, Math.ceil(data.length / 4) * 4));
    padded.set(data);
    const key = Array.from(padded).join(',');
    const hit = this.uniforms.get(key);
    if (hit) {
      hit.lastUse = this.submitCount;
      return hit.buffer;
    }
    const buf = this.device.createBuffer({
      label: 'uniform',
      size: padded.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Uint32Array(buf.getMappedRange()).set(padded);
    buf.unmap();
    this.countAllocation(padded.byteLength);
    const entry = { key, buffer: buf, lastUse: this.submitCount, holders: 0 };
    this.uniforms.set(key, entry);
    this.uniformByBuffer.set(buf, entry);
    return buf;
  }

  /** Number of cached uniform buffers and bind groups (for tests and the counters). */
  get cacheSizes(): { uniforms: number; bindGroups: number } {
    return { uniforms: this.uniforms.size, bindGroups: this.bindGroupCount };
  }

  /**
   * Keep the uniform and bind-group caches bounded. Most uniforms repeat every step (shapes),
   * but some change every step (a dropout key, a loss normaliser) and activation buffers are
   * re-created when batch shapes change; cached forever, they grew ~1 MB a step and Dawn
   * crashed (SIGSEGV) after ~700 fine-tuning steps. Called after each submit: destroys the
   * uniforms neither used since the last submit nor bound by an encoder still recording (a
   * submitted command buffer keeps its buffers alive until it has run: WebGPU defers the free),
   * and drops every cached bind group (recorded dispatches keep their own reference).
   */
  private trimCaches(): void {
    if (this.uniforms.size > this.cacheLimits.uniforms) {
      let evicted = 0;
      for (const [key, u] of this.uniforms) {
        if (u.holders > 0 || u.lastUse >= this.submitCount) continue;
        u.buffer.destroy();
        this.uniforms.delete(key);
        evicted++;
      }
      if (evicted > 0) this.clearBindGroups();
    }
    if (this.bindGroupCount > this.cacheLimits.bindGroups) this.clearBindGroups();
  }

  private clearBindGroups(): void {
    this.bindGroups.clear();
    this.bindGroupCount = 0;
  }

  /** A bind group binding `buffers` to @binding(0..n-1) of group 0, cached per pipeline and buffers. */
  bindGroup(entry: PipelineEntry, buffers: Binding[]): GPUBindGroup {
    let perPipeline = this.bindGroups.get(entry.pipeline);
    if (!perPipeline) {
      perPipeline = new Map();
      this.bindGroups.set(entry.pipeline, perPipeline);
    }
    const key = buffers.map(bindingKey).join(',');
    let bg = perPipeline.get(key);
    if (!bg) {
      bg = this.device.createBindGroup({
        label: entry.label,
        layout: entry.pipeline.getBindGroupLayout(0),
        entries: buffers.map((b, binding) => ({ binding, resource: isBuffer(b) ? { buffer: b } : b })),
      });
      perPipeline.set(key, bg);
      this.bindGroupCount++;
    }
    return bg;
  }

  /** Start recording a step: many dispatches, one command buffer, one submit. */
  encoder(label = 'step'): StepEncoder {
    this.throwIfFailed();
    const enc = new StepEncoder(this, label);
    this.openEncoders.set(enc, new Set());
    return enc;
  }

  /** @internal StepEncoder.dispatch: the cached uniforms among `buffers` must outlive `enc`'s submit. */
  holdUniforms(enc: StepEncoder, buffers: Binding[]): void {
    const held = this.openEncoders.get(enc);
    if (!held) return;
    for (const b of buffers) {
      const u = this.uniformByBuffer.get(isBuffer(b) ? b : b.buffer);
      if (u && !held.has(u)) {
        held.add(u);
        u.holders++;
      }
    }
  }

  /** @internal StepEncoder.submit: what the encoder bound may be trimmed from now on. */
  closeEncoder(enc: StepEncoder): void {
    const held = this.openEncoders.get(enc);
    if (!held) return;
    for (const u of held) u.holders--;
    this.openEncoders.delete(enc);
  }

  /**
   * Build a command buffer with `build` and submit it, inside error scopes so that a validation
   * or out-of-memory error from encoding or running it is thrown here, naming the kernels.
   */
  async submit(build: () => GPUCommandBuffer, kernels: string[]): Promise<void> {
    await this.checkPipelines();
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.queue.submit([build()]);
    this.counters.submits++;
    this.submitCount++;
    const validation = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    const err = validation ?? oom;
    if (err) throw new GpuError(err.message, labelIn(err.message) ?? kernels.join(', '));
    this.throwIfFailed();
    this.trimCaches();
  }

  /** Wait until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfFailed();
  }

  /** Copy a buffer (or `count` elements from `offsetElements`) back to the CPU. */
  async read<T extends TypedArray = Float32Array>(
    buffer: GPUBuffer,
    ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number } = Float32Array as unknown as {
      new (b: ArrayBuffer): T;
      BYTES_PER_ELEMENT: number;
    },
    count?: number,
    offsetElements = 0,
  ): Promise<T> {
    await this.checkPipelines();
    const bytes = count === undefined ? buffer.size - offsetElements * 4 : count * ctor.BYTES_PER_ELEMENT;
    const size = Math.max(4, align4(bytes));
    const staging = this.device.createBuffer({
      label: `${buffer.label}:readback`,
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder({ label: 'readback' });
    enc.copyBufferToBuffer(buffer, offsetElements * ctor.BYTES_PER_ELEMENT, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    this.counters.submits++;
    this.counters.readbacks++;
    this.counters.readbackBytes += bytes;
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.throwIfFailed();
      throw new GpuError(`reading back '${buffer.label}' failed: ${(e as Error).message}`);
    }
    const out = new ctor(staging.getMappedRange().slice(0, bytes));
    staging.unmap();
    staging.destroy();
    this.throwIfFailed();
    return out;
  }

  /** Release the device (and with it the GPU object); lets the process exit by itself. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const u of this.uniforms.values()) u.buffer.destroy();
    this.uniforms.clear();
    this.clearBindGroups();
    this.pipelines.clear();
    this.device.destroy();
  }

  private countAllocation(bytes: number): void {
    this.counters.buffersCreated++;
    this.counters.bytesAllocated += bytes;
  }
}

/** Records dispatches into one compute pass of one command buffer; submit() sends them at once. */
export class StepEncoder {
  private readonly dispatches: Dispatch[] = [];
  private submitted = false;

  constructor(
    private readonly gpu: Gpu,
    readonly label: string,
  ) {}

  /**
   * Record one dispatch of `entry` with `buffers` bound to @binding(0..n-1) in order. `flops`: the
   * floating-point operations of this dispatch, where the launcher knows them from the shapes (the
   * counters sum them; a multiply-add counts 2).
   */
  dispatch(entry: PipelineEntry, buffers: Binding[], x: number, y = 1, z = 1, flops = 0): void {
    if (this.submitted) throw new Error(`step '${this.label}' was already submitted`);
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    for (const [axis, n] of [['x', x], ['y', y], ['z', z]] as const) {
      if (!Number.isInteger(n) || n < 1 || n > max) {
        throw new Error(`kernel '${entry.label}': workgroup count ${axis}=${n} must be an integer in [1, ${max}]`);
      }
    }
    const bytesBound = buffers.reduce((sum, b) => sum + bindingSize(b), 0);
    this.gpu.holdUniforms(this, buffers);
    this.dispatches.push({ entry, bindGroup: this.gpu.bindGroup(entry, buffers), workgroups: [x, y, z], bytesBound, flops });
  }

  /** Number of dispatches recorded so far. */
  get size(): number {
    return this.dispatches.length;
  }

  /** Encode every recorded dispatch into one command buffer and submit it. */
  async submit(): Promise<void> {
    if (this.submitted) throw new Error(`step '${this.label}' was already submitted`);
    this.submitted = true;
    if (this.dispatches.length === 0) {
      this.gpu.closeEncoder(this);
      return;
    }
    const build = () => {
      const enc = this.gpu.device.createCommandEncoder({ label: this.label });
      const pass = enc.beginComputePass({ label: this.label });
      const counters = this.gpu.counters, slowdown = this.gpu.slowdown;
      for (const d of this.dispatches) {
        pass.setPipeline(d.entry.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        // The work of a dispatch, then any extra copies TUNEBENCH_SLOWDOWN asks for (slowdown.ts);
        // every one is counted, so the counters see an injected slow-down too.
        for (const wg of [d.workgroups, ...(slowdown ? slowdown.extra(d.entry.label, d.workgroups) : [])]) {
          pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
          const share = (wg[0] * wg[1] * wg[2]) / (d.workgroups[0] * d.workgroups[1] * d.workgroups[2]);
          countDispatch(counters, d.entry.label, wg, d.entry.workgroupSize ?? null, d.bytesBound, Math.round(d.flops * share));
        }
      }
      pass.end();
      return enc.finish();
    };
    try {
      await this.gpu.submit(
        build,
        this.dispatches.map((d) => d.entry.label),
      );
    } finally {
      this.gpu.closeEncoder(this);
    }
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** Dawn quotes object labels in its messages: [ComputePipeline "matmul_forward"]. */
function labelIn(message: string): string | undefined {
  const m = /\[(?:ComputePipeline|ShaderModule|BindGroup)[^\]]*"([^"]+)"\]/.exec(message);
  return m ? m[1] : undefined;
}
