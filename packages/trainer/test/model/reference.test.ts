// The float64 reference against central finite differences of its own loss, for every head, loss
// variant and LoRA, on a tiny model. Bound: |analytic − numeric| ≤ 1e-6·max(1, |numeric|) with
// step 1e-5 (central differences in float64 are accurate to ~1e-9 here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bertReference, crossEntropyReference, mulberry32, toParams64, type HeadSpec, type LoraConfig, type LossOptions } from '../../src/model/index.js';
import { randomBatch, randomStore, tinyConfig } from './helpers.js';

interface Case { name: string; heads: HeadSpec[]; head?: number; loss?: LossOptions; lora?: LoraConfig; labels: 'token' | 'row' | 'none'; numLabels: number; act?: 'gelu' | 'gelu_tanh'; B?: number }

const cases: Case[] = [
  { name: 'mlm', heads: [{ kind: 'mlm' }], labels: 'token', numLabels: 13 },
  { name: 'mlm gelu_tanh', heads: [{ kind: 'mlm' }], labels: 'token', numLabels: 13, act: 'gelu_tanh' },
  { name: 'seq_cls cls pooling', heads: [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }], labels: 'row', numLabels: 3 },
  { name: 'seq_cls mean pooling, class weights', heads: [{ kind: 'seq_cls', numLabels: 3, pooling: 'mean' }], labels: 'row', numLabels: 3, loss: { classWeights: [0.5, 2, 1.5] } },
  { name: 'token_cls focal', heads: [{ kind: 'token_cls', numLabels: 4 }], labels: 'token', numLabels: 4, loss: { focalGamma: 2, focalAlpha: [0.25, 0.5, 1, 0.75] } },
  { name: 'token_cls CRF (labelled tokens with gaps form the sequences)', heads: [{ kind: 'token_cls', numLabels: 4, crf: { constraints: 'none' } }], labels: 'token', numLabels: 4 },
  { name: 'embedding mnr normalized', heads: [{ kind: 'embedding', normalize: true }], labels: 'none', numLabels: 0, B: 4 },
  { name: 'embedding cosine', heads: [{ kind: 'embedding', normalize: false }], labels: 'none', numLabels: 0, B: 4, loss: { embeddingLoss: 'cosine', cosineTargets: [0.9, -0.2] } },
  {
    name: 'LoRA on every target, multi-task model, token_cls head', heads: [{ kind: 'mlm' }, { kind: 'token_cls', numLabels: 3 }], head: 1,
    labels: 'token', numLabels: 3, lora: { r: 2, alpha: 4, dropout: 0, targets: ['query', 'key', 'value', 'attention_output', 'ffn_in', 'ffn_out'] },
  },
];

for (const c of cases) {
  test(`reference gradients match finite differences: ${c.name}`, () => {
    const config = tinyConfig({ hiddenAct: c.act ?? 'gelu' });
    const store = randomStore(config, c.heads, c.lora ?? null, 7);
    const batch = randomBatch(config, c.B ?? 3, 5, 11, c.labels, c.numLabels);
    const params = toParams64(store);
    const opts = { head: c.head ?? 0, loss: c.loss, lora: c.lora };
    const res = bertReference(config, c.heads, params, batch, opts);
    assert.ok(Number.isFinite(res.loss) && res.loss > 0, `loss ${res.loss}`);
    const rand = mulberry32(3);
    const h = 1e-5;
    let checked = 0, nonzero = 0;
    for (const [name, p] of params) {
      const g = res.grads!.get(name)!;
      // a few entries of every parameter, always including its largest gradient
      let imax = 0;
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[imax])) imax = i;
      const picks = new Set([imax, Math.floor(rand() * p.length), Math.floor(rand() * p.length)]);
      for (const i of picks) {
        const old = p[i];
        p[i] = old + h;
        const lp = bertReference(config, c.heads, params, batch, { ...opts, grads: false }).loss;
        p[i] = old - h;
        const lm = bertReference(config, c.heads, params, batch, { ...opts, grads: false }).loss;
        p[i] = old;
        const num = (lp - lm) / (2 * h);
        const err = Math.abs(g[i] - num);
        assert.ok(err <= 1e-6 * Math.max(1, Math.abs(num)), `${name}[${i}]: analytic ${g[i]} vs numeric ${num}`);
        checked++;
        if (Math.abs(num) > 1e-8) nonzero++;
      }
    }
    assert.ok(nonzero > checked / 3, `too few non-zero gradients checked (${nonzero}/${checked})`);
  });
}

test('cross-entropy worked example: ignore −100, class-weighted mean as in PyTorch', () => {
  // logits rows [0, ln 3] (p = 1/4, 3/4) and [ln 2, 0] (p = 2/3, 1/3); labels 1, 0, −100
  const logits = Float64Array.from([0, Math.log(3), Math.log(2), 0, 5, -5]);
  const plain = crossEntropyReference(logits, [1, 0, -100], 3, 2);
  const l1 = -Math.log(3 / 4), l2 = -Math.log(2 / 3);
  assert.ok(Math.abs(plain.loss - (l1 + l2) / 2) < 1e-14);
  assert.deepEqual(Array.from(plain.dlogits.subarray(4)), [0, 0]);
  const w = crossEntropyReference(logits, [1, 0, -100], 3, 2, { classWeights: [2, 3] });
  assert.ok(Math.abs(w.loss - (3 * l1 + 2 * l2) / 5) < 1e-14);
  // focal γ = 2 on row 1: −(1 − 3/4)² log(3/4)
  const f = crossEntropyReference(logits.subarray(0, 2), [1], 1, 2, { focalGamma: 2 });
  assert.ok(Math.abs(f.loss - 0.0625 * l1) < 1e-14);
});

test('reference rejects bad input with clear errors', () => {
  const config = tinyConfig();
  const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 2, pooling: 'cls' }];
  const params = toParams64(randomStore(config, heads, null, 1));
  const batch = randomBatch(config, 2, 4, 1, 'row', 2);
  batch.labels[0] = 5;
  assert.throws(() => bertReference(config, heads, params, batch), /batch.labels\[0\] = 5/);
  batch.labels[0] = 0;
  batch.inputIds[3] = 99;
  assert.throws(() => bertReference(config, heads, params, batch), /inputIds\[3\] = 99/);
});
