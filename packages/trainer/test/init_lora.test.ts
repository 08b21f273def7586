// Initialising a run from a LoRA-trained checkpoint (train/init_lora.ts): the adapter is merged
// into the base weights, so a plain (non-LoRA) model loaded from it computes the same logits as
// the LoRA model that was saved (float64 reference; the merge rounds W to float32 once, so
// |Δ| ≤ 1e-6·max|logit| + 1e-9); a checkpoint with adapter tensors but no recorded LoRA config
// is a clear error, never a silent drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { bertReference, paramSpecs, ParamStore, toParams64, type HeadSpec, type LoraConfig } from '../src/model/index.js';
import { writeCheckpoint, readCheckpoint, loadWeights, hfConfig } from '../src/checkpoint/index.js';
import { mergeInitAdapter, checkpointLora } from '../src/train/init_lora.js';
import { randomBatch, randomStore, tensorClose, tinyConfig } from './model/helpers.js';

const lora: LoraConfig = { r: 2, alpha: 5, dropout: 0, targets: ['query', 'value', 'ffn_out'] };
const mlmHeads: HeadSpec[] = [{ kind: 'mlm' }];
const clsHeads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }];
const tmp = () => mkdtempSync(join(tmpdir(), 'tb-initlora-'));

function saveLoraCheckpoint(dir: string, seed: number, record: boolean) {
  const config = tinyConfig({ vocabSize: 17, hiddenSize: 12, numHeads: 3, intermediateSize: 20 });
  // every parameter random, lora_B included: the adapter is not a no-op
  const store = randomStore(config, mlmHeads, lora, seed, 0.3);
  writeCheckpoint(dir, store, { config: hfConfig(config, { heads: mlmHeads, lora: record ? lora : null }) });
  return { config, store };
}

test('a LoRA checkpoint loaded into a non-LoRA run gives the LoRA model\'s logits (MLM head and encoder)', () => {
  const dir = tmp();
  try {
    const { config, store } = saveLoraCheckpoint(dir, 31, true);
    const ck = readCheckpoint(dir);
    assert.deepEqual(checkpointLora(ck), lora);
    const { weights, merged } = mergeInitAdapter(ck);
    assert.deepEqual(merged, lora);
    assert.ok(![...weights.keys()].some((n) => n.includes('.lora_')), 'no adapter tensor left after the merge');

    // same heads (MLM): every tensor of the plain model comes from the checkpoint
    const plain = new ParamStore(paramSpecs(config, mlmHeads, null));
    const rep = loadWeights(plain, weights, { source: dir });
    assert.equal(rep.missing.length, 0);
    const batch = randomBatch(config, 3, 7, 5, 'token', config.vocabSize);
    const want = bertReference(config, mlmHeads, toParams64(store), batch, { lora, grads: false });
    const got = bertReference(config, mlmHeads, toParams64(plain), batch, { grads: false });
    tensorClose(got.logits, want.logits, 'merged MLM logits', 1e-6, 1e-9);

    // the adapter matters: loading the base weights alone (the old drop) gives other logits
    const dropped = new ParamStore(paramSpecs(config, mlmHeads, null));
    loadWeights(dropped, ck.weights, { source: dir, allowUnexpected: (n) => n.includes('.lora_') });
    const old = bertReference(config, mlmHeads, toParams64(dropped), batch, { grads: false });
    assert.ok(old.logits.some((v, i) => Math.abs(v - want.logits[i]) > 1e-3), 'dropping the adapter changes the logits');

    // a fine-tune (new classification head, shared encoder): the pooled encoder output matches too
    const ft = randomStore(config, clsHeads, null, 77, 0.3);
    const ftLora = randomStore(config, clsHeads, lora, 77, 0.3);
    loadWeights(ft, weights, { source: dir, allowMissing: (n) => n.startsWith('classifier') || n.startsWith('bert.pooler.'), allowUnexpected: (n) => n.startsWith('cls.') });
    loadWeights(ftLora, ck.weights, { source: dir, allowMissing: (n) => n.startsWith('classifier') || n.startsWith('bert.pooler.'), allowUnexpected: (n) => n.startsWith('cls.') });
    for (const n of ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']) ftLora.get(n).set(ft.get(n));
    const rowBatch = randomBatch(config, 3, 7, 6, 'row', 3);
    const a = bertReference(config, clsHeads, toParams64(ftLora), rowBatch, { lora, grads: false });
    const b = bertReference(config, clsHeads, toParams64(ft), rowBatch, { grads: false });
    tensorClose(b.logits, a.logits, 'merged classifier logits', 1e-6, 1e-9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint with LoRA tensors but no recorded LoRA config is a clear error', () => {
  const dir = tmp();
  try {
    saveLoraCheckpoint(dir, 32, false);
    assert.throws(() => mergeInitAdapter(readCheckpoint(dir)), (e: Error) => {
      assert.equal(e.name, 'CheckpointError');
      assert.match(e.message, /LoRA tensors \(e\.g\. 'bert\.encoder\.layer\.0\.attention\.self\.query\.lora_A\.weight'\)/);
      assert.match(e.message, /config\.json records no LoRA config/);
      return true;
    });
    // a recorded config whose r disagrees with the tensors: the tensor and both shapes are named
    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.tunebench.lora = { ...lora, r: 4 };
    writeFileSync(cfgPath, JSON.stringify(cfg));
    assert.throws(() => mergeInitAdapter(readCheckpoint(dir)), /query\.lora_A\.weight' has shape \[2, 12\], expected \[4, 12\]/);
    // targets that miss some adapter tensors: the stray tensors are named
    cfg.tunebench.lora = { ...lora, targets: ['query', 'value'] };
    writeFileSync(cfgPath, JSON.stringify(cfg));
    assert.throws(() => mergeInitAdapter(readCheckpoint(dir)), /LoRA tensors outside the recorded targets \(query, value\): .*output\.dense\.lora_A\.weight/);
    cfg.tunebench.lora = { ...lora, alpha: -1 };
    writeFileSync(cfgPath, JSON.stringify(cfg));
    assert.throws(() => mergeInitAdapter(readCheckpoint(dir)), /config\.json: tunebench\.lora: LoraConfig\.alpha must be > 0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint without adapters passes through unchanged', () => {
  const dir = tmp();
  try {
    const config = tinyConfig();
    const store = randomStore(config, mlmHeads, null, 3);
    writeCheckpoint(dir, store, { config: hfConfig(config, { heads: mlmHeads, lora: null }) });
    const ck = readCheckpoint(dir);
    const { weights, merged } = mergeInitAdapter(ck);
    assert.equal(merged, null);
    assert.deepEqual([...weights.keys()], [...ck.weights.keys()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
