// The round-trip fixture of hf_checkpoint.test.ts: a tunebench checkpoint made deterministically
// here (token classification with a BIO CRF, a LoRA adapter on query / value, cased-off
// tokenizer keeping accents), exported with `tunebench export hf`, and read by
// scripts/hf_bert.py check. test/fixtures/hf/roundtrip/ holds that export and what the script
// said about it (python_check.json), so the check stands without Python at test time.
//
// Regenerate (after a deliberate change of the export format):
//   node --import tsx packages/trainer/test/hf_roundtrip.ts packages/trainer/test/fixtures/hf/roundtrip
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { gaussian, mulberry32, paramSpecs, ParamStore, type BertConfig, type HeadSpec, type LoraConfig } from '../src/model/index.js';
import { hfConfig, writeCheckpoint } from '../src/checkpoint/index.js';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';
import { exportHf } from '../src/train/hf_export.js';

const VOCAB = fileURLToPath(new URL('./fixtures/hf/seq_cls/vocab.txt', import.meta.url));
const LABELS = ['O', 'B-ANIMAL', 'I-ANIMAL'];
const TOKENIZER = { lowercase: true, stripAccents: false, tokenizeChineseChars: true };
const TEXTS = ['The big cat sat on the mat.', 'Café dogs jump!', 'hello 中文 world'];

function vocab(): string[] {
  return readFileSync(VOCAB, 'utf8').replace(/\n$/, '').split('\n');
}

/** The inputs the script ran on: texts and the padded batch of their ids under the checkpoint's tokenizer. */
export const ROUNDTRIP_INPUTS = (() => {
  const tok = WordPieceTokenizer.fromVocab(vocab(), TOKENIZER);
  const rows = TEXTS.map((t) => tok.encode(t).ids);
  const T = Math.max(...rows.map((r) => r.length));
  const inputIds: number[] = [], attentionMask: number[] = [], tokenTypeIds: number[] = [];
  for (const r of rows) {
    for (let t = 0; t < T; t++) {
      inputIds.push(r[t] ?? 0);
      attentionMask.push(t < r.length ? 1 : 0);
      tokenTypeIds.push(0);
    }
  }
  return { texts: TEXTS, batch: { B: rows.length, T, inputIds, attentionMask, tokenTypeIds } };
})();

/** Write the tunebench checkpoint (deterministic: every parameter from one seeded Gaussian stream). */
export function makeRoundtripCheckpoint(dir: string): void {
  const v = vocab();
  const config: BertConfig = {
    vocabSize: v.length, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 32, typeVocabSize: 2,
    hiddenDropout: 0.1, attentionDropout: 0.1, layerNormEps: 1e-12, initializerRange: 0.02, hiddenAct: 'gelu',
  };
  const heads: HeadSpec[] = [{ kind: 'token_cls', numLabels: 3, crf: { constraints: 'bio', labels: LABELS, align: 'first' } }];
  const lora: LoraConfig = { r: 2, alpha: 4, dropout: 0, targets: ['query', 'value'] };
  const store = new ParamStore(paramSpecs(config, heads, lora));
  const g = gaussian(mulberry32(2021));
  for (const s of store.specs) {
    const x = store.get(s.name);
    for (let i = 0; i < x.length; i++) x[i] = (s.init === 'ones' ? 1 : 0) + (s.init === 'ones' ? 0.2 : s.module === 'lora' ? 0.2 : 0.3) * g();
  }
  const task = { kind: 'token_cls', labels: LABELS, labelAllTokens: false, crf: true, crfConstraints: 'bio', mlmProbability: 0.15 };
  writeCheckpoint(dir, store, { config: hfConfig(config, { heads, labels: LABELS, task, lora, tokenizer: TOKENIZER }, 'BertForTokenClassification'), vocab: v });
}

// Regenerate the committed fixture.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: hf_roundtrip.ts OUT_DIR');
  const tmp = join(out, '.tunebench-src');
  rmSync(tmp, { recursive: true, force: true });
  makeRoundtripCheckpoint(tmp);
  mkdirSync(out, { recursive: true });
  exportHf(tmp, join(out, 'export'), { force: true });
  rmSync(tmp, { recursive: true, force: true });
  const inputs = join(out, 'inputs.json');
  writeFileSync(inputs, JSON.stringify(ROUNDTRIP_INPUTS) + '\n');
  const script = fileURLToPath(new URL('../scripts/hf_bert.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script, 'check', join(out, 'export'), inputs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hf_bert.py check failed:\n${r.stderr}`);
  writeFileSync(join(out, 'python_check.json'), r.stdout);
  console.log(`wrote ${out}/export, inputs.json and python_check.json`);
}
