// The CRF option of the token_cls head: CRF sequences from labels, the alignment properties on the
// CRF path (positions = labelled tokens, never specials or padding; decode → word labels round
// trip), BIO gold-path checks, GPU = reference with BIO constraints, and a fine-tune on a synthetic
// task with a hard transition rule where the CRF head beats the per-token softmax head.
import { test } from 'node:test';
import { gpuForTests } from '@tunebench/kernels/test-gpu';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bioAllowed, type Gpu } from '@tunebench/kernels';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';
import { alignLabels, wordLabelsFromPredictions } from '../src/data/index.js';
import {
  BertModel, bertReference, checkGoldPaths, repairIob2, crfDecode, crfLossReference, crfParamName, crfPositions, crfSequences, initParams, paramSpecs, ParamStore,
  toParams64, validateHeads, type BertConfig, type HeadSpec, type ModelBatch,
} from '../src/model/index.js';
import { GpuBackend } from '../src/train/gpu_backend.js';
import { ReferenceBackend, type TrainBackend } from '../src/train/backend.js';
import { tensorClose, tinyConfig } from './model/helpers.js';

let gpu: Gpu;
gpuForTests((g) => { gpu = g; });

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

test('crfSequences: labelled tokens in order; padding rows are distinct unused tokens of the same row (unique rows overall)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 12 }), fc.integer(), (B, T, seed) => {
      let s = seed >>> 0;
      const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      const labels = Int32Array.from({ length: B * T }, () => (rand() < 0.5 ? -100 : Math.floor(rand() * 3)));
      const seq = crfSequences(labels, B, T);
      assert.equal(new Set(seq.rows).size, seq.rows.length, 'rows are unique');
      let count = 0;
      for (let b = 0; b < B; b++) {
        const want = [...Array(T).keys()].filter((t) => labels[b * T + t] !== -100);
        assert.equal(seq.lengths[b], want.length);
        count += want.length;
        for (let i = 0; i < seq.S; i++) {
          const r = seq.rows[b * seq.S + i];
          assert.ok(r >= b * T && r < (b + 1) * T, 'a row stays in its batch row');
          if (i < want.length) {
            assert.equal(r, b * T + want[i]);
            assert.equal(seq.tags[b * seq.S + i], labels[r]);
          } else assert.equal(labels[r], -100, 'padding uses unlabelled tokens');
        }
      }
      assert.equal(seq.count, count);
    }),
    { numRuns: 300 },
  );
});

// The alignment test's tokenizer and random sentences (words may produce no token or be truncated).
const tok = WordPieceTokenizer.fromVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', 'c', 'ab', '##a', '##b', '##c', '##ab', '.', ',']);
// every word yields a token here (empty words are covered by the repair test below)
const word = fc.array(fc.constantFrom('a', 'b', 'c', 'A', '.', ','), { minLength: 1, maxLength: 6 }).map((cs) => cs.join(''));
/** Word labels that are valid IOB2 (an I-X continues an X entity), so the BIO CRF accepts them. */
const iob2 = (n: number) => fc.array(fc.constantFrom('O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'), { minLength: n, maxLength: n }).map((ls) =>
  ls.map((l, i) => (l.startsWith('I-') && !(i > 0 && ls[i - 1] !== 'O' && ls[i - 1].slice(2) === l.slice(2)) ? 'B-' + l.slice(2) : l)));
const sentence = fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(fc.array(word, { minLength: n, maxLength: n }), iob2(n)));

