// The edge suite's deployment variants (src/edge/deploy.ts) on one model with three heads (tiny
// shape, seeded random weights, the shipped base's vocabulary; no training needed to compare
// runtimes): on a padded batch of every task, each variant's outputs against the fp32 WebGPU
// model's, and the files each variant writes.
//
// Bounds, per output tensor, max |a − b| ≤ rel · max|b| + 1e-5:
//   onnx (ORT fp32) vs fp32 WebGPU          rel 1e-3   (float32 both; other summation orders)
//   onnx_int8 (ORT MatMulInteger) vs int8   rel 2e-3   (the same int8 scheme; an activation that
//                                                      rounds to a neighbouring int8 value moves an
//                                                      output by one quantum, as trainer/test/onnx_export)
//   int8 WebGPU vs fp32 WebGPU              rel 2e-2   (the quantisation error itself, 8-bit
//                                                      weights and activations on a 2-layer model;
//                                                      measured 0.3–0.6 %)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import type { Gpu } from '@tunebench/kernels';
import { BertModel, INT8_WEIGHTS_FILE, loadWeights, ParamStore, paramSpecs, quantizeModel, readCheckpoint, readInt8Weights } from '@tunebench/trainer';
import { openDeployment, EDGE_RUNTIMES } from '../../src/edge/deploy.js';
import { EDGE_VARIANTS, type EdgeVariant } from '../../src/edge/config.js';
import { closeNet, openNet, saveNet, tokenizerOf } from '../../src/edge/net.js';
import { loadTask } from '../../src/edge/tasks.js';
import { repoRoot } from '../../src/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const root = mkdtempSync(join(tmpdir(), 'tunebench-edge-deploy-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const BASE = join(repoRoot, 'models', 'tiny-en-base');
const SHAPE = { numLayers: 2, hiddenSize: 16, numHeads: 2, intermediateSize: 32 };
const TASKS = [
  { name: 'topic', kind: 'seq_cls', dataset: 'wn_topic', weight: 1 },
  { name: 'ner', kind: 'token_cls', dataset: 'ner_en', weight: 1 },
  { name: 'search', kind: 'embedding', dataset: 'wn_gloss_pairs', weight: 1 },
] as const;

function maxAbsDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  assert.equal(a.length, b.length, 'output sizes');
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

test('every deployment variant of a three-head model: outputs on padded batches of each task match fp32 WebGPU within its bound; its file is written', async () => {
  const { tok } = tokenizerOf(BASE);
  const tasks = TASKS.map((t) => loadTask({ ...t }, tok, { maxLength: 20, maxTrainRows: 4, maxEvalRows: 6 }, 'test'));
  // init std 0.02 gives near-zero logits; weights 5× as large (LayerNorms untouched) make every
  // output informative, about the size a trained model's are
  const net = openNet(gpu, { init: BASE, shape: SHAPE, fromScratch: true }, tasks.map((d) => d.head), 5, '/model');
  for (const s of net.store.specs) if (!s.name.includes('LayerNorm')) net.store.set(s.name, net.store.get(s.name).map((x) => x * 5));
  net.model.upload();
  const { config, heads } = net;
  const modelDir = join(root, 'models', 'm');
  saveNet(net, modelDir, [...tok.vocab.tokens], { edge: { tasks: TASKS } });
  const batches = tasks.map((d) => d.collator.collate(d.test, 0));
  for (const b of batches) assert.ok(b.attentionMask.some((m) => m === 0), 'the batch is padded');
  const outs = new Map<EdgeVariant, Float32Array[]>();
  const sizes = new Map<EdgeVariant, number>();
  try {
    for (const v of EDGE_VARIANTS) {
      const dep = await openDeployment(v, net, modelDir, { ortThreads: 1 });
      try {
        assert.equal(dep.variant, v);
        assert.ok(dep.runtime.startsWith(EDGE_RUNTIMES[v]), dep.runtime);
        assert.equal(dep.bytes, statSync(dep.path).size);
        sizes.set(v, dep.bytes);
        const o: Float32Array[] = [];
        for (let i = 0; i < tasks.length; i++) o.push((await dep.run(batches[i]!, i)).logits.slice());
        outs.set(v, o);
      } finally {
        await dep.close();
      }
    }
  } finally {
    closeNet(net);
  }
  const check = (a: EdgeVariant, b: EdgeVariant, rel: number) => {
    tasks.forEach((d, i) => {
      const { diff, scale } = maxAbsDiff(outs.get(a)![i]!, outs.get(b)![i]!);
      assert.ok(scale > 0.1, `${b} ${d.task.name}: outputs are not all ~0 (max ${scale})`);
      if (process.env.EDGE_DEPLOY_DEBUG) console.log(a, b, d.task.name, diff, scale, diff / scale);
      assert.ok(diff <= rel * scale + 1e-5, `${a} vs ${b}, ${d.task.name}: max |Δ| ${diff} > ${rel} · ${scale} + 1e-5`);
    });
  };
  check('onnx', 'fp32', 1e-3);
  check('onnx_int8', 'int8', 2e-3);
  check('int8', 'fp32', 2e-2);
  // int8 is not fp32 in disguise: quantisation moves the outputs
  assert.ok(tasks.some((_, i) => maxAbsDiff(outs.get('int8')![i]!, outs.get('fp32')![i]!).diff > 1e-6), 'int8 outputs differ from fp32');
  // output shapes as the evaluator reads them: seq_cls (B, C), token_cls (B·T, C), embedding (B, H)
  const fp = outs.get('fp32')!;
  assert.equal(fp[0]!.length, batches[0]!.B * tasks[0]!.labels.length);
  assert.equal(fp[1]!.length, batches[1]!.B * batches[1]!.T * tasks[1]!.labels.length);
  assert.equal(fp[2]!.length, batches[2]!.B * SHAPE.hiddenSize);
  // the quantised files are smaller than their fp32 counterparts
  assert.ok(sizes.get('int8')! < sizes.get('fp32')!, `int8 ${sizes.get('int8')} < fp32 ${sizes.get('fp32')}`);
  assert.ok(sizes.get('onnx_int8')! < sizes.get('onnx')!, `onnx_int8 ${sizes.get('onnx_int8')} < onnx ${sizes.get('onnx')}`);
  // the int8 export is `tunebench export --int8`'s layout: it reads back to the weights the fp32
  // checkpoint quantises to, and a model built from it gives the int8 variant's outputs
  const fpStore = new ParamStore(paramSpecs(config, heads));
  loadWeights(fpStore, readCheckpoint(modelDir).weights, { source: modelDir });
  const store = new ParamStore(paramSpecs(config, heads));
  const q = readInt8Weights(join(`${modelDir}.int8`, INT8_WEIGHTS_FILE), config, store);
  const want = quantizeModel(config, fpStore);
  assert.deepEqual([...q.keys()].sort(), [...want.keys()].sort());
  for (const [name, ql] of q) {
    assert.deepEqual(ql.packed, want.get(name)!.packed, name);
    assert.deepEqual(ql.scales, want.get(name)!.scales, name);
  }
  const m = new BertModel(gpu, config, heads, store, { int8: q });
  try {
    for (let i = 0; i < tasks.length; i++) {
      const enc = gpu.encoder('t');
      m.forward(enc, batches[i]!, { head: i, train: false, grad: false });
      await enc.submit();
      assert.deepEqual((await m.readLogits()).data, outs.get('int8')![i], `${tasks[i]!.task.name}: the export reloaded = the int8 variant`);
    }
  } finally {
    m.destroy();
  }
});
