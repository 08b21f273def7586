// The run config's `masking` section: defaults (Hugging Face's 15 % and 80/10/10), --set
// overrides, errors that name the key, the old task.mlmProbability kept in step, and the
// pretraining batches built from the config (the loop's path: mlmChunks → Collator(mlmOptionsOf)
// → collate with maskSeed) really use the chosen strategy:
//   whole_word  never labels part of a word ("##" group) without the rest (random does, often);
//   span        whole words too, and its masked runs are longer than whole_word's;
//   entity      gazetteer phrases (here from a file) are masked whole.
// Then a tiny pretrain run (float64 CPU backend) records the section in the resolved config, the
// log and the checkpoint, and `evaluate` reads it back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTrainConfig, loadInferConfig, ConfigError, type TrainRunConfig } from '../src/config/index.js';
import { Collator, mlmChunks, mlmOptionsOf, maskSeed, runTraining, runInference, backendFactory } from '../src/train/index.js';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';
import { runTrainerCli } from './cli_helpers.js';
import { padBatch, seededRng } from '../src/data/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-masking-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const pre = (sets: string[] = [], extra: object = {}) =>
  loadTrainConfig('pretrain', { file: write('pre.json', JSON.stringify({ outputDir: join(dir, 'out'), data: { dataset: 'pretrain_en' }, ...extra })), sets });

test('masking defaults are Hugging Face\'s and land in the resolved config (task.mlmProbability kept equal)', () => {
  const c = pre();
  assert.deepEqual(c.masking, {
    strategy: 'random', probability: 0.15, maskFraction: 0.8, randomFraction: 0.1, spanP: 0.2, spanMaxWords: 10,
    replaceBy: 'token', gazetteer: null, mixture: [], evalStrategy: 'same',
  });
  assert.equal(c.task.mlmProbability, 0.15);
  // an existing config that only gives task.mlmProbability keeps working, and sets the masking rate
  const old = pre([], { task: { kind: 'mlm', mlmProbability: 0.2 } });
  assert.equal(old.masking.probability, 0.2);
  // and the new key sets the old one
  const nw = pre(['masking.probability=0.3']);
  assert.equal(nw.task.mlmProbability, 0.3);
  assert.equal(pre(['masking.probability=0.2'], { task: { mlmProbability: 0.2 } }).masking.probability, 0.2);
});

