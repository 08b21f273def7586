// One test per strategy flag on the GPU model (BertModel + the AdamW kernel through GpuBackend):
// after one optimizer step with dropout on, exactly the parameters the strategy trains changed
// and every frozen one is bit-identical (read back from the GPU).
import { test } from 'node:test';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import assert from 'node:assert/strict';
import { type Gpu } from '@tunebench/kernels';
import { makeConfig, paramSpecs, ParamStore, initParams, type HeadSpec, type LoraConfig } from '../src/model/index.js';
import { GpuBackend } from '../src/train/gpu_backend.js';
import { planStrategy, adamwRanges, DEFAULT_OPTIMIZER, type StrategyConfig } from '../src/train/index.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const L = 3;
const config = makeConfig({ numLayers: L, hiddenSize: 16, numHeads: 2, intermediateSize: 32 }, 40, { maxPositions: 16, hiddenDropout: 0.1, attentionDropout: 0 });
const lora: LoraConfig = { r: 2, alpha: 4, dropout: 0, targets: ['query', 'value', 'ffn_in'] };

function batchFor(kind: HeadSpec['kind']) {
  const B = 4, T = 8;
  const inputIds = Int32Array.from({ length: B * T }, (_, i) => (i * 11 + 5) % 40);
  const attentionMask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i % 3) ? 1 : 0));
  const labels = kind === 'seq_cls' ? Int32Array.from([0, 2, 1, 2]) : Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 1 && attentionMask[i] ? (i * 7) % 40 : -100));
  return { B, T, inputIds, attentionMask, tokenTypeIds: new Int32Array(B * T), labels };
}

const CASES: [StrategyConfig, HeadSpec, boolean][] = [
  [{ name: 'full' }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, false],
  [{ name: 'full', embeddings: 'frozen' }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, false],
  [{ name: 'head_only' }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, false],
  [{ name: 'top_k', k: 1 }, { kind: 'seq_cls', numLabels: 3, pooling: 'mean' }, false],
  [{ name: 'bottom_k', k: 1 }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, false],
  [{ name: 'ffn_only' }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, false],
  [{ name: 'attention_only' }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, false],
  [{ name: 'layerwise_lr_decay', lrDecay: 0.8 }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, false],
  [{ name: 'gradual_unfreezing' }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, false],
  [{ name: 'lora' }, { kind: 'seq_cls', numLabels: 3, pooling: 'cls' }, true],
  [{ name: 'top_k', k: 2, embeddings: 'trained' }, { kind: 'mlm' }, false],
  [{ name: 'full', embeddings: 'frozen' }, { kind: 'mlm' }, false],
];

for (const [cfg, head, useLora] of CASES) {
  test(`GPU step with ${JSON.stringify(cfg)} on ${head.kind}: trained parameters change, frozen ones are bit-identical`, async () => {
    const heads = [head];
    const specs = paramSpecs(config, heads, useLora ? lora : null);
    const store = new ParamStore(specs);
    initParams(store, 5);
    if (useLora) for (const s of specs) if (s.name.endsWith('lora_B.weight')) store.get(s.name).forEach((_, i, a) => (a[i] = 0.02 * ((i % 5) - 2)));
    const before = store.data.slice();
    const be = new GpuBackend(gpu, { config, heads, store, lora: useLora ? lora : null, loss: {}, maxBatch: 4, maxLength: 8 }, false);
    try {
      be.load();
      const plan = planStrategy(specs, cfg);
      be.setTrainable(plan.trainable);
      be.zeroGrads();
      await be.accumulate(batchFor(head.kind), { dropoutSeed: 9, step: 0 });
      await be.step(adamwRanges(store, plan, 0.01), { lr: 1e-3, step: 1, gradScale: 1 }, DEFAULT_OPTIMIZER);
      await be.sync();
      const trainable = new Set(plan.trainable);
      for (const s of specs) {
        const { offset, length } = store.range(s.name);
        let changed = 0;
        for (let j = offset; j < offset + length; j++) if (!Object.is(store.data[j], before[j])) changed++;
        if (trainable.has(s.name)) assert.ok(changed > 0, `${s.name} should have changed`);
        else assert.equal(changed, 0, `${s.name} is frozen but ${changed} of ${length} elements changed`);
      }
    } finally {
      be.destroy();
    }
  });
}
