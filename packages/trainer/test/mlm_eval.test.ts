// `tunebench mlm_eval` (mlm_eval.ts): a pretraining config's held-out MLM scores for model.init,
// nothing trained. On a tiny English base (float64 CPU reference backend, exact):
//   - a pretrained checkpoint measured by mlm_eval with its pretraining config gives exactly the
//     dev and devGeneral its pretraining reported at its end (same rows, masks, batches);
//   - the base measured with the same config scores the same masked targets (count, [UNK] share)
//     as the pretraining did, with other weights; another data seed masks other targets;
//   - unk_share: [UNK] is never masked, so the loss leaves it out; the share of the text it is;
//   - bad input (no model.init, a missing checkpoint, a used run directory, --resume) fails
//     with a message naming it, before any run directory is made; no held-out rows gives null,
//     as the pretraining does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrainConfig } from '../src/config/index.js';
import { runTraining, runMlmEval, backendFactory } from '../src/train/index.js';
import { runTrainerCli } from './cli_helpers.js';
import { scratchDir } from './scratch_files.js';

const { dir, write, jsonl } = scratchDir('tb-mlmeval-');
const cpu = backendFactory('cpu');
const SHAPE = { numLayers: 1, hiddenSize: 16, numHeads: 2, intermediateSize: 32 };

const EN = ['the', 'man', 'went', 'to', 'see', 'and', 'met', 'ber', '##lin', '##s', 'a'];
const baseVocab = write('base_vocab.txt', ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...EN].join('\n') + '\n');
// 100 English rows (2 held out) and 150 Chinese rows (3 held out): both corpora have held-out rows.
const enCorpus = jsonl('en.jsonl', Array.from({ length: 100 }, (_, i) => ({ id: `e${i}`, text: `the man went to see ${i % 2 ? 'berlin' : 'a man'} and met the ${i % 3 ? 'men' : 'man'}` })));
const ZH = ['猫', '狗', '日', '月', '树', '雨', '火', '书', '山', '水'];
// Chinese rows with a few English words: the English base knows only those (the characters are [UNK]).
// (11 known pieces: round(11 · 0.15) = 2 masked per row; with 2 pieces none would be.)
const EN_LINE = 'the man went to see a man and met the man';
const zhText = (i: number) => Array.from({ length: 6 }, (_, k) => ZH[(i * 7 + k * 3) % ZH.length]).join('');
const zhCorpus = jsonl('zh.jsonl', Array.from({ length: 150 }, (_, i) => ({ id: `z${i}`, text: `${zhText(i)} ${EN_LINE} ${zhText(i + 1)}` })));
const BASE = join(dir, 'base', 'checkpoint');

const cfg = (command: 'pretrain', out: string, extra: Record<string, unknown>) =>
  loadTrainConfig(command, {
    file: write(`${out}.json`, JSON.stringify({
      outputDir: join(dir, out),
      model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
      optimizer: { lr: 1e-2, weightDecay: 0 },
      training: { batchSize: 4, maxSteps: 3, logEvery: 1 },
      ...extra,
      data: { maxLength: 16, ...(extra.data as object) },
    })),
  });

const baseReady = runTraining('pretrain', cfg('pretrain', 'base', { tokenizer: { vocab: baseVocab }, data: { train: enCorpus } }), { backend: cpu, progress: false });

// The zh_vocab-like continued pretraining: Chinese + 20 % English, eval masks 'random'.
const mixed = (out: string, init: string, more: Record<string, unknown> = {}) =>
  cfg('pretrain', out, { model: { init, hiddenDropout: 0, attentionDropout: 0 }, data: { train: zhCorpus, general: enCorpus, generalRatio: 0.2 }, masking: { evalStrategy: 'random' }, ...more });

type Held = Record<string, number>;
const metricsOf = (out: string) => JSON.parse(readFileSync(join(dir, out, 'metrics.json'), 'utf8')) as { dev: Held; devGeneral: Held | null; steps: number };

