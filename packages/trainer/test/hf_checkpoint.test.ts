// Hugging Face BERT directories in (--init / --checkpoint) and out (`tunebench export hf`), checked
// from outside: test/fixtures/hf/{mlm,seq_cls,base} were written by scripts/hf_bert.py (Debian's
// python3-torch, no tunebench code, no transformers) with its own WordPiece ids and float64 outputs.
// Bounds: our float64 reference vs the script's float64 forward on the same float32 weights,
// |ours − torch| ≤ 1e-9 + 1e-8·|torch| (the GPU bound is in hf_checkpoint_gpu.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { readCheckpoint, encodeSafetensors, CheckpointError } from '../src/checkpoint/index.js';
import { loadModel } from '../src/train/infer.js';
import { exportHf } from '../src/train/hf_export.js';
import { runTrainerCli } from './cli_helpers.js';
import { makeRoundtripCheckpoint, ROUNDTRIP_INPUTS } from './hf_roundtrip.js';
import { batchOf, close, ourForward, tmp, type Expected } from './hf_helpers.js';

const FIX = fileURLToPath(new URL('./fixtures/hf/', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../scripts/hf_bert.py', import.meta.url));
const fixture = (name: string) => join(FIX, name);

const expected = (name: string) => JSON.parse(readFileSync(join(fixture(name), 'expected.json'), 'utf8')) as Expected;

test('import: our tokenizer gives the script\'s WordPiece ids under each tokenizer_config.json (cased, accents kept, Chinese unsplit, defaults)', () => {
  for (const name of ['mlm', 'seq_cls', 'base']) {
    const e = expected(name);
    const m = loadModel(fixture(name));
    const ids = [...e.texts.map((t) => m.tok.encode(t).ids), m.tok.encode(e.pair[0], e.pair[1]).ids];
    assert.deepEqual(ids, e.ids, `${name}: token ids`);
    const types = m.tok.encode(e.pair[0], e.pair[1]).tokenTypeIds;
    assert.deepEqual(types, e.batch.tokenTypeIds.slice((e.batch.B - 1) * e.batch.T, (e.batch.B - 1) * e.batch.T + types.length), `${name}: pair type ids`);
  }
  const opts = (n: string) => loadModel(fixture(n)).tok.basic;
  assert.deepEqual(opts('mlm'), { lowercase: true, stripAccents: false, tokenizeChineseChars: false });
  assert.deepEqual(opts('seq_cls'), { lowercase: false, stripAccents: false, tokenizeChineseChars: true });
  assert.deepEqual(opts('base'), { lowercase: true, stripAccents: true, tokenizeChineseChars: true });
});

test('import: BertForMaskedLM (bert.-prefixed, tied decoder written out, position_ids buffer) matches the script\'s float64 logits', () => {
  const e = expected('mlm');
  const m = loadModel(fixture('mlm'));
  assert.deepEqual(m.heads, [{ kind: 'mlm' }]);
  assert.ok(m.notes.some((n) => /Hugging Face BertForMaskedLM/.test(n)), m.notes.join('\n'));
  assert.ok(m.notes.some((n) => /dropped buffer\(s\) bert\.embeddings\.position_ids/.test(n)), m.notes.join('\n'));
  close(ourForward(m, batchOf(e, 'mlm')).logits, e.outputs.logits!, 'mlm logits');
});

test('import: BertForSequenceClassification: labels from id2label, logits match the script', () => {
  const e = expected('seq_cls');
  const m = loadModel(fixture('seq_cls'));
  assert.deepEqual(m.labels, ['negative', 'neutral', 'positive']);
  assert.deepEqual(m.heads, [{ kind: 'seq_cls', numLabels: 3, pooling: 'cls' }]);
  close(ourForward(m, batchOf(e, 'seq_cls')).logits, e.outputs.logits!, 'seq_cls logits');
});

test('import: a bare-named BertModel: last hidden states and mean-pooled embeddings match the script', () => {
  const e = expected('base');
  const m = loadModel(fixture('base'));
  assert.deepEqual(m.heads, [{ kind: 'embedding', normalize: true }]);
  assert.ok(m.notes.some((n) => /ignored bert\.pooler\.dense\.bias, bert\.pooler\.dense\.weight \(not used by the embedding head\)/.test(n)), m.notes.join('\n'));
  const r = ourForward(m, batchOf(e, 'embedding'));
  close(r.hidden, e.outputs.last_hidden_state!, 'last_hidden_state');
  const H = m.config.hiddenSize;
  const mean = e.outputs.mean_pooled!;
  const normalised: number[] = [];
  for (let b = 0; b < mean.length / H; b++) {
    const row = mean.slice(b * H, (b + 1) * H);
    const n = Math.hypot(...row);
    normalised.push(...row.map((x) => x / n));
  }
  close(r.logits, normalised, 'L2-normalised mean pooling');
});

test('predict --checkpoint on a Hugging Face directory: probabilities from text match softmax of the script\'s logits', async () => {
  const dir = tmp();
  try {
    const e = expected('seq_cls');
    const file = join(dir, 'rows.jsonl');
    writeFileSync(file, e.texts.map((t, i) => JSON.stringify({ id: `r${i}`, text: t })).join('\n') + '\n');
    const out = join(dir, 'pred');
    assert.equal(await runTrainerCli(['predict', '--checkpoint', fixture('seq_cls'), '--file', file, '--out', out, '--backend', 'cpu', '-q']), '');
    const preds = readFileSync(join(out, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; label: string; probs: number[] });
    assert.equal(preds.length, e.texts.length);
    preds.forEach((p, i) => {
      const z = e.outputs.logits!.slice(i * 3, i * 3 + 3);
      const mx = Math.max(...z);
      const ex = z.map((v) => Math.exp(v - mx));
      const s = ex.reduce((a, b) => a + b, 0);
      close(p.probs, ex.map((v) => v / s), `probs of ${p.id}`, 1e-9, 1e-7);
      assert.equal(p.label, e.labels![z.indexOf(mx)]);
    });
    const log = readFileSync(join(out, 'log.txt'), 'utf8');
    assert.match(log, /as a Hugging Face BertForSequenceClassification \(seq_cls head, labels negative, neutral, positive/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function trainFile(dir: string, labels: string[]): string {
  const rows = ['the cat sat', 'a big dog', 'hello world', 'the small mat', 'run and jump', 'cafe on the mat'];
  const file = join(dir, 'train.jsonl');
  writeFileSync(file, rows.map((t, i) => JSON.stringify({ id: `t${i}`, text: t, label: labels[i % labels.length] })).join('\n') + '\n');
  return file;
}

test('finetune --init a Hugging Face BertForMaskedLM: encoder loaded, missing pooler and classifier initialised and reported, the MLM head ignored and reported', async () => {
  const dir = tmp();
  try {
    const out = join(dir, 'run');
    const err = await runTrainerCli(['finetune', '--init', fixture('mlm'), '--train', trainFile(dir, ['x', 'y']), '--out', out,
      '--max-steps', '1', '--batch-size', '2', '--lr', '0', '--backend', 'cpu', '-q', '--set', 'data.maxLength=16']);
    assert.equal(err, '');
    const log = readFileSync(join(out, 'log.txt'), 'utf8');
    assert.match(log, /read .*mlm as a Hugging Face BertForMaskedLM/);
    assert.match(log, /loaded \d+ tensors from .*mlm; new: bert\.pooler\.dense\.weight, bert\.pooler\.dense\.bias, classifier\.weight, classifier\.bias; unused: cls\.predictions\.bias, cls\.predictions\.transform/);
    // The run's checkpoint records the base's tokenizer rules (lowercase, accents kept, Chinese unsplit).
    const ck = readCheckpoint(join(out, 'checkpoint'));
    assert.deepEqual((ck.config.tunebench as { tokenizer: unknown }).tokenizer, { lowercase: true, stripAccents: false, tokenizeChineseChars: false });
    // lr 0: the run's encoder is the fixture's, every tensor of it.
    const src = readCheckpoint(fixture('mlm')).weights;
    for (const [name, t] of ck.weights) if (name.startsWith('bert.') && !name.startsWith('bert.pooler.')) assert.deepEqual(t.data, src.get(name)!.data, name);
    assert.equal(ck.hf, null, 'the run wrote one of our checkpoints');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finetune --init a Hugging Face classifier: kept for the same labels, rows reordered for the same set, dropped for others', async () => {
  const dir = tmp();
  try {
    const run = async (labels: string[], name: string) => {
      const out = join(dir, name);
      const err = await runTrainerCli(['finetune', '--init', fixture('seq_cls'), '--train', trainFile(dir, labels), '--out', out,
        '--max-steps', '1', '--batch-size', '2', '--lr', '0', '--backend', 'cpu', '-q', '--set', 'data.maxLength=16', '--set', `task.labels=${JSON.stringify(labels)}`]);
      assert.equal(err, '');
      return { log: readFileSync(join(out, 'log.txt'), 'utf8'), ck: readCheckpoint(join(out, 'checkpoint')) };
    };
    const src = readCheckpoint(fixture('seq_cls')).weights.get('classifier.weight')!.data;
    const H = 32;
    const same = await run(['negative', 'neutral', 'positive'], 'same');
    assert.match(same.log, /kept the classifier of .*seq_cls \(same labels, same order\)/);
    assert.deepEqual(same.ck.weights.get('classifier.weight')!.data, src, 'lr 0: the classifier is the fixture\'s');
    const perm = await run(['positive', 'negative', 'neutral'], 'perm');
    assert.match(perm.log, /rows reordered to this run's labels \(positive, negative, neutral\)/);
    const w = perm.ck.weights.get('classifier.weight')!.data;
    assert.deepEqual(w.subarray(0, H), src.subarray(2 * H, 3 * H), 'row of positive');
    assert.deepEqual(w.subarray(H, 2 * H), src.subarray(0, H), 'row of negative');
    const other = await run(['spam', 'ham'], 'other');
    assert.match(other.log, /classifier of .*seq_cls \(labels negative, neutral, positive\) is not used: its labels differ/);
    assert.match(other.log, /new: classifier\.weight, classifier\.bias/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Errors: each names the file and what to do.

function variant(base: string, edit: (dir: string) => void): string {
  const dir = tmp();
  cpSync(fixture(base), dir, { recursive: true });
  edit(dir);
  return dir;
}
const editConfig = (dir: string, f: (c: Record<string, unknown>) => void) => {
  const p = join(dir, 'config.json');
  const c = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  f(c);
  writeFileSync(p, JSON.stringify(c));
};
function throwsFor(dir: string, re: RegExp): void {
  try {
    assert.throws(() => readCheckpoint(dir), (e: Error) => e instanceof CheckpointError && re.test(e.message) ? true : assert.fail(`message: ${e.message}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('import errors: pytorch_model.bin only names the conversion to safetensors', async () => {
  const dir = variant('seq_cls', (d) => {
    rmSync(join(d, 'model.safetensors'));
    writeFileSync(join(d, 'pytorch_model.bin'), 'not really a pickle');
  });
  try {
    assert.throws(() => readCheckpoint(dir), /has pytorch_model\.bin but no model\.safetensors; tunebench reads safetensors only[\s\S]*python3 -c "import torch; from safetensors\.torch import save_file; sd = torch\.load\('.*pytorch_model\.bin'[\s\S]*save_pretrained/);
    // The same error from the commands.
    assert.match(await runTrainerCli(['predict', '--checkpoint', dir, '--file', join(dir, 'x.jsonl'), '--out', join(dir, 'o'), '--backend', 'cpu', '-q']), /pytorch_model\.bin but no model\.safetensors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  throwsFor(variant('seq_cls', (d) => {
    rmSync(join(d, 'model.safetensors'));
    writeFileSync(join(d, 'model.safetensors.index.json'), '{}');
  }), /sharded weights \(model\.safetensors\.index\.json\)/);
});

test('import errors: RoBERTa, DistilBERT and other architectures are refused with the list of what is supported', () => {
  const supported = /supported: model_type "bert" with architectures BertModel, BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, BertForTokenClassification/;
  throwsFor(variant('seq_cls', (d) => editConfig(d, (c) => { c.model_type = 'roberta'; c.architectures = ['RobertaForSequenceClassification']; })),
    new RegExp(`config\\.json: model_type "roberta" \\(RobertaForSequenceClassification\\) is not supported; ${supported.source}`));
  throwsFor(variant('seq_cls', (d) => editConfig(d, (c) => { c.model_type = 'distilbert'; c.architectures = ['DistilBertForMaskedLM']; })), /model_type "distilbert".*is not supported; supported: /);
  // No model_type / architectures, but DistilBERT's tensor names.
  throwsFor(variant('base', (d) => {
    editConfig(d, (c) => { delete c.model_type; delete c.architectures; });
    writeFileSync(join(d, 'model.safetensors'), encodeSafetensors({ 'distilbert.embeddings.word_embeddings.weight': { shape: [2, 2], data: new Float32Array(4) } }, { format: 'pt' }));
  }), /weights are named 'distilbert\.…' \(a distilbert model\), not BERT; supported: /);
  throwsFor(variant('base', (d) => editConfig(d, (c) => { c.position_embedding_type = 'relative_key'; })), /position_embedding_type "relative_key" is not supported/);
  throwsFor(variant('base', (d) => editConfig(d, (c) => { c.hidden_act = 'relu'; })), /hidden_act "relu" is not supported; tunebench's kernels compute gelu/);
  throwsFor(variant('seq_cls', (d) => editConfig(d, (c) => { c.problem_type = 'multi_label_classification'; })), /problem_type "multi_label_classification" is not supported/);
  throwsFor(variant('seq_cls', (d) => editConfig(d, (c) => { delete c.architectures; })), /no "architectures" and a classifier head: say which it is/);
  throwsFor(variant('seq_cls', (d) => writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'RobertaTokenizer' }))), /tokenizer_class RobertaTokenizer is not supported/);
});

test('import errors: an untied decoder, half-precision weights, id2label that disagrees with the classifier', () => {
  const weightsOf = (d: string) => readCheckpoint(fixture(d)).weights;
  throwsFor(variant('mlm', (d) => {
    const t: Record<string, { shape: number[]; data: Float32Array }> = Object.fromEntries(weightsOf('mlm'));
    const emb = t['bert.embeddings.word_embeddings.weight']!;
    const dec = Float32Array.from(emb.data);
    dec[5] += 1;
    t['cls.predictions.decoder.weight'] = { shape: emb.shape, data: dec };
    writeFileSync(join(d, 'model.safetensors'), encodeSafetensors(t, { format: 'pt' }));
  }), /decoder\.weight differs from bert\.embeddings\.word_embeddings\.weight \(an untied decoder\)/);
  throwsFor(variant('base', (d) => {
    // One F16 tensor, written by hand (our writer has no F16).
    const header = JSON.stringify({ __metadata__: { format: 'pt' }, 'embeddings.word_embeddings.weight': { dtype: 'F16', shape: [2], data_offsets: [0, 4] } });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(join(d, 'model.safetensors'), Buffer.concat([len, Buffer.from(header), Buffer.alloc(4)]));
  }), /unsupported dtype "F16".*tunebench loads F32 weights: convert them once, e\.g\. python3 -c/);
  throwsFor(variant('seq_cls', (d) => editConfig(d, (c) => { c.id2label = { 0: 'a', 1: 'b' }; c.label2id = { a: 0, b: 1 }; })), /id2label has 2 labels but classifier\.weight has 3 rows/);
});

test('import: missing heads are initialised and reported, extra heads ignored and reported (evaluate / predict)', () => {
  const t = Object.fromEntries(readCheckpoint(fixture('seq_cls')).weights);
  // A BertForSequenceClassification without its pooler and with a question-answering head and NSP head.
  const dir = variant('seq_cls', (d) => {
    const w: Record<string, { shape: number[]; data: Float32Array }> = { ...t };
    delete w['bert.pooler.dense.weight'];
    delete w['bert.pooler.dense.bias'];
    w['qa_outputs.weight'] = { shape: [2, 32], data: new Float32Array(64) };
    w['cls.seq_relationship.weight'] = { shape: [2, 32], data: new Float32Array(64) };
    writeFileSync(join(d, 'model.safetensors'), encodeSafetensors(w, { format: 'pt' }));
  });
  try {
    const m = loadModel(dir);
    const said = m.notes.join('\n');
    assert.match(said, /ignored 2 tensor\(s\) of heads tunebench does not have: cls\.seq_relationship\.weight, qa_outputs\.weight/);
    assert.match(said, /WARNING: .* lacks bert\.pooler\.dense\.weight, bert\.pooler\.dense\.bias: initialised at random/);
    // The classifier and encoder are the file's: the same logits as the fixture once the pooler is put back.
    const full = loadModel(fixture('seq_cls'));
    m.store.set('bert.pooler.dense.weight', full.store.get('bert.pooler.dense.weight'));
    m.store.set('bert.pooler.dense.bias', full.store.get('bert.pooler.dense.bias'));
    assert.deepEqual(m.store.data, full.store.data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Export

const pythonWithTorch = (() => {
  if (!existsSync('/usr/bin/python3')) return false;
  return spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
})();

function pythonCheck(dir: string, inputs: object): { architecture: string; problems: string[]; missing: string[]; outputs: Record<string, number[]>; ids: number[][]; labels: string[] | null } {
  const inp = join(tmpdir(), `tb-hf-inputs-${process.pid}.json`);
  writeFileSync(inp, JSON.stringify(inputs));
  const r = spawnSync('/usr/bin/python3', [SCRIPT, 'check', dir, inp], { encoding: 'utf8' });
  rmSync(inp, { force: true });
  assert.equal(r.status, 0, `hf_bert.py check ${dir} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

test('export hf: each fixture exported and read back gives the same model (tensors, labels, tokenizer rules)', async () => {
  const dir = tmp();
  try {
    for (const name of ['mlm', 'seq_cls', 'base']) {
      const out = join(dir, name);
      assert.equal(await runTrainerCli(['export', 'hf', '--checkpoint', fixture(name), '--out', out, '-q']), '');
      const a = loadModel(fixture(name)), b = loadModel(out);
      assert.deepEqual(b.heads, a.heads);
      assert.deepEqual(b.labels, a.labels);
      assert.deepEqual(b.tok.basic, a.tok.basic);
      assert.deepEqual([...b.tok.vocab.tokens], [...a.tok.vocab.tokens]);
      assert.deepEqual(b.store.data, a.store.data, `${name}: every parameter`);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      assert.equal(cfg.model_type, 'bert');
      assert.equal(cfg.tunebench, undefined);
      assert.deepEqual(cfg.architectures, [expected(name).architecture]);
      for (const f of ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'model.safetensors']) assert.ok(existsSync(join(out, f)), f);
    }
    const names = [...readCheckpoint(join(dir, 'base')).weights.keys()];
    assert.ok(names.every((n) => n.startsWith('bert.')), 'read back with the prefix');
    const raw = readFileSync(join(dir, 'base', 'model.safetensors'));
    assert.match(raw.subarray(0, 400).toString('latin1'), /"embeddings\.LayerNorm\.bias"/, 'BertModel names are bare in the file');
    const mlmRaw = readFileSync(join(dir, 'mlm', 'model.safetensors')).toString('latin1');
    assert.ok(!mlmRaw.includes('position_ids') && !mlmRaw.includes('decoder'), 'no buffer, no tied decoder in an export');
    // Refusals; --force replaces a previous export.
    assert.match(await runTrainerCli(['export', 'hf', '--checkpoint', fixture('mlm'), '--out', fixture('mlm')]), /is the checkpoint itself/);
    assert.match(await runTrainerCli(['export', 'hf', '--checkpoint', fixture('seq_cls'), '--out', join(dir, 'mlm')]), /mlm exists and is not empty; pass --force to replace it/);
    assert.equal(loadModel(join(dir, 'mlm')).heads[0]!.kind, 'mlm', 'left as it was');
    assert.equal(await runTrainerCli(['export', 'hf', '--checkpoint', fixture('seq_cls'), '--out', join(dir, 'mlm'), '--force', '-q']), '');
    assert.equal(loadModel(join(dir, 'mlm')).heads[0]!.kind, 'seq_cls');
    assert.match(await runTrainerCli(['export', 'hf', '--checkpoint', fixture('mlm')]), /required option '--out <dir>'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export hf: the committed round trip (a tunebench token-classification checkpoint with a LoRA adapter) is what export writes today, and its logits match the script\'s', () => {
  const dir = tmp();
  try {
    const src = join(dir, 'tunebench');
    makeRoundtripCheckpoint(src);
    const out = join(dir, 'hf');
    const r = exportHf(src, out);
    assert.equal(r.architecture, 'BertForTokenClassification');
    assert.ok(r.notes.some((n) => /merged the LoRA adapter \(r 2, alpha 4, targets query, value\)/.test(n)), r.notes.join('\n'));
    assert.ok(r.notes.some((n) => /dropped crf\.transitions: BertForTokenClassification has no CRF layer/.test(n)), r.notes.join('\n'));
    const committed = join(FIX, 'roundtrip');
    for (const f of ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
      assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(committed, 'export', f))), `${f}: the export differs from the committed one (regenerate: see test/hf_roundtrip.ts)`);
    }
    // The script read the committed export (python_check.json): its float64 logits vs ours on the tunebench checkpoint (LoRA unmerged).
    const py = JSON.parse(readFileSync(join(committed, 'python_check.json'), 'utf8'));
    assert.deepEqual(py.problems, []);
    assert.equal(py.architecture, 'BertForTokenClassification');
    const m = loadModel(src);
    assert.deepEqual(py.labels, m.labels);
    assert.deepEqual(py.ids, ROUNDTRIP_INPUTS.texts.map((t) => m.tok.encode(t).ids));
    const batch = batchOf(ROUNDTRIP_INPUTS, 'token_cls');
    // Our forward of the export (merged float32 weights) vs the script on the same file: float64 both.
    close(ourForward(loadModel(join(committed, 'export')), batch).logits, py.outputs.logits, 'token logits of the export');
    // Vs the LoRA model before export: the merge rounds W + (α/r)·B·A to float32 (≤ 6e-8 relative per
    // weight), which moves these logits by ~1e-7; bound 1e-5 absolute.
    close(ourForward(m, batch).logits, py.outputs.logits, 'token logits of the LoRA checkpoint', 1e-5, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export hf: the script reads a fresh export of each kind as transformers would, and its float64 outputs match ours', { skip: pythonWithTorch ? false : 'needs /usr/bin/python3 with torch and numpy (Debian: apt-get install python3-torch)' }, () => {
  const dir = tmp();
  try {
    const src = join(dir, 'tunebench');
    makeRoundtripCheckpoint(src);
    for (const [name, from] of [['token_cls', src], ['mlm', fixture('mlm')], ['seq_cls', fixture('seq_cls')], ['base', fixture('base')]] as const) {
      const out = join(dir, `hf_${name}`);
      exportHf(from, out);
      const inputs = name === 'token_cls' ? ROUNDTRIP_INPUTS : { texts: expected(name).texts, batch: expected(name).batch };
      const py = pythonCheck(out, inputs);
      assert.deepEqual(py.problems, [], name);
      assert.deepEqual(py.missing, [], name);
      const m = loadModel(from);
      assert.deepEqual(py.ids, inputs.texts.map((t) => m.tok.encode(t).ids), `${name}: the script's BertTokenizer on our tokenizer_config.json`);
      // Ours on the export (the LoRA merge rounds to float32 there; see the committed round trip).
      const r = ourForward(loadModel(out), batchOf(inputs, m.heads[0]!.kind));
      if (name === 'base') close(r.hidden, py.outputs.last_hidden_state!, `${name}: last_hidden_state`);
      else close(r.logits, py.outputs.logits!, `${name}: logits`);
      if (name !== 'token_cls') close(py.outputs[name === 'base' ? 'last_hidden_state' : 'logits']!, expected(name).outputs[name === 'base' ? 'last_hidden_state' : 'logits']!, `${name}: the script on the export vs on the fixture`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export hf: refuses what transformers cannot hold (mean-pooled seq_cls), atomically (no partial directory)', () => {
  const dir = tmp();
  try {
    const src = join(dir, 'ck');
    cpSync(fixture('seq_cls'), src, { recursive: true });
    // Make it one of ours with a mean-pooling head.
    editConfig(src, (c) => { c.tunebench = { heads: [{ kind: 'seq_cls', numLabels: 3, pooling: 'mean' }], labels: ['a', 'b', 'c'], task: { kind: 'seq_cls' } }; });
    const w = Object.fromEntries(readCheckpoint(fixture('seq_cls')).weights);
    delete w['bert.pooler.dense.weight'];
    delete w['bert.pooler.dense.bias'];
    writeFileSync(join(src, 'model.safetensors'), encodeSafetensors(w, { format: 'pt' }));
    const out = join(dir, 'out');
    assert.throws(() => exportHf(src, out), /'mean' pooling has no Hugging Face class/);
    assert.ok(!existsSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