test('--set masking.* overrides; bad values are errors naming the key and the flag', () => {
  const c = pre(['masking.strategy=whole_word', 'masking.maskFraction=0.9', 'masking.randomFraction=0.05']);
  assert.equal(c.masking.strategy, 'whole_word');
  assert.equal(c.masking.maskFraction, 0.9);
  assert.equal(c.masking.randomFraction, 0.05);
  const fails = (sets: string[], re: RegExp, extra: object = {}) =>
    assert.throws(() => pre(sets, extra), (e: Error) => {
      assert.ok(e instanceof ConfigError, `ConfigError, got ${e}`);
      assert.match(e.message, re);
      return true;
    });
  fails(['masking.strategy=wholeword'], /--set masking\.strategy=wholeword: 'masking\.strategy' must be one of "random", "whole_word", "span", "entity", "mixture"/);
  fails(['masking.unit=word'], /unknown key 'masking\.unit' \(allowed here: strategy, probability, maskFraction/);
  fails(['masking.probability=1.5'], /'masking\.probability' must be < 1/);
  fails(['masking.spanMaxWords=0'], /'masking\.spanMaxWords' must be >= 1/);
  fails(['masking.maskFraction=0.9', 'masking.randomFraction=0.2'], /--set masking\.maskFraction=0\.9: 'masking\.maskFraction' \+ 'masking\.randomFraction' must be ≤ 1/);
  fails(['masking.probability=0.3'], /'masking\.probability' \(0\.3\) and 'task\.mlmProbability' \(0\.2\) disagree/, { task: { mlmProbability: 0.2 } });
  fails(['masking.strategy=entity'], /--set masking\.strategy=entity: the 'entity' masking strategy needs 'masking\.gazetteer'/);
  fails(['masking.strategy=mixture'], /masking\.strategy 'mixture' needs 'masking\.mixture'/);
  fails(['masking.mixture=[{"strategy":"span","weight":1}]'], /'masking\.mixture' is given but masking\.strategy is 'random'/);
  fails(['masking.strategy=mixture', 'masking.mixture=[{"strategy":"words","weight":1}]'], /'masking\.mixture\.0\.strategy' must be one of "random", "whole_word", "span", "entity"$/m);
});

// ---- batches built from the config
const WORDS = ['un', 'believ', 'able', 'walk', 'ing', 'talk', 'ed', 'run', 'ner', 's', 'new', 'york', 'the', 'cat', 'sat'];
// Words made of 1–3 pieces: "unbelievable" = un ##believ ##able, "walking" = walk ##ing, ...
const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS, ...WORDS.map((w) => `##${w}`)];
const tok = WordPieceTokenizer.fromVocab(vocab);
const LEX = ['unbelievable', 'walking', 'talked', 'runners', 'the', 'cat', 'sat', 'walked', 'new', 'york', 'unable', 'talking'];
function corpusRows(n: number, seed: number) {
  const r = seededRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `c${i}`,
    text: Array.from({ length: 40 }, () => LEX[Math.floor(r() * LEX.length)]).join(' '),
  }));
}
const rows = corpusRows(24, 5);
const examples = rows.flatMap((r) => mlmChunks(r, tok, 64));
/** The unmasked ids of a batch of examples, padded as the collator pads them. */
const unmasked = (ex: typeof examples) => padBatch(ex.map((e) => ({ ids: e.enc.ids, tokenTypeIds: e.enc.tokenTypeIds })), { padId: tok.specialIds.pad });

/** Each row's words as [start, end) token ranges (a word = a piece and its "##" continuations). */
function words(ids: Int32Array, T: number, b: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = 0; t < T; t++) {
    const id = ids[b * T + t];
    if (tok.isSpecialId(id)) continue;
    const isCont = (tok.idToToken(id) ?? '').startsWith('##');
    if (isCont && out.length && out[out.length - 1][1] === t) out[out.length - 1][1] = t + 1;
    else out.push([t, t + 1]);
  }
  return out;
}

/** Over `steps` batches: words partly labelled, masked tokens, and the mean length (in words) of runs of masked words. */
function maskStats(c: TrainRunConfig, steps: number) {
  const collator = new Collator(tok, 'mlm', mlmOptionsOf(c.masking));
  let split = 0, masked = 0, maskable = 0, runs = 0, runWords = 0;
  for (let step = 0; step < steps; step++) {
    const batch = collator.collate(examples.slice(0, 8), maskSeed(c.seeds.data, step, 0));
    const orig = unmasked(examples.slice(0, 8));
    for (let b = 0; b < batch.B; b++) {
      let run = 0;
      for (const [s, e] of words(orig.inputIds, batch.T, b)) {
        let k = 0;
        for (let t = s; t < e; t++) if (batch.labels[b * batch.T + t] !== -100) k++;
        if (k > 0 && k < e - s) split++;
        masked += k;
        maskable += e - s;
        if (k > 0) run++;
        else if (run) (runs++, runWords += run, run = 0);
      }
      if (run) (runs++, runWords += run);
    }
  }
  return { split, rate: masked / maskable, meanRun: runWords / runs };
}

