// model.reinit: the control a base model must beat. A run with model.reinit starts from exactly the
// weights a from-scratch run of the base's shape and vocabulary would have (same seeds.init), not
// from the base's weights; without model.init it is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTrainConfig, ConfigError } from '../src/config/index.js';
import { runTraining, backendFactory, setUpRun, ProgressPrinter } from '../src/train/index.js';
import { readCheckpoint } from '../src/checkpoint/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-reinit-'));
const WORDS = ['the', 'a', 'film', 'was', 'very', 'good', 'bad', 'plot', 'acting', 'it', 'is', 'and'];
const write = (name: string, content: string) => (writeFileSync(join(dir, name), content), join(dir, name));
const rows = Array.from({ length: 48 }, (_, i) => {
  const words = Array.from({ length: 5 }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]);
  return { id: `r${i}`, text: words.join(' '), label: words.includes('good') ? 'pos' : 'neg' };
});
const data = write('train.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
const corpus = write('corpus.jsonl', rows.map(({ id, text }) => JSON.stringify({ id, text })).join('\n') + '\n');
const vocab = write('vocab.txt', ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS].join('\n') + '\n');
const SHAPE = { numLayers: 2, hiddenSize: 16, numHeads: 2, intermediateSize: 32 };

const setUp = (name: string, cfg: object) => setUpRun('finetune', loadTrainConfig('finetune', { file: write(`${name}.json`, JSON.stringify({
  outputDir: join(dir, name), data: { train: data, maxLength: 16 }, task: { kind: 'seq_cls', pooling: 'mean' }, seeds: { init: 7 }, ...cfg,
})) }), new ProgressPrinter(false, () => {}));

test('model.reinit = the base shape and vocabulary with from-scratch weights; refused without model.init', async () => {
  try {
    const base = join(dir, 'pre', 'checkpoint');
    await runTraining('pretrain', loadTrainConfig('pretrain', { file: write('pre.json', JSON.stringify({
      outputDir: join(dir, 'pre'), model: { shape: SHAPE, maxPositions: 16 }, tokenizer: { vocab },
      data: { train: corpus, maxLength: 16 }, optimizer: { lr: 5e-2 }, training: { batchSize: 16, maxSteps: 3, logEvery: 1 },
    })) }), { backend: backendFactory('cpu'), progress: false });
    const ck = readCheckpoint(base);

    const fromBase = setUp('from_base', { model: { init: base } });
    const reinit = setUp('reinit', { model: { init: base, reinit: true } });
    const scratch = setUp('scratch', { model: { shape: SHAPE, maxPositions: 16 }, tokenizer: { vocab } });

    assert.deepEqual(reinit.model.config, scratch.model.config);
    assert.deepEqual(reinit.model.tok.vocab.tokens, scratch.model.tok.vocab.tokens);
    assert.deepEqual(reinit.model.store.data, scratch.model.store.data, 'reinit weights = a from-scratch init with the same seed');
    const q = 'bert.encoder.layer.0.attention.self.query.weight';
    assert.deepEqual(fromBase.model.store.get(q), ck.weights.get(q)!.data, 'without reinit the base weights are loaded');
    assert.notDeepEqual(reinit.model.store.get(q), ck.weights.get(q)!.data);

    assert.throws(() => setUp('bad', { model: { shape: SHAPE, reinit: true }, tokenizer: { vocab } }),
      (e: unknown) => e instanceof ConfigError && /model\.reinit .* model\.init/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
