// Strategies → trainable sets, lr scales and AdamW ranges, checked against an oracle that reads
// only the Hugging Face parameter names (not the module/layer fields the strategies use), and a
// real optimizer step on the float64 reference model: exactly the planned parameters change and
// every frozen one stays bit-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeConfig, paramSpecs, ParamStore, initParams, bertReference, toParams64, type HeadSpec, type LoraConfig } from '../src/model/index.js';
import {
  planStrategy,
  adamwRanges,
  rangeElements,
  firstTrainableLayer,
  STRATEGY_NAMES,
  adamwRangesReference,
  type StrategyConfig,
} from '../src/train/index.js';

const L = 4;
const config = makeConfig({ numLayers: L, hiddenSize: 8, numHeads: 2, intermediateSize: 16 }, 30, { maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 });
const heads: HeadSpec[] = [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }];
const lora: LoraConfig = { r: 2, alpha: 4, dropout: 0, targets: ['query', 'value'] };
const specs = paramSpecs(config, heads);
const loraSpecs = paramSpecs(config, heads, lora);

// ---- the oracle: decided from names only ----
const isHead = (n: string) => /^(classifier\.|cls\.|bert\.pooler\.)/.test(n);
const isEmb = (n: string) => n.startsWith('bert.embeddings.');
const layerOf = (n: string) => {
  const m = /^bert\.encoder\.layer\.(\d+)\./.exec(n);
  return m ? Number(m[1]) : null;
};
const isFfn = (n: string) => /^bert\.encoder\.layer\.\d+\.(intermediate\.dense|output\.dense)\.(weight|bias)$/.test(n);
const isAttn = (n: string) => /^bert\.encoder\.layer\.\d+\.attention\.(self\.(query|key|value)|output\.dense)\.(weight|bias)$/.test(n);
const isLora = (n: string) => /\.lora_[AB]\.weight$/.test(n);

function oracle(cfg: StrategyConfig, names: string[], epoch = 0): Set<string> {
  const emb = cfg.embeddings ?? 'default';
  const embDefault = ['full', 'bottom_k', 'layerwise_lr_decay', 'gradual_unfreezing'].includes(cfg.name);
  const embOn = emb === 'default' ? embDefault : emb === 'trained';
  const out = new Set<string>();
  for (const n of names) {
    const l = layerOf(n);
    let on = false;
    if (isHead(n)) on = true;
    else if (isEmb(n)) on = cfg.name === 'gradual_unfreezing' ? embOn && epoch > L : embOn;
    else if (cfg.name === 'full' || cfg.name === 'layerwise_lr_decay') on = !isLora(n);
    else if (cfg.name === 'top_k') on = l! >= L - cfg.k!;
    else if (cfg.name === 'bottom_k') on = l! < cfg.k!;
    else if (cfg.name === 'ffn_only') on = isFfn(n);
    else if (cfg.name === 'attention_only') on = isAttn(n);
    else if (cfg.name === 'lora') on = isLora(n);
    else if (cfg.name === 'gradual_unfreezing') on = l! >= L - epoch;
    if (on) out.add(n);
  }
  return out;
}

const CASES: StrategyConfig[] = [
  { name: 'full' },
  { name: 'full', embeddings: 'frozen' },
  { name: 'head_only' },
  { name: 'head_only', embeddings: 'trained' },
  { name: 'top_k', k: 0 },
  { name: 'top_k', k: 1 },
  { name: 'top_k', k: 3 },
  { name: 'bottom_k', k: 2 },
  { name: 'bottom_k', k: 2, embeddings: 'frozen' },
  { name: 'ffn_only' },
  { name: 'attention_only' },
  { name: 'layerwise_lr_decay', lrDecay: 0.5 },
  { name: 'gradual_unfreezing' },
];

for (const cfg of CASES) {
  test(`strategy ${JSON.stringify(cfg)} trains exactly the oracle's parameters`, () => {
    const plan = planStrategy(specs, cfg);
    assert.deepEqual(new Set(plan.trainable), oracle(cfg, specs.map((s) => s.name)));
    assert.ok(plan.trainable.length > 0);
  });
}

test('lora trains only lora_A / lora_B and the head (pooler + classifier)', () => {
  const plan = planStrategy(loraSpecs, { name: 'lora' });
  const want = oracle({ name: 'lora' }, loraSpecs.map((s) => s.name));
  assert.deepEqual(new Set(plan.trainable), want);
  // 4 layers × 2 targets × (A, B) + pooler (2) + classifier (2)
  assert.equal(plan.trainable.length, 4 * 2 * 2 + 4);
});