test('alignment on the CRF path: positions = labelled tokens (no specials, no padding); decoding the aligned path and re-aligning gives the word labels back; BIO accepts IOB2 gold', () => {
  fc.assert(
    fc.property(sentence, fc.constantFrom<'first' | 'all'>('first', 'all'), fc.option(fc.integer({ min: 3, max: 16 })), ([words, labels], mode, maxLength) => {
      // IOB2 repair above may look at a previous label that was itself repaired; fix up in order
      for (let i = 0; i < labels.length; i++) {
        if (labels[i].startsWith('I-') && (i === 0 || labels[i - 1] === 'O' || labels[i - 1].slice(2) !== labels[i].slice(2))) labels[i] = 'B-' + labels[i].slice(2);
      }
      const e = tok.encodeWords(words, null, maxLength === null ? {} : { maxLength });
      const aligned = alignLabels(e.wordIds, labels, LABELS, mode);
      const positions = crfPositions(e.wordIds, mode);
      assert.deepEqual(positions, [...aligned.keys()].filter((t) => aligned[t] !== -100), 'CRF positions = labelled tokens');
      for (const t of positions) assert.notEqual(e.wordIds[t], null, 'no special token in a CRF sequence');
      // the training-side view of the same example, padded into a batch row of T > length
      const T = e.ids.length + 3;
      const row = new Int32Array(T).fill(-100);
      row.set(aligned);
      const seq = crfSequences(row, 1, T);
      assert.deepEqual(Array.from(seq.rows.subarray(0, seq.lengths[0])), positions);
      checkGoldPaths(seq, bioAllowed(LABELS), LABELS.length, LABELS); // IOB2 word labels stay valid after alignment
      // a CRF whose emissions favour the gold tag decodes the gold path, and the word-level rule
      // (first piece's prediction) gives back every word label that kept a token
      const K = LABELS.length;
      const logits = new Float32Array(T * K);
      positions.forEach((t) => (logits[t * K + aligned[t]] = 5));
      const path = crfDecode(logits, positions, new Float32Array((K + 2) * K), bioAllowed(LABELS), K);
      const tokPred = new Int32Array(T);
      positions.forEach((t, s) => (tokPred[t] = path[s]));
      const back = wordLabelsFromPredictions(e.wordIds, tokPred, words.length, LABELS, 'O');
      const hasToken = new Set(e.wordIds.filter((w) => w !== null));
      words.forEach((_, i) => assert.equal(back[i], hasToken.has(i) ? labels[i] : 'O', `word ${i}`));
    }),
    { numRuns: 300 },
  );
});

test('BIO repair: an I-X whose B-X word produced no token becomes B-X in the CRF gold (and only then)', () => {
  const e = tok.encodeWords(['a', '', 'b', 'c'], null); // the empty word has no token
  const aligned = alignLabels(e.wordIds, ['O', 'B-LOC', 'I-LOC', 'I-LOC'], LABELS, 'first');
  const seq = crfSequences(aligned, 1, aligned.length);
  assert.deepEqual(Array.from(seq.tags.subarray(0, 3), (k) => LABELS[k]), ['O', 'I-LOC', 'I-LOC']);
  assert.throws(() => checkGoldPaths(seq, bioAllowed(LABELS), 5, LABELS), /O → I-LOC/);
  assert.equal(repairIob2(seq, LABELS), 1);
  assert.deepEqual(Array.from(seq.tags.subarray(0, 3), (k) => LABELS[k]), ['O', 'B-LOC', 'I-LOC']);
  checkGoldPaths(seq, bioAllowed(LABELS), 5, LABELS);
  assert.equal(repairIob2(seq, LABELS), 0, 'valid IOB2 is left alone');
});

test('BIO: a gold path with O → I-X is refused with the row and tags named; the head spec needs the tag names', () => {
  const labels = Int32Array.from([-100, 0, 2, -100]); // O then I-PER (given without tag names: no repair)
  assert.throws(() => crfLossReference(new Float32Array(4 * 5), labels, 1, 4, 5, new Float32Array(35), bioAllowed(LABELS)),
    /batch row 0 has 0 → 2 at labelled token 1, which the BIO constraints forbid/);
  assert.throws(() => validateHeads([{ kind: 'token_cls', numLabels: 5, crf: { constraints: 'bio' } }]), /heads\[0\]\.crf\.labels must list the 5 tag names/);
  assert.throws(() => validateHeads([{ kind: 'token_cls', numLabels: 5, crf: { constraints: 'x' as 'bio' } }]), /crf\.constraints must be 'bio' or 'none'/);
  const ps = paramSpecs(tinyConfig(), [{ kind: 'token_cls', numLabels: 5, crf: { constraints: 'none' } }]);
  assert.deepEqual(ps.find((p) => p.name === 'crf.transitions')?.shape, [7, 5]);
});

