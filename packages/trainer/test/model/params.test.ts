// Parameter names, shapes, counts and BERT initialisation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initParams, makeConfig, PARAM_ALIGN, ParamStore, paramSpecs, validateConfig, type BertConfig } from '../../src/model/index.js';

test('BERT-tiny with a [CLS] classifier has the parameter count of Hugging Face BertModel (4,385,920) plus the classifier', () => {
  const config = makeConfig('tiny', 30522);
  const specs = paramSpecs(config, [{ kind: 'seq_cls', numLabels: 2, pooling: 'cls' }]);
  const count = (pred: (n: string) => boolean) => specs.filter((s) => pred(s.name)).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  assert.equal(count((n) => n.startsWith('bert.')), 4385920);
  assert.equal(count((n) => n.startsWith('classifier.')), 2 * 128 + 2);
  assert.ok(specs.some((s) => s.name === 'bert.encoder.layer.1.attention.output.LayerNorm.weight'));
  // MLM: tied decoder, own bias, transform
  const mlm = paramSpecs(config, [{ kind: 'mlm' }]).map((s) => s.name);
  assert.ok(mlm.includes('cls.predictions.bias') && mlm.includes('cls.predictions.transform.dense.weight'));
  assert.ok(!mlm.some((n) => n.includes('decoder')), 'decoder weight is tied, not stored');
  assert.ok(!mlm.includes('bert.pooler.dense.weight'), 'no pooler without [CLS] classification');
});

test('ParamStore: 64-float aligned offsets, views, layers and no-decay flags', () => {
  const config = makeConfig('tiny', 101);
  const lora = { r: 4, alpha: 8, dropout: 0, targets: ['query' as const, 'ffn_out' as const] };
  const store = new ParamStore(paramSpecs(config, [{ kind: 'token_cls', numLabels: 5 }], lora));
  for (const s of store.specs) {
    const { offset, length } = store.range(s.name);
    assert.equal(offset % PARAM_ALIGN, 0, s.name);
    assert.equal(store.get(s.name).length, length);
    assert.equal(s.noDecay, s.name.endsWith('.bias') || s.name.includes('LayerNorm'), `${s.name} noDecay`);
  }
  assert.deepEqual(store.spec('bert.encoder.layer.1.output.dense.lora_A.weight').shape, [4, 512]);
  assert.deepEqual(store.spec('bert.encoder.layer.1.output.dense.lora_B.weight').shape, [128, 4]);
  assert.equal(store.spec('bert.encoder.layer.1.output.dense.lora_B.weight').module, 'lora');
  assert.equal(store.spec('bert.embeddings.LayerNorm.weight').layer, -1);
  assert.equal(store.spec('classifier.weight').layer, 2);
  assert.throws(() => store.get('nope'), /no parameter named 'nope'/);
});

test('initParams: normal(0, 0.02) weights, zero biases, unit LayerNorm, PEFT LoRA init, deterministic per seed', () => {
  const config = makeConfig('tiny', 500);
  const lora = { r: 8, alpha: 8, dropout: 0, targets: ['value' as const] };
  const specs = paramSpecs(config, [{ kind: 'mlm' }], lora);
  const a = new ParamStore(specs), b = new ParamStore(specs), c = new ParamStore(specs);
  initParams(a, 42, 0.02);
  initParams(b, 42, 0.02);
  initParams(c, 43, 0.02);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  const w = a.get('bert.embeddings.word_embeddings.weight');
  let mean = 0, sq = 0;
  for (const v of w) { mean += v; sq += v * v; }
  mean /= w.length;
  const std = Math.sqrt(sq / w.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.001 && Math.abs(std - 0.02) < 0.0005, `mean ${mean} std ${std}`);
  assert.ok(a.get('bert.encoder.layer.0.intermediate.dense.bias').every((v) => v === 0));
  assert.ok(a.get('bert.encoder.layer.0.output.LayerNorm.weight').every((v) => v === 1));
  assert.ok(a.get('bert.encoder.layer.0.attention.self.value.lora_B.weight').every((v) => v === 0));
  const A = a.get('bert.encoder.layer.0.attention.self.value.lora_A.weight');
  assert.ok(A.every((v) => Math.abs(v) <= 1 / Math.sqrt(128)) && A.some((v) => v !== 0));
});

test('validateConfig names the bad field', () => {
  const good = makeConfig('mini', 1000);
  const bad = (over: Partial<BertConfig>) => () => validateConfig({ ...good, ...over });
  assert.throws(bad({ numHeads: 3 }), /hiddenSize \(256\) must be divisible by numHeads \(3\)/);
  assert.throws(bad({ vocabSize: 0 }), /vocabSize must be a positive integer/);
  assert.throws(bad({ hiddenDropout: 1 }), /hiddenDropout must be in \[0, 1\)/);
  assert.throws(bad({ hiddenAct: 'relu' as 'gelu' }), /hiddenAct must be 'gelu' or 'gelu_tanh'/);
  assert.throws(() => makeConfig('huge' as 'tiny', 10), /unknown preset 'huge'/);
  assert.throws(() => paramSpecs(good, [{ kind: 'seq_cls', numLabels: 0, pooling: 'cls' }]), /heads\[0\].numLabels must be a positive integer/);
  assert.throws(() => paramSpecs(good, [{ kind: 'mlm' }], { r: 2, alpha: 2, dropout: 0, targets: ['qkv' as 'query'] }), /unknown target "qkv"/);
});