test('gradual unfreezing goes top-down, one layer per epoch, embeddings last', () => {
  const names = specs.map((s) => s.name);
  for (let epoch = 0; epoch <= L + 2; epoch++) {
    const plan = planStrategy(specs, { name: 'gradual_unfreezing' }, { epoch, step: 999 });
    assert.deepEqual(new Set(plan.trainable), oracle({ name: 'gradual_unfreezing' }, names, epoch), `epoch ${epoch}`);
  }
  // every 2 steps, by step
  const s = (step: number) => planStrategy(specs, { name: 'gradual_unfreezing', unfreezeUnit: 'step', unfreezeEvery: 2 }, { epoch: 0, step });
  assert.equal(s(0).trainable.filter((n) => layerOf(n) !== null).length, 0);
  assert.equal(s(1).trainable.filter((n) => layerOf(n) !== null).length, 0);
  assert.deepEqual([...new Set(s(2).trainable.map(layerOf).filter((l) => l !== null))], [3]);
  assert.deepEqual([...new Set(s(5).trainable.map(layerOf).filter((l) => l !== null))].sort(), [2, 3]);
});

test('two-stage freezing (unfreezeAllAt): the strategy until ceil(share · totalSteps), then everything but LoRA', () => {
  const names = specs.map((s) => s.name);
  const cfg: StrategyConfig = { name: 'top_k', k: 1, embeddings: 'trained', unfreezeAllAt: 0.3 };
  const at = (step: number) => new Set(planStrategy(specs, cfg, { epoch: 0, step, totalSteps: 10 }).trainable);
  // ceil(0.3 · 10) = 3
  for (const step of [0, 1, 2]) assert.deepEqual(at(step), oracle(cfg, names), `step ${step}`);
  for (const step of [3, 9]) assert.deepEqual(at(step), oracle({ name: 'full' }, names), `step ${step}`);
  // embeddings frozen explicitly stay frozen in the second stage
  const frozenEmb = planStrategy(specs, { ...cfg, embeddings: 'frozen' }, { epoch: 0, step: 5, totalSteps: 10 });
  assert.deepEqual(new Set(frozenEmb.trainable), oracle({ name: 'full', embeddings: 'frozen' }, names));
  assert.throws(() => planStrategy(specs, cfg, { epoch: 0, step: 0 }), /needs the run's total steps/);
  assert.throws(() => planStrategy(loraSpecs, { name: 'lora', unfreezeAllAt: 0.5 }, { epoch: 0, step: 0, totalSteps: 4 }), /does not apply to 'lora'/);
  assert.throws(() => planStrategy(specs, { name: 'full', unfreezeAllAt: 1.5 }), /must be in \[0, 1\]/);
});

test('layer-wise LR decay: scale = decay^(L − layer), worked by hand for L = 4, decay 0.5', () => {
  const plan = planStrategy(specs, { name: 'layerwise_lr_decay', lrDecay: 0.5 });
  const by = new Map(plan.params.map((p) => [p.name, p.lrScale]));
  assert.equal(by.get('classifier.weight'), 1);
  assert.equal(by.get('bert.pooler.dense.weight'), 1);
  assert.equal(by.get('bert.encoder.layer.3.attention.self.query.weight'), 0.5);
  assert.equal(by.get('bert.encoder.layer.2.output.dense.bias'), 0.25);
  assert.equal(by.get('bert.encoder.layer.0.output.LayerNorm.weight'), 0.0625);
  assert.equal(by.get('bert.embeddings.word_embeddings.weight'), 0.03125);
  // Without decay every trainable scale is 1; frozen ones are 0.
  for (const p of planStrategy(specs, { name: 'top_k', k: 1 }).params) assert.equal(p.lrScale, p.trainable ? 1 : 0);
  // lrDecay also composes with other strategies.
  const topk = planStrategy(specs, { name: 'top_k', k: 2, lrDecay: 0.5 });
  assert.equal(topk.params.find((p) => p.name === 'bert.encoder.layer.2.intermediate.dense.weight')!.lrScale, 0.25);
});

test('bad strategy configs fail with the valid choices or the bad field named', () => {
  assert.throws(() => planStrategy(specs, { name: 'top_three' } as unknown as StrategyConfig), (e: Error) => {
    assert.match(e.message, /unknown strategy 'top_three'/);
    for (const n of STRATEGY_NAMES) assert.ok(e.message.includes(n), `lists ${n}`);
    return true;
  });
  assert.throws(() => planStrategy(specs, { name: 'top_k' }), /needs k/);
  assert.throws(() => planStrategy(specs, { name: 'top_k', k: 5 }), /strategy\.k=5 must be an integer in 0\.\.4/);
  assert.throws(() => planStrategy(specs, { name: 'bottom_k', k: 1.5 }), /strategy\.k=1\.5/);
  assert.throws(() => planStrategy(specs, { name: 'full', k: 2 }), /k only applies/);
  assert.throws(() => planStrategy(specs, { name: 'layerwise_lr_decay', lrDecay: 1.5 }), /lrDecay=1\.5/);
  assert.throws(() => planStrategy(specs, { name: 'lora' }), /needs a model built with a LoRA config/);
  assert.throws(() => planStrategy(loraSpecs, { name: 'full' }), /has LoRA adapters/);
  assert.throws(() => planStrategy(specs, { name: 'full', embeddings: 'sometimes' as 'frozen' }), /strategy\.embeddings='sometimes'/);
  assert.throws(() => planStrategy(specs, { name: 'gradual_unfreezing', unfreezeEvery: 0 }), /unfreezeEvery=0/);
});

test('firstTrainableLayer marks the frozen prefix that can be cached', () => {
  assert.equal(firstTrainableLayer(specs, planStrategy(specs, { name: 'head_only' })), L);
  assert.equal(firstTrainableLayer(specs, planStrategy(specs, { name: 'top_k', k: 1 })), 3);
  assert.equal(firstTrainableLayer(specs, planStrategy(specs, { name: 'full' })), -1);
  assert.equal(firstTrainableLayer(specs, planStrategy(specs, { name: 'full', embeddings: 'frozen' })), 0);
  assert.equal(firstTrainableLayer(loraSpecs, planStrategy(loraSpecs, { name: 'lora' })), 0);
});

test('AdamW ranges cover exactly the trainable elements, with weight decay only where allowed', () => {
  const store = new ParamStore(loraSpecs);
  fc.assert(
    fc.property(fc.constantFrom(...CASES, { name: 'lora' } as StrategyConfig), fc.double({ min: 0, max: 0.5, noNaN: true }), (cfg0, wd) => {
      const useLora = cfg0.name === 'lora';
      const st = useLora ? store : new ParamStore(specs);
      const plan = planStrategy(st.specs, cfg0);
      const ranges = adamwRanges(st, plan, wd);
      assert.equal(rangeElements(ranges), plan.trainableElements);
      // mark covered elements; compare with the trainable params' elements
      const covered = new Uint8Array(st.totalSize);
      for (let i = 0; i < ranges.length; i++) {
        const r = ranges[i];
        if (i > 0) assert.ok(ranges[i - 1].offset + ranges[i - 1].length <= r.offset, 'sorted, disjoint');
        for (let j = r.offset; j < r.offset + r.length; j++) covered[j]++;
      }
      const trainable = new Set(plan.trainable);
      for (const s of st.specs) {
        const { offset, length } = st.range(s.name);
        const want = trainable.has(s.name) ? 1 : 0;
        for (let j = offset; j < offset + length; j++) assert.equal(covered[j], want, `${s.name}[${j - offset}]`);
        if (want) {
          const r = ranges.find((q) => q.offset <= offset && offset < q.offset + q.length)!;
          assert.equal(r.weightDecay, s.noDecay ? 0 : wd, `${s.name} weight decay`);
          assert.equal(r.lrScale, plan.params.find((p) => p.name === s.name)!.lrScale);
        }
      }
    }),
    { numRuns: 60 },
  );
});

// One real optimizer step on the float64 reference model, per strategy.
function stepWith(cfg: StrategyConfig, useLora: boolean) {
  const sp = useLora ? loraSpecs : specs;
  const store = new ParamStore(sp);
  initParams(store, 3);
  if (useLora) {
    // Give lora_B non-zero values so lora_A receives a gradient too.
    for (const s of sp) if (s.name.endsWith('lora_B.weight')) store.get(s.name).forEach((_, i, a) => (a[i] = 0.01 * ((i % 5) - 2)));
  }
  const before = store.data.slice();
  const B = 3, T = 6;
  const inputIds = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 30);
  const batch = { B, T, inputIds, attentionMask: new Int32Array(B * T).fill(1), tokenTypeIds: new Int32Array(B * T), labels: Int32Array.from([0, 2, 1]) };
  const res = bertReference(config, heads, toParams64(store), batch, { lora: useLora ? lora : null });
  const grads = new Float32Array(store.totalSize);
  for (const [name, g] of res.grads!) grads.set(g, store.range(name).offset);
  const plan = planStrategy(sp, cfg);
  const ranges = adamwRanges(store, plan, 0.01);
  const m = new Float32Array(store.totalSize), v = new Float32Array(store.totalSize);
  adamwRangesReference(store.data, grads, m, v, ranges, 1, 1e-3, { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  return { store, before, plan };
}

for (const [cfg, useLora] of [...CASES.map((c) => [c, false] as const), [{ name: 'lora' } as StrategyConfig, true] as const]) {
  test(`one step with ${JSON.stringify(cfg)}: trained parameters change, frozen ones are bit-identical`, () => {
    const { store, before, plan } = stepWith(cfg, useLora);
    const trainable = new Set(plan.trainable);
    for (const s of store.specs) {
      const { offset, length } = store.range(s.name);
      let changed = 0;
      for (let j = offset; j < offset + length; j++) if (!Object.is(store.data[j], before[j])) changed++;
      if (trainable.has(s.name)) assert.ok(changed > 0, `${s.name} should have changed`);
      else assert.equal(changed, 0, `${s.name} is frozen but ${changed} elements changed`);
    }
    // padding between tensors is untouched
    const inTensor = new Uint8Array(store.totalSize);
    for (const s of store.specs) {
      const { offset, length } = store.range(s.name);
      inTensor.fill(1, offset, offset + length);
    }
    for (let j = 0; j < store.totalSize; j++) if (!inTensor[j]) assert.equal(store.data[j], before[j]);
  });
}
