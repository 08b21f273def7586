// INT8 inference end to end: a micro seq_cls model trained here (float64 reference backend, as
// train_loop.test.ts), then `evaluate|predict --int8` on the GPU and the CPU reference, the int8
// export (`tunebench export --int8`) read back, and a committed trained model (models/tiny-en-st).
//
// What must hold: int8 predictions agree with fp32 on most examples (≥ 90 % of labels; sentence
// embeddings with cosine ≥ 0.98 to fp32 and the same nearest pair for ≥ 90 % of anchors);
// evaluating the int8 export gives exactly what `--int8` on the checkpoint gives (same int8
// weights, same reference computation); metrics.json reports size, delta and latency.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTrainConfig, loadInferConfig } from '../src/config/index.js';
import { runTraining, runInference, backendFactory, closeBackends, loadModel, exportInt8, INT8_WEIGHTS_FILE, Collator, tokenizeRows, loadRows, evalBatches, maskSeed, GpuBackend } from '../src/train/index.js';
import { quantizeModel } from '../src/model/index.js';
import { decodeSafetensors } from '../src/checkpoint/index.js';
import { runTrainerCli } from './cli_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-int8-'));
const cpu = backendFactory('cpu');
const gpu = backendFactory('gpu');
after(async () => {
  await closeBackends();
  rmSync(dir, { recursive: true, force: true });
});

const POS = ['good', 'great', 'fine', 'nice'];
const NEG = ['bad', 'awful', 'poor', 'sad'];
const FILL = ['the', 'a', 'film', 'was', 'very', 'and', 'plot', 'acting', 'it', 'is'];
function makeRows(n: number, seed: number) {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const pick = (a: string[]) => a[Math.floor(r() * a.length)];
  return Array.from({ length: n }, (_, i) => {
    const pos = r() < 0.5;
    const words = Array.from({ length: 3 + Math.floor(r() * 4) }, () => pick(FILL));
    words.splice(Math.floor(r() * words.length), 0, pick(pos ? POS : NEG));
    return { id: `r${seed}-${i}`, text: words.join(' '), label: pos ? 'pos' : 'neg' };
  });
}
const jsonl = (name: string, rows: object[]) => {
  const p = join(dir, name);
  writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
};
const trainFile = jsonl('train.jsonl', makeRows(96, 1));
const devFile = jsonl('dev.jsonl', makeRows(40, 2));
const vocabFile = join(dir, 'vocab.txt');
writeFileSync(vocabFile, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...POS, ...NEG, ...FILL].join('\n') + '\n');

