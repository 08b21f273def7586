// data.augment (train/augment.ts): EDA copies of a text-classification run's training rows.
//   - the config key: defaults, bad values and bad combinations are clear errors naming the key
//   - augmentRows: `copies` copies per row, each with its row's label and an id naming it,
//     deterministic for a seed, never the row itself (properties over random rows)
//   - a finetune run on the float64 reference backend trains on rows + copies (metrics.json
//     augmentedRows, the log line), dev and test untouched, and the same run twice is identical
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import { loadTrainConfig } from '../src/config/index.js';
import { runTraining, backendFactory, augmentRows, type Row } from '../src/train/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-augment-'));
const write = (name: string, content: string) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const A = { copies: 3, alphaSr: 0.2, alphaRi: 0.2, alphaRs: 0.2, pRd: 0.2 };

test('config: data.augment defaults, and what it cannot be', () => {
  const sets = (...s: string[]) => loadTrainConfig('finetune', { sets: ['outputDir=/nonexistent/x', 'data.dataset=email', ...s] });
  assert.equal(sets().data.augment, null);
  assert.deepEqual(sets('data.augment={}').data.augment, { copies: 4, alphaSr: 0.1, alphaRi: 0.1, alphaRs: 0.1, pRd: 0.1 });
  assert.equal(sets('data.augment.copies=2').data.augment!.copies, 2);
  assert.throws(() => sets('data.augment.copies=0'), /--set data.augment.copies=0: 'data.augment.copies' must be >= 1/);
  assert.throws(() => sets('data.augment.alphaSr=1.5'), /'data.augment.alphaSr' must be <= 1/);
  assert.throws(() => sets('data.augment.swap=0.1'), /swap/);
  assert.throws(() => sets('data.augment={"alphaSr":0,"alphaRi":0,"alphaRs":0,"pRd":0}'), /every rate 0/);
  assert.throws(() => sets('data.augment={}', 'task.kind=token_cls', 'data.dataset=ner_en'), /data.augment \(EDA\) .* needs finetune with task.kind seq_cls/);
  assert.throws(() => loadTrainConfig('pretrain', { sets: ['outputDir=/nonexistent/x', 'data.dataset=pretrain_en', 'data.augment={}'] }), /needs finetune with task.kind seq_cls \(got pretrain, mlm\)/);
});

const WORDS = ['quick', 'brown', 'fox', 'report', 'send', 'meeting', 'happy', 'large', 'river', 'bank', 'money', 'house'];
const rowArb = fc.array(fc.record({ words: fc.array(fc.constantFrom(...WORDS), { minLength: 4, maxLength: 12 }), label: fc.constantFrom('a', 'b', 'c') }), { minLength: 1, maxLength: 6 });

test('augmentRows: copies per row with its label, ids naming the row, deterministic for a seed, no original among them', () => {
  fc.assert(fc.property(rowArb, fc.integer({ min: 1, max: 4 }), fc.nat(1000), (spec, copies, seed) => {
    const rows: Row[] = spec.map((r, i) => ({ id: `r${i}`, text: r.words.join(' '), label: r.label }));
    const a = { ...A, copies };
    const out = augmentRows(rows, a, seed);
    assert.deepEqual(augmentRows(rows, a, seed), out);
    // 4+ words and every rate > 0: eda.py makes copies ≥ 1 sentences per technique, so exactly `copies`.
    assert.equal(out.length, rows.length * copies);
    rows.forEach((r, i) => {
      const mine = out.slice(i * copies, (i + 1) * copies);
      mine.forEach((c, k) => {
        assert.equal(c.id, `${r.id}/eda${k}`);
        assert.equal(c.label, r.label);
        assert.equal(typeof c.text, 'string');
      });
    });
    assert.ok(!out.some((c) => rows.some((r) => r.id === c.id)));
  }), { numRuns: 40 });
  const rows: Row[] = [{ id: 'x', text: 'the quick brown fox jumps over the lazy dog near the river bank', label: 'a' }];
  assert.notDeepEqual(augmentRows(rows, A, 1).map((r) => r.text), augmentRows(rows, A, 2).map((r) => r.text));
  assert.throws(() => augmentRows([{ id: 't', tokens: ['a'], label: 'a' } as Row], A, 0), /training row 1 \(id t\) has no text/);
  // A Chinese row (zh_poetry) gets its copies too (eda.py's a–z cleaning would leave nothing): Chinese
  // characters only, no spaces added, not all equal to the row.
  const poem: Row = { id: 'p', text: '西园一曲艳阳歌，扰扰车尘负薜萝。自欲放怀犹未得，不知经世竟如何。', label: 'tang_shi' };
  const zh = augmentRows([poem], { ...A, copies: 4 }, 3);
  assert.equal(zh.length, 4);
  for (const c of zh) assert.match(c.text!, /^[\u4e00-\u9fff，。]+$/u);
  assert.ok(zh.some((c) => c.text !== poem.text), 'every Chinese copy equals the row');
});