test('mlm_eval of a pretrained checkpoint reproduces its pretraining\'s held-out scores exactly; the base is scored on the same masked targets', async () => {
  await baseReady;
  const pt = await runTraining('pretrain', mixed('pt', BASE), { backend: cpu, progress: false });
  const ptDev = pt.metrics.dev as Held, ptGen = pt.metrics.devGeneral as Held;
  assert.ok(ptDev.count > 0 && ptGen.count > 0);

  // The pretraining's own config, its checkpoint as model.init: the very same numbers.
  const again = await runMlmEval(mixed('again', join(dir, 'pt', 'checkpoint')), { backend: cpu, progress: false });
  assert.deepEqual(again.metrics.dev, ptDev);
  assert.deepEqual(again.metrics.devGeneral, ptGen);
  assert.equal(metricsOf('again').steps, 0);
  assert.deepEqual(metricsOf('again').dev, ptDev, 'metrics.json holds them');

  // The base with the same config: other weights, the same masked targets (their count; the text's [UNK] share).
  const base = await runMlmEval(mixed('base_eval', BASE), { backend: cpu, progress: false });
  const bDev = base.metrics.dev as Held, bGen = base.metrics.devGeneral as Held;
  for (const k of ['count', 'unk_share']) {
    assert.equal(bDev[k], ptDev[k], `dev ${k}`);
    assert.equal(bGen[k], ptGen[k], `devGeneral ${k}`);
  }
  assert.notEqual(bDev.loss, ptDev.loss, 'other weights, another loss');
  // Each held-out Chinese row is 12 [UNK] characters and 11 English pieces: 12/23 of its text, never scored.
  assert.equal(bDev.unk_share, 12 / 23);
  assert.ok(bGen.unk_share > 0 && bGen.unk_share < 0.5, `English [UNK] share ${bGen.unk_share}`);

  // Control: another data seed masks other targets (the equality above is not automatic).
  const seeds = { init: 0, data: 7, dropout: 0 };
  const other = await runMlmEval(mixed('other_seed', join(dir, 'pt', 'checkpoint'), { seeds }), { backend: cpu, progress: false });
  assert.notDeepEqual(other.metrics.devGeneral, ptGen);
});

test('mlm_eval: bad input fails naming it, before a run directory exists; the CLI command runs', async () => {
  await baseReady;
  mixed('cli_src', BASE); // writes cli_src.json
  const noInit = cfg('pretrain', 'no_init', { tokenizer: { vocab: baseVocab }, data: { train: zhCorpus } });
  await assert.rejects(runMlmEval(noInit, { backend: cpu, progress: false }), /mlm_eval: model\.init is not set/);
  assert.ok(!existsSync(join(dir, 'no_init')));
  await assert.rejects(runMlmEval(mixed('missing', join(dir, 'nowhere')), { backend: cpu, progress: false }), /nowhere/);
  assert.ok(!existsSync(join(dir, 'missing')));
  // Fewer than 50 rows: no held-out rows, dev null, as the pretraining with that config reports it.
  const tiny = jsonl('tiny.jsonl', Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, text: 'the man went to see a man' })));
  const small = (out: string) => cfg('pretrain', out, { model: { init: BASE }, data: { train: tiny } });
  const smallPt = await runTraining('pretrain', small('small_pt'), { backend: cpu, progress: false });
  assert.equal(smallPt.metrics.dev, null);
  assert.equal((await runMlmEval(small('small'), { backend: cpu, progress: false })).metrics.dev, null);
  assert.match(readFileSync(join(dir, 'small', 'log.txt'), 'utf8'), /tiny\.jsonl has no held-out rows/);
  // A directory that holds a run already.
  await assert.rejects(runMlmEval(mixed('again2', BASE), { backend: cpu, progress: false }).then(() => runMlmEval(mixed('again2', BASE), { backend: cpu, progress: false })), /already holds a run/);

  assert.match(await runTrainerCli(['mlm_eval', '--config', join(dir, 'again2.json'), '--backend', 'cpu', '--resume', '-q']), /--resume does not apply/);
  assert.equal(await runTrainerCli(['mlm_eval', '--config', join(dir, 'cli_src.json'), '--out', join(dir, 'cli_eval'), '--backend', 'cpu', '-q']), '');
  const viaCli = metricsOf('cli_eval');
  assert.equal(viaCli.steps, 0);
  assert.ok(viaCli.dev.count > 0 && viaCli.devGeneral!.count > 0);
});