let checkpoint = '';
test('a micro seq_cls model to quantise (trained on the reference backend)', async () => {
  const cfgPath = join(dir, 'ft.json');
  writeFileSync(cfgPath, JSON.stringify({
    outputDir: join(dir, 'ft'),
    model: { shape: { numLayers: 2, hiddenSize: 16, numHeads: 2, intermediateSize: 32 }, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
    tokenizer: { vocab: vocabFile },
    data: { train: trainFile, dev: devFile, maxLength: 16 },
    task: { kind: 'seq_cls', pooling: 'mean' },
    optimizer: { lr: 1e-2, weightDecay: 0.01 },
    schedule: { name: 'linear', warmupSteps: 2 },
    training: { batchSize: 16, epochs: 8, logEvery: 8, evalEvery: 0 },
  }));
  const r = await runTraining('finetune', loadTrainConfig('finetune', { file: cfgPath }), { backend: cpu, progress: false });
  checkpoint = join(r.runDir, 'checkpoint');
  assert.ok((r.metrics as { dev: { accuracy: number } }).dev.accuracy > 0.7);
});

const infer = (command: 'evaluate' | 'predict', out: string, ck: string, int8: boolean, backend = gpu) =>
  runInference(command, loadInferConfig(command, { sets: [`outputDir=${join(dir, out)}`, `checkpoint=${ck}`, `data.file=${devFile}`, `int8=${int8}`] }), backend, { progress: false });
const labelsOf = (out: string) => readFileSync(join(dir, out, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).label as string);

test('predict --int8 agrees with fp32 on most examples (GPU and CPU reference); evaluate --int8 reports size, delta, latency', async () => {
  await infer('predict', 'p32', checkpoint, false);
  await infer('predict', 'p8', checkpoint, true);
  const a = labelsOf('p32'), b = labelsOf('p8');
  assert.equal(a.length, 40);
  const agree = a.filter((l, i) => l === b[i]).length / a.length;
  assert.ok(agree >= 0.9, `int8 agrees with fp32 on ${agree * 100} % of the dev rows`);
  await infer('predict', 'p8cpu', checkpoint, true, cpu);
  const c = labelsOf('p8cpu');
  assert.ok(c.filter((l, i) => l === b[i]).length >= 38, 'GPU int8 and the float64 int8 reference predict the same labels');

  const ev = await infer('evaluate', 'e8', checkpoint, true);
  const i8 = ev.int8 as { linears: number; sizeBytes: number; fp32SizeBytes: number; msPerExample: number; fp32: { metrics: Record<string, number>; msPerExample: number }; delta: Record<string, number> };
  assert.equal(i8.linears, 12);
  assert.ok(i8.sizeBytes < i8.fp32SizeBytes, `int8 file ${i8.sizeBytes} B vs fp32 ${i8.fp32SizeBytes} B`);
  assert.ok(i8.msPerExample > 0 && i8.fp32.msPerExample > 0);
  const m = ev.metrics as Record<string, number>;
  assert.equal(i8.delta.accuracy, m.accuracy! - i8.fp32.metrics.accuracy!);
  assert.match(String(ev.device), /int8/);
});

test('export --int8: I8 weights + F32 scales in model.int8.safetensors; evaluating the export = evaluate --int8 on the checkpoint', async () => {
  const out = join(dir, 'int8');
  assert.equal(await runTrainerCli(['export', '--int8', '--checkpoint', checkpoint, '--out', out]), '');
  assert.ok(existsSync(join(out, 'config.json')) && existsSync(join(out, 'vocab.txt')));
  const dec = decodeSafetensors(readFileSync(join(out, INT8_WEIGHTS_FILE)));
  const w = dec.tensors.get('bert.encoder.layer.0.intermediate.dense.weight')!;
  assert.equal(w.dtype, 'I8');
  assert.deepEqual(w.shape, [32, 16]);
  assert.equal(dec.tensors.get('bert.encoder.layer.0.intermediate.dense.weight_scale')!.dtype, 'F32');
  // read back: the same int8 weights as quantising the checkpoint
  const orig = loadModel(checkpoint);
  const back = loadModel(out);
  assert.ok(back.int8);
  const q = quantizeModel(orig.config, orig.store);
  for (const [name, ql] of q) {
    assert.deepEqual(back.int8.get(name)!.packed, ql.packed, name);
    assert.deepEqual(back.int8.get(name)!.scales, ql.scales, name);
  }
  const r1 = await infer('evaluate', 'ecpu_ck', checkpoint, true, cpu);
  const r2 = await infer('evaluate', 'ecpu_export', out, false, cpu); // an int8 export runs int8 without the flag
  assert.deepEqual(r2.metrics, r1.metrics);
  assert.match(await runTrainerCli(['export', '--checkpoint', checkpoint, '--out', join(dir, 'x')]), /--int8, or a subcommand \(hf, onnx\)/);
  assert.match(await runTrainerCli(['export', 'onnx', '--checkpoint', checkpoint]), /required option '--out <dir>' not specified \(tunebench export onnx\)/);
  // the ONNX format through the CLI: the file ONNX Runtime loads (its outputs are checked in onnx_export.test.ts)
  assert.equal(await runTrainerCli(['export', 'onnx', '--quantized', '--checkpoint', out, '--out', join(dir, 'm.onnx')]), '');
  assert.ok(existsSync(join(dir, 'm.onnx')));
});

test('a committed trained model (models/tiny-en-st): int8 sentence embeddings ≈ fp32 (cosine ≥ 0.98), the same nearest pair for ≥ 90 % of anchors', async () => {
  const ckDir = new URL('../../../models/tiny-en-st', import.meta.url).pathname;
  const m = loadModel(ckDir);
  const rows = loadRows(join(ckDir, 'heldout_pairs.jsonl'), 'test', 'embedding', 64);
  const ex = tokenizeRows(rows, m.tok, 'embedding', [], 64, { source: 'heldout_pairs.jsonl' });
  const col = new Collator(m.tok, 'embedding');
  const embed = async (int8: boolean) => {
    const b = (await gpu({ config: m.config, heads: m.heads, store: m.store, lora: null, loss: {}, maxBatch: 32, maxLength: 64, int8 })) as GpuBackend;
    try {
      const anchors: Float32Array[] = [], pairs: Float32Array[] = [];
      let i = 0;
      for (const { items } of evalBatches(ex, 32)) {
        const { logits } = await b.predict(col.collate(items, maskSeed(1, 0, i++)));
        const H = m.config.hiddenSize, n = items.length;
        for (let j = 0; j < n; j++) {
          anchors.push(logits.slice(j * H, (j + 1) * H));
          pairs.push(logits.slice((n + j) * H, (n + j + 1) * H));
        }
      }
      return { anchors, pairs };
    } finally {
      b.destroy();
    }
  };
  const f = await embed(false), q = await embed(true);
  const cos = (a: Float32Array, b: Float32Array) => {
    let d = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) { d += a[i]! * b[i]!; na += a[i]! ** 2; nb += b[i]! ** 2; }
    return d / Math.sqrt(na * nb);
  };
  const nearest = (e: { anchors: Float32Array[]; pairs: Float32Array[] }) =>
    e.anchors.map((a) => e.pairs.reduce((best, p, j) => (cos(a, p) > cos(a, e.pairs[best]!) ? j : best), 0));
  assert.equal(f.anchors.length, 64);
  f.anchors.forEach((a, i) => assert.ok(cos(a, q.anchors[i]!) >= 0.98, `anchor ${i}: cosine(int8, fp32) = ${cos(a, q.anchors[i]!)}`));
  const nf = nearest(f), nq = nearest(q);
  const same = nf.filter((j, i) => j === nq[i]).length / nf.length;
  assert.ok(same >= 0.9, `the same nearest pair for ${same * 100} % of anchors`);
});