test('a finetune run with data.augment trains on the rows + their copies; dev/test untouched; reproducible', async () => {
  const texts = ['please send the quarterly report to the finance team', 'the quick brown fox jumps over the lazy dog', 'a large house near the river bank', 'money in the bank is safe and sound'];
  const rows = (n: number, off: number) => Array.from({ length: n }, (_, i) => ({ id: `t${off + i}`, text: texts[(i + off) % texts.length], label: (i + off) % 2 ? 'b' : 'a' }));
  const jsonl = (name: string, rs: object[]) => write(name, rs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const train = jsonl('train.jsonl', rows(8, 0)), dev = jsonl('dev.jsonl', rows(4, 1)), tst = jsonl('test.jsonl', rows(4, 2));
  const words = [...new Set(texts.join(' ').split(' '))];
  const vocab = write('vocab.txt', ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words].join('\n') + '\n');
  const cfg = (out: string, augment: object | null) => loadTrainConfig('finetune', {
    file: write(`${out}.json`, JSON.stringify({
      outputDir: join(dir, out), tokenizer: { vocab },
      model: { shape: { numLayers: 1, hiddenSize: 8, numHeads: 2, intermediateSize: 16 }, maxPositions: 24, hiddenDropout: 0, attentionDropout: 0 },
      data: { train, dev, test: tst, maxLength: 24, augment }, optimizer: { lr: 1e-2 }, training: { batchSize: 4, epochs: 1, logEvery: 1 },
    })),
  });
  const cpu = backendFactory('cpu');
  const plain = await runTraining('finetune', cfg('plain', null), { backend: cpu, progress: false });
  const aug = await runTraining('finetune', cfg('aug', { copies: 2 }), { backend: cpu, progress: false });
  const again = await runTraining('finetune', cfg('aug2', { copies: 2 }), { backend: cpu, progress: false });
  const m = (r: typeof plain) => r.metrics as unknown as { augmentedRows: number; steps: number; dev: { count: number }; test: { count: number } };
  assert.equal(m(plain).augmentedRows, 0);
  assert.equal(m(aug).augmentedRows, 16);
  // one epoch of batch 4: 8 rows → 2 steps; 8 + 16 rows → 6 steps
  assert.equal(m(plain).steps, 2);
  assert.equal(m(aug).steps, 6);
  assert.equal(m(aug).dev.count, 4);
  assert.equal(m(aug).test.count, 4);
  assert.match(readFileSync(join(dir, 'aug', 'log.txt'), 'utf8'), /data\.augment: 16 EDA copies of 8 training rows \(2 each; sr 0\.1, ri 0\.1, rs 0\.1, rd 0\.1\)/);
  assert.equal(Buffer.compare(Buffer.from(aug.store.data.buffer), Buffer.from(again.store.data.buffer)), 0);
});
