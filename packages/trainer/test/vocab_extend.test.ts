// Vocabulary extension of a checkpoint (`tunebench vocab extend`, tokenizer.extendCorpus) and
// `tunebench vocab stats` (issue #17), on a tiny English base model trained here (float64 CPU
// reference backend, exact and fast):
//   - old ids and old tokenization unchanged; old embedding / decoder-bias entries bit-identical
//   - each initialisation rule exactly (mean, sub-token composition; mean-noise and random
//     reproducible from the seed)
//   - the extended checkpoint loads, fine-tunes, evaluates; continued pretraining on it resumes
//     bit-exactly (with two-stage freezing, strategy.unfreezeAllAt)
//   - the trainer's tokenizer.extendCorpus path builds the same model as the command
//   - vocab stats against hand-computed values
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadTrainConfig, loadInferConfig } from '../src/config/index.js';
import { runTraining, runInference, backendFactory, extendCheckpoint, checkpointTokenizer, extensionCorpusTexts, mlmHoldout, type GrowInit } from '../src/train/index.js';
import { readCheckpoint, writeCheckpoint } from '../src/checkpoint/index.js';
import { WordPieceTokenizer, vocabStats, initAddedRows, subtokenPieces } from '../src/tokenizer/index.js';
import { seededRng, randNormal } from '../src/data/rng.js';
import { growSeed } from '../src/train/vocab_extend.js';
import { jiebaSegmenter } from '../src/data/chinese.js';
import { runTrainerCli } from './cli_helpers.js';
import { scratchDir } from './scratch_files.js';

const { dir, write, jsonl } = scratchDir('tb-vocab-');
const cpu = backendFactory('cpu');
const SHAPE = { numLayers: 2, hiddenSize: 16, numHeads: 2, intermediateSize: 32 };

// English base: its vocabulary has 'ber' and '##lin' so that a grown 'berlin' has two old pieces.
const EN = ['the', 'man', 'went', 'to', 'see', 'and', 'met', 'ber', '##lin', '##s', 'a'];
const baseVocab = write('base_vocab.txt', ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...EN].join('\n') + '\n');
const enCorpus = jsonl('en.jsonl', Array.from({ length: 60 }, (_, i) => ({ id: `e${i}`, text: `the man went to see ${i % 2 ? 'berlin' : 'a man'} and met the ${i % 3 ? 'men' : 'man'}` })));
const ZH = ['猫', '狗', '日', '月', '树', '雨', '火', '书', '山', '水'];
const zhText = (i: number) => Array.from({ length: 6 }, (_, k) => ZH[(i * 7 + k * 3) % ZH.length]).join('');
const zhCorpus = jsonl('zh.jsonl', Array.from({ length: 40 }, (_, i) => ({ id: `z${i}`, text: zhText(i) })));
const BASE = join(dir, 'base', 'checkpoint');

const trainCfg = (command: 'pretrain' | 'finetune', out: string, extra: Record<string, unknown>) =>
  loadTrainConfig(command, {
    file: write(`${out}.json`, JSON.stringify({
      outputDir: join(dir, out),
      model: { shape: SHAPE, maxPositions: 16, hiddenDropout: 0, attentionDropout: 0 },
      data: { maxLength: 16 },
      optimizer: { lr: 1e-2, weightDecay: 0 },
      training: { batchSize: 8, maxSteps: 4, logEvery: 2 },
      ...extra,
    })),
  });

const baseReady = runTraining('pretrain', trainCfg('pretrain', 'base', { tokenizer: { vocab: baseVocab }, data: { train: enCorpus, maxLength: 16 } }), { backend: cpu, progress: false });

const EMB = 'bert.embeddings.word_embeddings.weight';
const extended = new Map<GrowInit, string>();
async function extendWith(init: GrowInit, seed = 3): Promise<string> {
  await baseReady;
  const out = join(dir, `ext_${init}`);
  extendCheckpoint({ baseDir: BASE, corpus: Array.from({ length: 40 }, (_, i) => zhText(i)), size: 32, init, seed, minFrequency: 1, outDir: out });
  extended.set(init, out);
  return out;
}

