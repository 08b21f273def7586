// The NER tables of the report: per-type F1 (strict / lenient) and the entity-type confusion
// table, from records that carry the trainer's token_cls metrics; means over seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, markdown } from '../src/index.js';
import { nerTables } from '../src/report/ner.js';
import { makeRecord } from './helpers.js';

function nerRecord(strategy: string, seed: number, strict: number, lenient: number, confusionLocPer: number) {
  const r = makeRecord({ suite: 'ner', dataset: 'ner_en', strategy, seed, score: strict });
  r.mainMetric = 'strict_f1';
  r.metrics = {
    main_score: strict, strict_f1: strict, f1: lenient, token_accuracy: 0.9,
    strict_f1_LOC: strict, f1_LOC: lenient, support_LOC: 20, strict_f1_PER: strict / 2, f1_PER: lenient / 2, support_PER: 5,
    confusion_LOC_LOC: 10, confusion_LOC_PER: confusionLocPer, confusion_LOC_missed: 4, confusion_PER_PER: 2, confusion_PER_LOC: 0, confusion_PER_missed: 3,
    confusion_spurious_LOC: 1, confusion_spurious_PER: 2,
  };
  return r;
}

test('NER report tables: per-type strict / lenient F1 and a confusion table per strategy, means over seeds', () => {
  const rows = aggregate([
    nerRecord('first_subtoken', 0, 0.6, 0.7, 2), nerRecord('first_subtoken', 1, 0.8, 0.9, 4),
    nerRecord('crf_first', 0, 0.7, 0.75, 1), nerRecord('crf_first', 1, 0.9, 0.95, 1),
  ], { resamples: 100 });
  const t = nerTables(rows);
  assert.equal(t.length, 1 + 2);
  assert.deepEqual(t[0]!.head, ['strategy', 'micro strict', 'micro lenient', 'LOC strict / lenient (support 20)', 'PER strict / lenient (support 5)', 'word accuracy']);
  const first = t[0]!.body.find((b) => b[0].startsWith('first_subtoken'))!;
  assert.deepEqual(first.slice(1), ['0.7000', '0.8000', '0.7000 / 0.8000', '0.3500 / 0.4000', '0.9000']);
  const conf = t.find((x) => x.caption.startsWith('first_subtoken'))!;
  assert.deepEqual(conf.head, ['gold \\ predicted', 'LOC', 'PER', 'missed']);
  assert.deepEqual(conf.body, [['LOC', '10.0', '3.0', '4.0'], ['PER', '0.0', '2.0', '3.0'], ['spurious', '1.0', '2.0', '–']]);
  // the Markdown leaderboard carries them; a suite without NER metrics gets none
  const md = markdown(rows, { preset: 'quick', records: 4, generatedAt: 'now' });
  assert.match(md, /_Entity F1 per type: strict IOB2/);
  assert.match(md, /\| LOC \| 10\.0 \| 3\.0 \| 4\.0 \|/);
  assert.deepEqual(nerTables(aggregate([makeRecord({ strategy: 'full', seed: 0, score: 0.5 })], { resamples: 100 })), []);
});
