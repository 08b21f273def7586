// The deployment variants of a trained edge model (config.ts EDGE_VARIANTS): what is written to
// disk for each (its size is the row's size_mb) and how a batch runs through it (the HeadRunner
// that scores and times every task, net.ts). The phase opens them one after the other on the
// same trained weights (net.store), so no variant retrains anything.
//
//   fp32       the trained model on WebGPU; on disk: models/<name>/model.safetensors (saveNet)
//   int8       the same weights through the INT8 kernels (BertModel int8 mode, trainer
//              model/int8.ts: the encoder's six linears per layer, weights per output channel,
//              activations per row; embeddings, LayerNorms and heads fp32), on WebGPU; on disk:
//              models/<name>.int8/ in `tunebench export --int8`'s layout (model.int8.safetensors
//              + config.json with tunebench.quantization + vocab.txt; trainer train/int8_export.ts)
//   onnx       the trainer's ONNX export (opset 17, every head an output) run by ONNX Runtime on
//              the CPU (onnxruntime-node, `ortThreads` intra-op threads); on disk: models/<name>.onnx
//   onnx_int8  the quantised ONNX export (MatMulInteger on the int8 weights of `int8`, the input
//              quantised per row in the graph) on ONNX Runtime CPU; on disk: models/<name>.int8.onnx
//
// ONNX Runtime is imported only when an ONNX variant is opened (its native library is large).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  BertModel, CONFIG_FILE, encodeInt8Weights, INT8_FORMAT, INT8_WEIGHTS_FILE, quantizeModel, VOCAB_FILE, writeDirAtomic, writeFileAtomic,
} from '@tunebench/trainer';
import { gpuRunner, type EdgeNet, type HeadRunner } from './net.js';
import { EDGE_RUNTIMES, type EdgeVariant } from './config.js';

export { EDGE_RUNTIMES };

export interface Deployment {
  variant: EdgeVariant;
  /** What runs it (metrics.json `runtimes`, the report's runtime column). */
  runtime: string;
  /** The deployable file(s) and their size in bytes. */
  path: string;
  bytes: number;
  run: HeadRunner;
  close: () => Promise<void>;
}

/**
 * Open variant `v` of the trained `net`, whose fp32 checkpoint saveNet wrote to `modelDir`
 * (models/<name>): write its deployable file(s) beside it and return how to run it. `ortThreads`:
 * ONNX Runtime's intra-op threads (0: its own choice, all cores).
 */
export async function openDeployment(v: EdgeVariant, net: EdgeNet, modelDir: string, o: { ortThreads: number }): Promise<Deployment> {
  if (v === 'fp32') {
    const path = join(modelDir, 'model.safetensors');
    return { variant: v, runtime: EDGE_RUNTIMES[v], path, bytes: statSync(path).size, run: gpuRunner(net.gpu, net.model), close: async () => {} };
  }
  // int8 weights quantised once from the trained store: the GPU model, the export and the
  // quantised ONNX graph hold the same int8 values and scales
  const q = v === 'int8' || v === 'onnx_int8' ? quantizeModel(net.config, net.store) : null;
  if (v === 'int8') {
    const dir = `${modelDir}.int8`;
    // `tunebench export --int8`'s directory (exportInt8 reads a trainer checkpoint with a task;
    // an edge model has several, so the same three files are written here from the store)
    const config = JSON.parse(readFileSync(join(modelDir, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    config.tunebench = { ...(config.tunebench as Record<string, unknown>), quantization: { format: INT8_FORMAT, weights: INT8_WEIGHTS_FILE, linears: [...q!.keys()], source: modelDir } };
    writeDirAtomic(dir, (tmp) => {
      writeFileAtomic(join(tmp, INT8_WEIGHTS_FILE), encodeInt8Weights(net.store, q!));
      writeFileAtomic(join(tmp, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
      writeFileAtomic(join(tmp, VOCAB_FILE), readFileSync(join(modelDir, VOCAB_FILE)));
    });
    const path = join(dir, INT8_WEIGHTS_FILE);
    const model = new BertModel(net.gpu, net.config, net.heads, net.store, { int8: q! });
    return { variant: v, runtime: EDGE_RUNTIMES[v], path, bytes: statSync(path).size, run: gpuRunner(net.gpu, model), close: async () => model.destroy() };
  }
  const { buildOnnxModel, encodeOnnx, onnxHeadOutputs, ortFeeds, ortSession } = await import('@tunebench/trainer/export');
  const path = `${modelDir}${v === 'onnx_int8' ? '.int8' : ''}.onnx`;
  writeFileAtomic(path, encodeOnnx(buildOnnxModel(net.config, net.heads, net.store, { quantized: q !== null, int8: q })));
  const session = await ortSession(path, o.ortThreads > 0 ? { threads: o.ortThreads } : {});
  const outputs = onnxHeadOutputs(net.heads);
  const run: HeadRunner = async (batch, head) => {
    // fetch only the head's output: ONNX Runtime then runs only the nodes it needs, as the GPU
    // model runs one head
    const name = outputs[head]!;
    const res = await session.run(ortFeeds(batch), [name]);
    return { logits: res[name]!.data as Float32Array, loss: Number.NaN };
  };
  return { variant: v, runtime: `${EDGE_RUNTIMES[v]} (${o.ortThreads > 0 ? `${o.ortThreads} thread${o.ortThreads > 1 ? 's' : ''}` : 'all cores'})`, path, bytes: statSync(path).size, run, close: () => session.release() };
}