test('a pretraining batch from the config uses the chosen strategy', () => {
  const random = maskStats(pre(), 20);
  const whole = maskStats(pre(['masking.strategy=whole_word']), 20);
  const span = maskStats(pre(['masking.strategy=span']), 20);
  // random masking splits words (the test can tell); whole_word and span never do
  assert.ok(random.split > 20, `random masking splits words (${random.split} times)`);
  assert.equal(whole.split, 0, 'whole_word never labels part of a word');
  assert.equal(span.split, 0, 'span masks whole words');
  // all three near the 15 % budget (whole-word skips an overshooting word; span may overshoot by a word's pieces)
  for (const [n, s] of [['random', random], ['whole_word', whole], ['span', span]] as const) {
    assert.ok(Math.abs(s.rate - 0.15) < 0.03, `${n}: masked share ${s.rate}`);
  }
  // SpanBERT spans (mean 3.8 words) vs independent words (runs of ~1.2 at 15 %)
  assert.ok(span.meanRun > whole.meanRun + 0.8, `span runs ${span.meanRun} words vs whole_word ${whole.meanRun}`);
  // probability from the config reaches the collator
  const dense = maskStats(pre(['masking.strategy=whole_word', 'masking.probability=0.4']), 10);
  assert.ok(Math.abs(dense.rate - 0.4) < 0.05, `probability 0.4: masked share ${dense.rate}`);
});

test('entity masking from a gazetteer file masks the phrase whole; replacement fractions reach the collator', () => {
  const gaz = write('gazetteer.txt', 'new york\n\n');
  const c = pre(['masking.strategy=entity', `masking.gazetteer=${gaz}`, 'masking.maskFraction=1', 'masking.randomFraction=0']);
  const collator = new Collator(tok, 'mlm', mlmOptionsOf(c.masking));
  const newId = tok.tokenToId('new')!, yorkId = tok.tokenToId('york')!, maskId = tok.specialIds.mask;
  let phrases = 0;
  for (let step = 0; step < 5; step++) {
    const ex = examples.slice(0, 8);
    const orig = unmasked(ex);
    const batch = collator.collate(ex, maskSeed(c.seeds.data, step, 0));
    for (let i = 0; i + 1 < orig.inputIds.length; i++) {
      if (orig.inputIds[i] === newId && orig.inputIds[i + 1] === yorkId) {
        phrases++;
        assert.notEqual(batch.labels[i], -100, '"new" of "new york" is masked');
        assert.notEqual(batch.labels[i + 1], -100, '"york" of "new york" is masked');
      }
      // maskFraction 1: every chosen position is [MASK]
      if (batch.labels[i] !== -100) assert.equal(batch.inputIds[i], maskId);
    }
  }
  assert.ok(phrases > 0, 'the corpus has "new york"');
  assert.throws(() => mlmOptionsOf({ ...c.masking, gazetteer: join(dir, 'missing.txt') }), /masking\.gazetteer: cannot read .*missing\.txt \(ENOENT\)/);
});

