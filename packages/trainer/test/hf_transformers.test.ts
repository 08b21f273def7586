// Hugging Face directories in and out, checked against transformers itself (issue #21): transformers
// 5.12.1 with torch 2.14.1 (Debian sid's python3-transformers / python3-torch, in the chroot of
// scripts/setup-hf-sid.sh) wrote and read the fixtures in test/fixtures/hf/transformers
// (scripts/hf_transformers.py, driven by hf_transformers_fixtures.ts). No Python at test time.
//
//   in   {mlm,seq_cls,token_cls}: save_pretrained of tiny random BertFor… models and their tokenizers
//        (BertTokenizer: tokenizer.json only, no vocab.txt; BertTokenizerLegacy: vocab.txt), with
//        transformers' token ids and float64 logits (model.double(), eval) in expected.json;
//   out  export_check/<name>.json: our `export hf` of each source, the sha256 of its files, and what
//        from_pretrained (Auto classes + config.architectures, output_loading_info) said of it.
//
// Tolerance, float64 against float64 on the same float32 weights: |ours − transformers| ≤
// 1e-9 + 1e-8·|transformers| (observed ≤ 5e-12: the fixtures keep 12 significant digits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, readCheckpoint } from '../src/checkpoint/index.js';
import { loadModel } from '../src/train/infer.js';
import { exportHf } from '../src/train/hf_export.js';
import { batchOf, close, ourForward, tmp } from './hf_helpers.js';
import { EXPORT_SOURCES, TRANSFORMERS_FIX, TRANSFORMERS_KINDS, exportCheck, sha256Of, transformersExpected, type ExportCheck } from './hf_transformers_fixtures.js';

const ATOL = 1e-9;
const RTOL = 1e-8;
const fixture = (kind: string) => join(TRANSFORMERS_FIX, kind);

/** Our tokenizer's ids of each text, then of the pair when there is one (the order both scripts use). */
function ourIds(m: ReturnType<typeof loadModel>, inputs: { texts: string[]; pair?: [string, string] }): number[][] {
  const ids = inputs.texts.map((t) => m.tok.encode(t).ids);
  if (inputs.pair) ids.push(m.tok.encode(inputs.pair[0], inputs.pair[1]).ids);
  return ids;
}

test('import: transformers 5 directories give transformers\' token ids (tokenizer.json without vocab.txt, BertTokenizerLegacy with it; lowercase / cased, accents, Chinese)', () => {
  const rules: Record<string, object> = {
    mlm: { lowercase: true, stripAccents: false, tokenizeChineseChars: false },
    seq_cls: { lowercase: false, stripAccents: false, tokenizeChineseChars: true },
    token_cls: { lowercase: true, stripAccents: true, tokenizeChineseChars: true },
  };
  for (const kind of TRANSFORMERS_KINDS) {
    const e = transformersExpected(kind);
    const m = loadModel(fixture(kind));
    assert.deepEqual(m.tok.basic, rules[kind], `${kind}: tokenizer_config.json's rules`);
    // transformers 5's BertTokenizer saves no vocab.txt: the vocabulary comes from tokenizer.json.
    const fromJson = e.tokenizer_class === 'BertTokenizer';
    assert.equal(existsSync(join(fixture(kind), 'vocab.txt')), !fromJson, `${kind}: ${e.tokenizer_class} files`);
    if (fromJson) assert.ok(m.notes.some((n) => /no vocab\.txt: the \d+-token WordPiece vocabulary of tokenizer\.json used/.test(n)), m.notes.join('\n'));
    assert.deepEqual(ourIds(m, e), e.ids, `${kind}: token ids (${e.tokenizer_class})`);
    // The padded batch is those ids; the pair's second segment has type 1.
    const { B, T } = e.batch;
    for (let b = 0; b < B; b++) {
      const row = e.ids[e.batchRows[b]!]!;
      assert.deepEqual(e.batch.inputIds.slice(b * T, b * T + row.length), row, `${kind}: batch row ${b}`);
    }
    const pairTypes = m.tok.encode(e.pair[0], e.pair[1]).tokenTypeIds;
    assert.ok(pairTypes.includes(1));
    assert.deepEqual(e.batch.tokenTypeIds.slice((B - 1) * T, (B - 1) * T + pairTypes.length), pairTypes, `${kind}: pair type ids`);
  }
});

test('import: transformers\' BertForMaskedLM / BertForSequenceClassification / BertForTokenClassification: heads, labels, and float64 logits within 1e-9 + 1e-8·|x|', () => {
  const heads: Record<string, object> = {
    mlm: { kind: 'mlm' },
    seq_cls: { kind: 'seq_cls', numLabels: 3, pooling: 'cls' },
    token_cls: { kind: 'token_cls', numLabels: 5 },
  };
  for (const kind of TRANSFORMERS_KINDS) {
    const e = transformersExpected(kind);
    const m = loadModel(fixture(kind));
    assert.deepEqual(m.heads, [heads[kind]], kind);
    assert.deepEqual(m.labels, e.labels ?? [], `${kind}: labels from id2label`);
    assert.ok(!m.notes.some((n) => /WARNING|initialised at random/.test(n)), `${kind}: every tensor came from the file\n${m.notes.join('\n')}`);
    close(ourForward(m, batchOf(e, kind)).logits, e.outputs.logits!, `${kind} logits vs transformers`, ATOL, RTOL);
  }
});