test('GPU head = float64 reference with BIO constraints: loss, emissions and every gradient (crf.transitions included; forbidden entries 0)', async () => {
  const config = tinyConfig({ vocabSize: 17, hiddenSize: 16, intermediateSize: 32, maxPositions: 10 });
  const heads: HeadSpec[] = [{ kind: 'token_cls', numLabels: 5, crf: { constraints: 'bio', labels: LABELS } }];
  const store = new ParamStore(paramSpecs(config, heads));
  initParams(store, 3, 0.3);
  const crf = store.get('crf.transitions');
  for (let i = 0; i < crf.length; i++) crf[i] = Math.sin(i * 1.7);
  const B = 3, T = 8;
  const tags = [[0, 1, 2, 2, 0, 3], [3, 4, 0, 1], [1, 3, 4, 4, 4, 0, 0]];
  const batch: ModelBatch = { B, T, inputIds: new Int32Array(B * T), attentionMask: new Int32Array(B * T), tokenTypeIds: new Int32Array(B * T), labels: new Int32Array(B * T).fill(-100) };
  tags.forEach((ys, b) => {
    for (let t = 0; t < ys.length + 2; t++) {
      batch.inputIds[b * T + t] = 5 + ((b * 7 + t * 3) % 12);
      batch.attentionMask[b * T + t] = 1;
    }
    ys.forEach((y, s) => (batch.labels[b * T + 1 + s] = y)); // [CLS] at 0 stays −100
  });
  const model = new BertModel(gpu, config, heads, store);
  try {
    const enc = gpu.encoder();
    model.zeroGrads(enc);
    model.forward(enc, batch, { grad: true });
    model.backward(enc);
    await enc.submit();
    const loss = await model.readLoss();
    const grads = await model.readGrads();
    const ref = bertReference(config, heads, toParams64(store), batch);
    assert.ok(Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss), `loss gpu ${loss} vs reference ${ref.loss}`);
    for (const s of store.specs) {
      const { offset, length } = store.range(s.name);
      tensorClose(grads.subarray(offset, offset + length), ref.grads!.get(s.name)!, `grad ${s.name}`);
    }
    const allowed = bioAllowed(LABELS);
    const { offset } = store.range('crf.transitions');
    allowed.forEach((a, e) => { if (!a) assert.equal(grads[offset + e], 0, `forbidden entry ${e} has a gradient`); });
  } finally {
    model.destroy();
  }
});

// ------------------------------------------------------------------ synthetic alternating tags
//
// Every sentence is [CLS] s x x x … [SEP]: the start token s is 'a' or 'b' (its tag A or B), every
// later token is the same 'x', and the tags must alternate (A B A B … or B A B A …). With the
// encoder frozen (head-only training), the features of an 'x' depend on its position and only
// weakly on s, and the tag is parity(position) XOR s — a per-token linear softmax cannot express
// that XOR, while the CRF gets the first tag from its own emission and the rest from the
// transitions A → B, B → A. Word accuracy on held-out sentences: the CRF ≥ 0.95, the softmax far below.

const SYN_VOCAB = 8; // 0 [PAD], 2 [CLS], 3 [SEP], 5 a, 6 b, 7 x
function syntheticBatch(seed: number, B: number, T: number): { batch: ModelBatch; words: number[][] } {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const batch: ModelBatch = { B, T, inputIds: new Int32Array(B * T), attentionMask: new Int32Array(B * T), tokenTypeIds: new Int32Array(B * T), labels: new Int32Array(B * T).fill(-100) };
  const words: number[][] = [];
  for (let b = 0; b < B; b++) {
    const n = 3 + Math.floor(rand() * (T - 4)); // words per sentence
    const start = rand() < 0.5 ? 0 : 1;
    const ws: number[] = [];
    batch.inputIds[b * T] = 2;
    for (let w = 0; w < n; w++) {
      batch.inputIds[b * T + 1 + w] = w === 0 ? 5 + start : 7;
      batch.labels[b * T + 1 + w] = (start + w) % 2;
      ws.push((start + w) % 2);
    }
    batch.inputIds[b * T + 1 + n] = 3;
    for (let t = 0; t < n + 2; t++) batch.attentionMask[b * T + t] = 1;
    words.push(ws);
  }
  return { batch, words };
}

async function fineTune(heads: HeadSpec[]): Promise<number> {
  const config: BertConfig = tinyConfig({ vocabSize: SYN_VOCAB, hiddenSize: 16, intermediateSize: 32, numLayers: 1, maxPositions: 12 });
  const store = new ParamStore(paramSpecs(config, heads));
  initParams(store, 11);
  const backend: TrainBackend = new GpuBackend(gpu, { config, heads, store, lora: null, loss: {}, maxBatch: 16, maxLength: 12 }, false);
  try {
    const head = store.specs.filter((s) => s.module === 'head');
    backend.setTrainable(head.map((s) => s.name));
    backend.load();
    const ranges = head.map((s) => ({ ...store.range(s.name), weightDecay: 0, lrScale: 1 }));
    const opt = { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1, gradAccumSteps: 1 };
    for (let step = 1; step <= 150; step++) {
      backend.zeroGrads();
      await backend.accumulate(syntheticBatch(step, 16, 12).batch, { dropoutSeed: 0, step });
      await backend.step(ranges, { lr: opt.lr, step, gradScale: 1 }, opt);
    }
    // held-out sentences, decoded as evaluate() decodes: Viterbi (CRF) or argmax (softmax)
    const { batch, words } = syntheticBatch(99991, 16, 12);
    const unlabelled = { ...batch, labels: new Int32Array(batch.labels.length).fill(-100) };
    const positionsOf = words.map((ws) => ws.map((_, w) => 1 + w));
    const pred = await backend.predict(unlabelled, { crfPositions: positionsOf });
    let right = 0, total = 0;
    words.forEach((ws, b) => {
      const positions = positionsOf[b];
      const rows = pred.logits.subarray(b * 12 * 2, (b + 1) * 12 * 2);
      const tags = pred.crfPaths ? positions.map((t) => pred.crfPaths![b * 12 + t]) : positions.map((t) => (rows[t * 2 + 1] > rows[t * 2] ? 1 : 0));
      ws.forEach((y, w) => { total++; if (tags[w] === y) right++; });
    });
    return right / total;
  } finally {
    backend.destroy();
  }
}