test('pretrain records the masking in config.json, the log and the checkpoint; evaluate reads it back', async () => {
  const vocabFile = write('vocab.txt', vocab.join('\n') + '\n');
  const train = write('corpus.jsonl', corpusRows(16, 9).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const c = loadTrainConfig('pretrain', {
    sets: [
      `outputDir=${join(dir, 'run')}`, `data.train=${train}`, `tokenizer.vocab=${vocabFile}`, 'data.maxLength=16',
      'model.shape={"numLayers":1,"hiddenSize":8,"numHeads":2,"intermediateSize":16}', 'model.maxPositions=16',
      'training.batchSize=8', 'training.maxSteps=1', 'training.logEvery=1', 'masking.strategy=span', 'masking.evalStrategy=random',
    ],
  });
  const r = await runTraining('pretrain', c, { backend: backendFactory('cpu'), progress: false });
  const saved = JSON.parse(readFileSync(join(r.runDir, 'config.json'), 'utf8'));
  assert.equal(saved.config.masking.strategy, 'span');
  assert.equal(saved.config.masking.probability, 0.15);
  assert.match(readFileSync(join(r.runDir, 'log.txt'), 'utf8'), /masking: span, probability 0\.15, \[MASK\]\/random\/keep 0\.8\/0\.1\/0\.1, eval random/);
  const ck = JSON.parse(readFileSync(join(r.runDir, 'checkpoint', 'config.json'), 'utf8'));
  assert.equal(ck.tunebench.masking.strategy, 'span');
  const ev = await runInference('evaluate', loadInferConfig('evaluate', { sets: [`outputDir=${join(dir, 'ev')}`, `checkpoint=${join(r.runDir, 'checkpoint')}`, `data.file=${train}`, 'data.maxLength=16'] }), backendFactory('cpu'), { progress: false });
  assert.ok(typeof (ev.metrics as Record<string, number>).main_score === 'number');
});

test('a run saved before the masking section existed resumes (its masking = the defaults at its mlmProbability)', async () => {
  const vocabFile = write('vocab2.txt', vocab.join('\n') + '\n');
  const train = write('corpus2.jsonl', corpusRows(16, 3).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const sets = [
    `outputDir=${join(dir, 'old')}`, `data.train=${train}`, `tokenizer.vocab=${vocabFile}`, 'data.maxLength=16',
    'model.shape={"numLayers":1,"hiddenSize":8,"numHeads":2,"intermediateSize":16}', 'model.maxPositions=16',
    'training.batchSize=8', 'training.logEvery=1', 'task.mlmProbability=0.2',
  ];
  const cpu = backendFactory('cpu');
  const r = await runTraining('pretrain', loadTrainConfig('pretrain', { sets: [...sets, 'training.maxSteps=1'] }), { backend: cpu, progress: false });
  // make it look like an older run: no masking section in its saved config
  const cfgPath = join(r.runDir, 'config.json');
  const saved = JSON.parse(readFileSync(cfgPath, 'utf8'));
  delete saved.config.masking;
  writeFileSync(cfgPath, JSON.stringify(saved));
  const resumed = await runTraining('pretrain', loadTrainConfig('pretrain', { sets: [...sets, 'training.maxSteps=2'] }), { backend: cpu, progress: false, resume: true });
  assert.equal(resumed.steps, 2);
  // but a real change of the masking is refused
  await assert.rejects(
    runTraining('pretrain', loadTrainConfig('pretrain', { sets: [...sets, 'training.maxSteps=3', 'masking.strategy=span'] }), { backend: cpu, progress: false, resume: true }),
    /--resume: the config differs[\s\S]*masking\.strategy: "random" → "span"/,
  );
});

test('the CLI: tunebench pretrain --set masking.strategy=whole_word runs with it; a bad strategy names the flag', async () => {
  const vocabFile = write('vocab3.txt', vocab.join('\n') + '\n');
  const train = write('corpus3.jsonl', corpusRows(8, 4).map((r) => JSON.stringify(r)).join('\n') + '\n');
  const common = ['pretrain', '--backend', 'cpu', '-q', '--train', train, '--vocab', vocabFile, '--max-steps', '1', '--batch-size', '8',
    '--set', 'data.maxLength=16', '--set', 'model.maxPositions=16', '--set', 'model.shape={"numLayers":1,"hiddenSize":8,"numHeads":2,"intermediateSize":16}'];
  assert.match(await runTrainerCli([...common, '--out', join(dir, 'cli_bad'), '--set', 'masking.strategy=whole-word']),
    /--set masking\.strategy=whole-word: 'masking\.strategy' must be one of "random", "whole_word"/);
  assert.equal(await runTrainerCli([...common, '--out', join(dir, 'cli'), '--set', 'masking.strategy=whole_word']), '');
  const saved = JSON.parse(readFileSync(join(dir, 'cli', 'config.json'), 'utf8'));
  assert.equal(saved.config.masking.strategy, 'whole_word');
  assert.match(readFileSync(join(dir, 'cli', 'log.txt'), 'utf8'), /masking: whole_word, probability 0\.15/);
});