test('vocab extend: old ids, old tokenization and old rows unchanged; every initialisation rule exact', async () => {
  await baseReady;
  const base = readCheckpoint(BASE);
  const V = base.vocab!.length, H = SHAPE.hiddenSize;
  const oldW = base.weights.get(EMB)!.data;
  const baseTok = checkpointTokenizer(base);
  for (const init of ['mean', 'mean-noise', 'subtoken', 'normal'] as const) {
    const ck = readCheckpoint(await extendWith(init));
    const tok = checkpointTokenizer(ck);
    assert.deepEqual(ck.vocab!.slice(0, V), base.vocab, `${init}: old ids`);
    assert.deepEqual(ck.vocab!.slice(V).sort(), [...ZH].sort(), `${init}: the ten Chinese characters are added`);
    assert.equal(ck.config.vocab_size, V + ZH.length);
    const w = ck.weights.get(EMB)!;
    assert.deepEqual(w.shape, [V + ZH.length, H]);
    assert.deepEqual(w.data.subarray(0, V * H), oldW, `${init}: old rows bit-identical`);
    const bias = ck.weights.get('cls.predictions.bias')!.data;
    assert.deepEqual(bias.subarray(0, V), base.weights.get('cls.predictions.bias')!.data);
    assert.ok(bias.subarray(V).every((b) => b === 0), 'new decoder-bias entries are 0');
    for (const [name, t] of base.weights) if (name !== EMB && name !== 'cls.predictions.bias') assert.deepEqual(ck.weights.get(name)!.data, t.data, name);
    const added = w.data.subarray(V * H);
    if (init === 'mean') {
      for (let c = 0; c < H; c++) {
        let m = 0;
        for (let r = 0; r < V; r++) m += oldW[r * H + c];
        for (let r = 0; r < ZH.length; r++) assert.equal(added[r * H + c], Math.fround(m / V));
      }
    } else if (init === 'subtoken') {
      // Each new token is a character the old vocabulary lacks: the old tokenizer made it [UNK].
      // No informative piece, so each gets the mean of the old rows + N(0, 0.02²) from the growth seed's stream, in row order.
      const pieces = subtokenPieces(baseTok, ck.vocab!.slice(V));
      for (const p of pieces) assert.deepEqual(p, [baseTok.specialIds.unk]);
      const z = seededRng(growSeed(3));
      for (let r = 0; r < ZH.length; r++) {
        for (let c = 0; c < H; c++) {
          let m = 0;
          for (let o = 0; o < V; o++) m += oldW[o * H + c];
          assert.equal(added[r * H + c], Math.fround(m / V + 0.02 * randNormal(z)), `row ${r} col ${c}`);
        }
      }
      const unkRow = oldW.subarray(baseTok.specialIds.unk * H, (baseTok.specialIds.unk + 1) * H);
      for (let r = 0; r < ZH.length; r++) assert.notDeepEqual(added.subarray(r * H, (r + 1) * H), unkRow, 'no longer the [UNK] row');
      assert.equal(new Set(Array.from({ length: ZH.length }, (_, r) => added.subarray(r * H, (r + 1) * H).join(','))).size, ZH.length, 'the new characters start distinct');
    } else {
      // mean-noise / normal: the library rule with the seed's stream, bit for bit; a second call agrees.
      const rule = init === 'normal' ? { method: 'normal' as const, rng: seededRng(growSeed(3)), std: 0.02 } : { method: 'mean-noise' as const, rng: seededRng(growSeed(3)) };
      assert.deepEqual(added, initAddedRows(oldW, V, H, ZH.length, rule));
    }
    // Old-language text tokenizes exactly as before (only old characters; any order, spaces).
    const alphabet = [...new Set(EN.join('').replace(/#/g, ''))];
    fc.assert(fc.property(fc.array(fc.constantFrom(...alphabet, ' ', ' '), { maxLength: 30 }), (cs) => {
      const text = cs.join('');
      assert.deepEqual(tok.tokenizeToIds(text), baseTok.tokenizeToIds(text));
    }), { numRuns: 200 });
    // Chinese text is covered now: no [UNK] left.
    assert.ok(!tok.tokenizeToIds(zhText(5)).includes(tok.specialIds.unk));
    assert.ok(baseTok.tokenizeToIds(zhText(5)).every((id) => id === baseTok.specialIds.unk));
  }
});

test('trainer growth path: subtoken rows = mean of the rows of the old pieces (berlin = mean(ber, ##lin))', async () => {
  await baseReady;
  const base = readCheckpoint(BASE);
  const V = base.vocab!.length, H = SHAPE.hiddenSize;
  const vocab = write('grown_vocab.txt', [...base.vocab!, 'berlin', '猫'].join('\n') + '\n');
  const cfg = trainCfg('pretrain', 'grown_sub', {
    model: { init: BASE, hiddenDropout: 0, attentionDropout: 0 }, tokenizer: { vocab, growInit: 'subtoken' },
    data: { train: enCorpus, maxLength: 16 }, optimizer: { lr: 0 }, training: { batchSize: 8, maxSteps: 1, logEvery: 1 },
  });
  const r = await runTraining('pretrain', cfg, { backend: cpu, progress: false });
  const w = r.store.get(EMB), old = base.weights.get(EMB)!.data;
  const ber = base.vocab!.indexOf('ber'), lin = base.vocab!.indexOf('##lin'), unk = base.vocab!.indexOf('[UNK]');
  // '猫' is [UNK] to the old tokenizer: the fallback (mean + seeded noise), the one fallback row of the stream.
  const fallback = initAddedRows(old, V, H, 1, { method: 'subtoken', pieces: [[unk]], unkId: unk, fallback: { rng: seededRng(growSeed(cfg.seeds.init)), std: 0.02 } });
  for (let c = 0; c < H; c++) {
    assert.equal(w[V * H + c], Math.fround((old[ber * H + c] + old[lin * H + c]) / 2));
    assert.equal(w[(V + 1) * H + c], fallback[c]);
  }
  assert.notDeepEqual(w.subarray((V + 1) * H, (V + 2) * H), old.subarray(unk * H, (unk + 1) * H));
  assert.match(readFileSync(join(dir, 'grown_sub', 'log.txt'), 'utf8'), /vocabulary grown by 2 tokens \(subtoken init\)/);
});

test('tokenizer.extendCorpus in a run builds the same model as vocab extend', async () => {
  const ext = readCheckpoint(extended.get('mean') ?? (await extendWith('mean')));
  const r = await runTraining('pretrain', trainCfg('pretrain', 'inrun', {
    model: { init: BASE, hiddenDropout: 0, attentionDropout: 0 }, tokenizer: { extendCorpus: zhCorpus, extendSize: 32, minFrequency: 1, growInit: 'mean' },
    data: { train: zhCorpus, maxLength: 16 }, optimizer: { lr: 0 }, training: { batchSize: 8, maxSteps: 1, logEvery: 1 },
  }), { backend: cpu, progress: false });
  assert.deepEqual(readCheckpoint(join(dir, 'inrun', 'checkpoint')).vocab, ext.vocab);
  assert.deepEqual(r.store.get(EMB), ext.weights.get(EMB)!.data);
  await assert.rejects(
    runTraining('pretrain', trainCfg('pretrain', 'bad_ext', { tokenizer: { extendCorpus: zhCorpus }, data: { train: zhCorpus, maxLength: 16 } }), { backend: cpu, progress: false }),
    /tokenizer\.extendCorpus .* set model\.init/,
  );
});

test("the extension WordPiece never sees held-out rows: the trainer's 2 % rule on the whole corpus, and a run's own dev rows", async () => {
  await baseReady;
  // 100 rows: mlmHoldout holds 2 out; a run that reads only the first 60 holds 1 of those out.
  // Each held-out row carries a character no other row has, so a WordPiece (minFrequency 1) fitted on it would add it.
  const N = 100, LIMIT = 60;
  const heldAll = new Set(mlmHoldout(Array.from({ length: N }, (_, i) => i)).dev);
  const heldRun = new Set(mlmHoldout(Array.from({ length: LIMIT }, (_, i) => i)).dev);
  const RARE = ['龍', '鳳', '麟', '龜'];
  const marked = [...heldAll, ...[...heldRun].filter((i) => !heldAll.has(i))];
  assert.ok(marked.length >= 2 && marked.length <= RARE.length);
  const rareOf = new Map(marked.map((i, k) => [i, RARE[k]!]));
  const texts = Array.from({ length: N }, (_, i) => zhText(i) + (rareOf.get(i) ?? ''));
  const corpus = jsonl('zh100.jsonl', texts.map((text, i) => ({ id: `h${i}`, text })));
  const fitted = extensionCorpusTexts(corpus);
  assert.deepEqual(fitted, texts.filter((_, i) => !heldAll.has(i)), 'the corpus less exactly its held-out rows, in order');
  const fittedRun = extensionCorpusTexts(corpus, [...heldRun].map((i) => texts[i]!));
  for (const i of heldRun) assert.ok(!fittedRun.includes(texts[i]!));
  // vocab extend (the command's corpus): none of the held-out rows' characters is added; the control (all rows) adds them.
  const out = join(dir, 'ext_heldout');
  const { extension } = extendCheckpoint({ baseDir: BASE, corpus: fitted, size: 40, init: 'mean', minFrequency: 1, outDir: out });
  for (const i of heldAll) assert.ok(!extension.addedTokens.includes(rareOf.get(i)!), `held-out character ${rareOf.get(i)} added`);
  const control = extendCheckpoint({ baseDir: BASE, corpus: texts, size: 40, init: 'mean', minFrequency: 1, outDir: join(dir, 'ext_heldout_ctl') });
  for (const i of heldAll) assert.ok(control.extension.addedTokens.includes(rareOf.get(i)!), 'control: the character is learnable');
  // In a run (tokenizer.extendCorpus, training on the first 60 rows): neither the corpus's nor the run's held-out characters.
  await runTraining('pretrain', trainCfg('pretrain', 'inrun_heldout', {
    model: { init: BASE, hiddenDropout: 0, attentionDropout: 0 }, tokenizer: { extendCorpus: corpus, extendSize: 40, minFrequency: 1, growInit: 'mean' },
    data: { train: corpus, maxTrainRows: LIMIT, maxLength: 16 }, optimizer: { lr: 0 }, training: { batchSize: 8, maxSteps: 1, logEvery: 1 },
  }), { backend: cpu, progress: false });
  const v = readCheckpoint(join(dir, 'inrun_heldout', 'checkpoint')).vocab!;
  for (const ch of rareOf.values()) assert.ok(!v.includes(ch), `${ch} in the run's vocabulary`);
  assert.ok(v.includes('猫'));
});

test('an extended checkpoint fine-tunes and evaluates; continued pretraining on it (two-stage freezing) resumes bit-exactly', async () => {
  const ext = extended.get('subtoken') ?? (await extendWith('subtoken'));
  const rows = (n: number, seed: number) => Array.from({ length: n }, (_, i) => {
    const k = (i * 13 + seed) % 2;
    return { id: `c${seed}-${i}`, text: k ? `猫狗${ZH[i % 10]}猫` : `山水${ZH[(i + 3) % 10]}水`, label: k ? 'animal' : 'land' };
  });
  const train = jsonl('cls_train.jsonl', rows(32, 1)), devF = jsonl('cls_dev.jsonl', rows(16, 2));
  const ft = await runTraining('finetune', trainCfg('finetune', 'ext_ft', { model: { init: ext, hiddenDropout: 0, attentionDropout: 0 }, data: { train, dev: devF, maxLength: 16 }, training: { batchSize: 8, maxSteps: 6, logEvery: 3 } }), { backend: cpu, progress: false });
  const dev = (ft.metrics as { dev: { accuracy: number } }).dev;
  const ev = await runInference('evaluate', loadInferConfig('evaluate', { sets: [`outputDir=${join(dir, 'ext_ev')}`, `checkpoint=${join(dir, 'ext_ft', 'checkpoint')}`, `data.file=${devF}`] }), cpu, { progress: false });
  assert.equal((ev.metrics as { accuracy: number }).accuracy, dev.accuracy);
  assert.equal(readCheckpoint(join(dir, 'ext_ft', 'checkpoint')).vocab!.length, readCheckpoint(ext).vocab!.length);

  // Mixed zh + en continued pretraining, lower layer frozen (top_k 1, embeddings trained) for the first half, then everything.
  const pre = (out: string) => trainCfg('pretrain', out, {
    model: { init: ext, hiddenDropout: 0, attentionDropout: 0 }, data: { train: zhCorpus, general: enCorpus, generalRatio: 0.2, maxLength: 16 },
    strategy: { name: 'top_k', k: 1, embeddings: 'trained', unfreezeAllAt: 0.5 }, optimizer: { lr: 3e-3, weightDecay: 0.01 },
    training: { batchSize: 8, maxSteps: 8, logEvery: 1, saveEvery: 2, evalEvery: 0 },
  });
  const full = await runTraining('pretrain', pre('pt_full'), { backend: cpu, progress: false });
  assert.match(readFileSync(join(dir, 'pt_full', 'log.txt'), 'utf8'), /step 4: unfroze to \d+ tensors/);
  const cfgK = pre('pt_killed');
  await runTraining('pretrain', cfgK, { backend: cpu, progress: false, stopAfterStep: 3 });
  const resumed = await runTraining('pretrain', cfgK, { backend: cpu, progress: false, resume: true });
  assert.equal(resumed.steps, 8);
  assert.equal(Buffer.compare(Buffer.from(resumed.store.data.buffer), Buffer.from(full.store.data.buffer)), 0, 'final weights differ');
  // The English (general) corpus's held-out MLM loss (2 % of its 60 rows = 1 row, not trained on), the same after the resume.
  const devGeneral = (full.metrics as { devGeneral: { loss: number } | null }).devGeneral;
  assert.ok(devGeneral && Number.isFinite(devGeneral.loss) && devGeneral.loss > 0);
  assert.deepEqual((resumed.metrics as { devGeneral: unknown }).devGeneral, devGeneral);
  // the frozen lower layer did not move in the first stage, and did after
  const baseW = readCheckpoint(ext).weights;
  const L0 = 'bert.encoder.layer.0.attention.self.query.weight';
  await runTraining('pretrain', pre('pt_stage1'), { backend: cpu, progress: false, stopAfterStep: 4 });
  const st1 = readCheckpoint(join(dir, 'pt_stage1', 'checkpoint'));
  assert.deepEqual(st1.weights.get(L0)!.data, baseW.get(L0)!.data);
  assert.notDeepEqual(st1.weights.get(EMB)!.data, baseW.get(EMB)!.data);
  assert.notDeepEqual(full.store.get(L0), baseW.get(L0)!.data);
});

test('vocab stats: hand-computed values on a small fixture', async () => {
  const tok = WordPieceTokenizer.fromVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', '##s', '猫', '，']);
  const texts = ['the cats sat', '猫狗，the dog'];
  // "the cats sat": the | cat ##s | sat → 4 tokens, 10 characters, 3 words, none [UNK].
  // "猫狗，the dog": 猫 | [UNK] | ， | the | [UNK] → 5 tokens (2 [UNK]), 9 characters; covered 猫 ， the = 5.
  const seg = (t: string) => (t === '猫狗，the dog' ? ['猫狗', '，', 'the', ' ', 'dog'] : assert.fail(`unexpected ${t}`));
  const s = vocabStats(tok, texts, seg);
  assert.equal(s.characters, 19);
  assert.equal(s.tokens, 9);
  assert.equal(s.unkTokens, 2);
  assert.equal(s.unkRate, 2 / 9);
  assert.equal(s.tokensPerCharacter, 9 / 19);
  assert.equal(s.segmentedWords, 3 + 4);
  assert.equal(s.tokensPerSegmentedWord, 9 / 7);
  assert.equal(s.wordUnit, 'mixed');
  assert.equal(s.wordCharacters, 19);
  assert.equal(s.coveredCharacters, 15);
  assert.equal(s.coveredCharacterShare, 15 / 19);

  // The command: a checkpoint directory with that vocabulary, the texts as a JSONL file, JSON out.
  const ck = join(dir, 'stats_ck');
  const H = 4;
  writeCheckpoint(ck, { specs: [{ name: EMB, shape: [tok.vocabSize, H] }], get: () => new Float32Array(tok.vocabSize * H) }, { config: { vocab_size: tok.vocabSize }, vocab: [...tok.vocab.tokens] });
  const file = jsonl('stats.jsonl', texts.map((text, i) => ({ id: `s${i}`, text })));
  const out = join(dir, 'stats.json');
  assert.equal(await runTrainerCli(['vocab', 'stats', '--checkpoint', ck, '--dataset', file, '--json', out, '-q']), '');
  const j = JSON.parse(readFileSync(out, 'utf8'));
  const jiebaWords = jiebaSegmenter('猫狗，the dog').filter((w) => w.trim() !== '').length;
  assert.deepEqual({ ...j, checkpoint: undefined, dataset: undefined, split: undefined }, { ...s, segmentedWords: 3 + jiebaWords, tokensPerSegmentedWord: 9 / (3 + jiebaWords), checkpoint: undefined, dataset: undefined, split: undefined });
  assert.match(await runTrainerCli(['vocab', 'extend', '--base', ck, '--corpus', file, '--init', 'fancy', '--out', join(dir, 'x')]), /Allowed choices are mean, mean_noise, subtoken, random/);
});