test('synthetic alternating tags (hard transition rule): a head-only CRF fine-tune learns the rule, the per-token softmax head cannot', async (t) => {
  const crfAcc = await fineTune([{ kind: 'token_cls', numLabels: 2, crf: { constraints: 'none' } }]);
  const softmaxAcc = await fineTune([{ kind: 'token_cls', numLabels: 2 }]);
  t.diagnostic(`held-out word accuracy: CRF ${crfAcc.toFixed(3)}, softmax ${softmaxAcc.toFixed(3)}`);
  assert.ok(crfAcc >= 0.95, `CRF word accuracy ${crfAcc.toFixed(3)} < 0.95`);
  assert.ok(softmaxAcc <= crfAcc - 0.2, `softmax word accuracy ${softmaxAcc.toFixed(3)} is not clearly below the CRF's ${crfAcc.toFixed(3)}`);
  assert.equal(crfParamName([{ kind: 'token_cls', numLabels: 2 }], 0), 'crf.transitions');
});

test('predict without labels on a BIO CRF head whose tag 0 is an I- tag: no dummy gold path; Viterbi paths (GPU: crf_viterbi) equal crfDecode on the returned logits (GPU and CPU backends)', async () => {
  const config = tinyConfig({ vocabSize: 17, hiddenSize: 16, intermediateSize: 32, maxPositions: 10 });
  const labels = ['I-PER', 'O', 'B-PER'];
  const heads: HeadSpec[] = [{ kind: 'token_cls', numLabels: 3, crf: { constraints: 'bio', labels } }];
  const store = new ParamStore(paramSpecs(config, heads));
  initParams(store, 5, 0.3);
  // non-zero transitions, so the paths depend on them and not on the emissions alone
  const tr = store.get('crf.transitions');
  for (let i = 0; i < tr.length; i++) tr[i] = Math.sin(7.3 * i + 1);
  const batch: ModelBatch = { B: 2, T: 6, inputIds: Int32Array.from({ length: 12 }, (_, i) => 5 + (i % 9)), attentionMask: new Int32Array(12).fill(1), tokenTypeIds: new Int32Array(12), labels: new Int32Array(12).fill(-100) };
  const backends: TrainBackend[] = [new GpuBackend(gpu, { config, heads, store, lora: null, loss: {}, maxBatch: 2, maxLength: 6 }, false), new ReferenceBackend(config, heads, store)];
  for (const backend of backends) {
    try {
      backend.load();
      // row 0: four tokens; row 1: gaps and the last token (sequences of unequal length)
      const positions = [[1, 2, 3, 4], [0, 2, 5]];
      assert.equal((await backend.predict(batch)).crfPaths, undefined, 'no positions, no decoding');
      const pred = await backend.predict(batch, { crfPositions: positions });
      assert.ok(Number.isNaN(pred.loss));
      assert.equal(pred.logits.length, 12 * 3);
      const paths = pred.crfPaths!;
      assert.equal(paths.length, 12);
      positions.forEach((ps, b) => {
        const want = crfDecode(pred.logits.subarray(b * 18, (b + 1) * 18), ps, store.get('crf.transitions'), bioAllowed(labels), 3);
        assert.deepEqual(ps.map((t) => paths[b * 6 + t]), Array.from(want), `${backend.device} row ${b}`);
        for (let t = 0; t < 6; t++) if (!ps.includes(t)) assert.equal(paths[b * 6 + t], -1);
      });
      assert.notEqual(labels[paths[1]], 'I-PER', 'a BIO path cannot start inside an entity');
    } finally {
      backend.destroy();
    }
  }
});