test('import: a tokenizer.json tunebench cannot read exactly is refused (not WordPiece, ids with gaps, added tokens outside the vocabulary)', () => {
  const edits: [string, (t: { model: Record<string, unknown>; added_tokens: unknown[] }) => void, RegExp][] = [
    ['BPE', (t) => { t.model.type = 'BPE'; }, /model\.type "BPE"; tunebench reads a WordPiece tokenizer\.json \(BERT's\) only/],
    ['gap', (t) => { (t.model.vocab as Record<string, number>).cat = 1000; }, /model\.vocab ids must be 0\.\.133, each once; "cat" has 1000/],
    ['added', (t) => { t.added_tokens.push({ id: 134, content: '<new>', special: false }); }, /added tokens outside the WordPiece vocabulary \("<new>"\)/],
  ];
  for (const [what, edit, re] of edits) {
    const dir = tmp();
    try {
      cpSync(fixture('mlm'), dir, { recursive: true });
      const p = join(dir, 'tokenizer.json');
      const t = JSON.parse(readFileSync(p, 'utf8'));
      edit(t);
      writeFileSync(p, JSON.stringify(t));
      assert.throws(() => readCheckpoint(dir), (e: Error) => e instanceof CheckpointError && re.test(e.message) ? true : assert.fail(`${what}: ${e.message}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

/** Export a source the way the committed check was made (hf_transformers_fixtures.ts); returns the export's directory. */
function exportSource(name: string, dir: string): { out: string; src: string; inputs: ExportCheck['inputs']; architecture: string } {
  const { src, inputs } = EXPORT_SOURCES[name]!(dir);
  const out = join(dir, `export-${name}`);
  return { out, src, inputs, architecture: exportHf(src, out).architecture };
}

test('export: each export is byte for byte the one transformers checked (sha256 of every file it reads)', () => {
  const dir = tmp();
  try {
    for (const name of Object.keys(EXPORT_SOURCES)) {
      const { out } = exportSource(name, dir);
      assert.deepEqual(sha256Of(out), exportCheck(name).sha256,
        `${name}: the export changed since transformers read it; if deliberate, regenerate (bash scripts/setup-hf-sid.sh && node --import tsx packages/trainer/test/hf_transformers_fixtures.ts /opt/hf-sid)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export: transformers\' from_pretrained of our exports: the right class, no missing / unexpected keys or warnings, our token ids and labels, our logits', () => {
  const dir = tmp();
  try {
    assert.deepEqual(Object.keys(EXPORT_SOURCES).sort(), ['mlm', 'roundtrip', 'seq_cls', 'token_cls']);
    for (const name of Object.keys(EXPORT_SOURCES)) {
      const { out, src, inputs, architecture } = exportSource(name, dir);
      const rec = exportCheck(name);
      const py = rec.check;
      assert.deepEqual(rec.inputs, inputs, `${name}: the inputs the check ran on`);
      assert.deepEqual(py.problems, [], name);
      assert.deepEqual(py.warnings, [], `${name}: transformers said nothing while loading`);
      assert.deepEqual(py.loading, { missing_keys: [], unexpected_keys: [], mismatched_keys: [], error_msgs: [] }, name);
      assert.equal(py.architecture, architecture, `${name}: config.json's architectures`);
      assert.equal(py.class, architecture, `${name}: the class from_pretrained built`);
      const m = loadModel(src);
      assert.deepEqual(py.labels, m.heads[0]!.kind === 'mlm' ? null : m.labels, `${name}: id2label`);
      assert.deepEqual(py.ids, ourIds(m, inputs), `${name}: transformers' AutoTokenizer on our tokenizer files`);
      const batch = batchOf(inputs, m.heads[0]!.kind);
      // Ours on the export (what transformers read) vs transformers on it: float64 both.
      close(ourForward(loadModel(out), batch).logits, py.outputs.logits, `${name}: logits of the export`, ATOL, RTOL);
      if (name === 'roundtrip') {
        // Vs the LoRA checkpoint before export: the merge rounds W + (α/r)·B·A to float32 (see hf_checkpoint.test.ts).
        close(ourForward(m, batch).logits, py.outputs.logits, `${name}: logits of the LoRA checkpoint`, 1e-5, 0);
      } else {
        // A transformers directory re-exported by us is the same model to transformers.
        close(py.outputs.logits, transformersExpected(name).outputs.logits!, `${name}: transformers on our export vs on its own save`, ATOL, RTOL);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
