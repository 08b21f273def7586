// The float64 reference against PyTorch (fixtures from scripts/golden_bert.py, float64, rounded to
// 12 significant digits). Bound: |ours − torch| ≤ 1e-9 + 1e-8·|torch| for logits, loss, every
// gradient, and the weights after 5 AdamW steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adamwReference, bertReference, paramSpecs, type Params64 } from '../../src/model/index.js';
import { goldenBatch, goldenParams, loadGolden } from './golden.js';

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-9, rtol = 1e-8): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= atol + rtol * Math.abs(expected[i]), `${what}[${i}]: ${actual[i]} vs torch ${expected[i]}`);
  }
}

for (const file of ['bert_mlm.json', 'bert_seq_cls.json'] as const) {
  test(`reference matches PyTorch: ${file}`, () => {
    const g = loadGolden(file);
    assert.deepEqual(paramSpecs(g.config, g.heads).map((s) => s.name), g.paramOrder, 'parameter names and order match the torch module');
    const { p64 } = goldenParams(g);
    const batch = goldenBatch(g);
    const res = bertReference(g.config, g.heads, p64, batch);
    close([res.loss], [g.loss], 'loss');
    close(res.logits, g.logits, 'logits');
    for (const [name, gr] of res.grads!) close(gr, g.grads[name], `grad ${name}`);

    // 5 AdamW steps on the same batch, no decay on biases and LayerNorm (ParamSpec.noDecay).
    const noDecay = new Set(paramSpecs(g.config, g.heads).filter((s) => s.noDecay).map((s) => s.name));
    const m: Params64 = new Map(), v: Params64 = new Map();
    const losses: number[] = [];
    for (let step = 1; step <= g.adamw.steps; step++) {
      const r = bertReference(g.config, g.heads, p64, batch);
      losses.push(r.loss);
      adamwReference(p64, r.grads!, m, v, step, { ...g.adamw, decay: (n) => !noDecay.has(n) });
    }
    close(losses, g.stepLosses, 'loss per step');
    for (const [name, p] of p64) close(p, g.after[name], `after 5 AdamW steps: ${name}`, 1e-8, 1e-7);
  });
}
