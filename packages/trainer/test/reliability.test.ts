// Damaged checkpoints, unlabelled prediction, moved and interrupted runs: each case ends with a
// clear message (or a working run), never a silent wrong value. Small runs on the CPU reference
// backend from the shipped tiny base model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { runTrainerCli as run } from './cli_helpers.js';
import { decodeSafetensors, encodeSafetensors, type TensorIn } from '../src/checkpoint/safetensors.js';
import { recoverDirAtomic, writeDirAtomic } from '../src/checkpoint/atomic.js';
import { writeCheckpoint } from '../src/checkpoint/checkpoint.js';
import { WN_TOPIC_LABELS } from '@tunebench/datasets';

const BASE = resolve(import.meta.dirname, '../../../models/tiny-en-base');
const dir = mkdtempSync(join(tmpdir(), 'tb-rel-'));
const labels = `task.labels=${JSON.stringify(WN_TOPIC_LABELS)}`;
const small = ['--backend', 'cpu', '-q', '--set', labels, '--set', 'data.maxTrainRows=16', '--set', 'data.maxEvalRows=8', '--set', 'data.maxLength=24', '--batch-size', '8'];

/** A copy of a checkpoint directory with `edit` applied to its weights. */
function editedCopy(src: string, name: string, edit: (w: Map<string, TensorIn>) => void): string {
  const out = join(dir, name);
  cpSync(src, out, { recursive: true });
  const path = join(out, 'model.safetensors');
  const dec = decodeSafetensors(readFileSync(path), path);
  const w = new Map([...dec.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
  edit(w);
  writeFileSync(path, encodeSafetensors(w, dec.metadata));
  return out;
}

/** Runs `f` with console.error captured; returns what it printed. */
async function stderrOf(f: () => Promise<unknown>): Promise<string> {
  const orig = console.error;
  let said = '';
  console.error = (...a: unknown[]) => { said += a.join(' ') + '\n'; };
  try {
    await f();
  } finally {
    console.error = orig;
  }
  return said;
}

let finetuned = '';
test('a small seq_cls fine-tune to work with', async () => {
  finetuned = join(dir, 'ft');
  assert.equal(await run(['finetune', '--out', finetuned, '--dataset', 'wn_topic', '--init', BASE, '--max-steps', '2', ...small]), '');
  assert.ok(existsSync(join(finetuned, 'checkpoint', 'model.safetensors')));
});

test('a checkpoint with a NaN or an infinity in a tensor is refused, naming the tensor', async () => {
  const nan = editedCopy(BASE, 'nan_base', (w) => { w.get('bert.encoder.layer.1.attention.self.query.weight')!.data[7] = NaN; });
  const msg = await run(['finetune', '--out', join(dir, 'r_nan'), '--dataset', 'wn_topic', '--init', nan, '--max-steps', '1', ...small]);
  assert.match(msg, /tensor 'bert\.encoder\.layer\.1\.attention\.self\.query\.weight' holds a non-finite value \(NaN at index 7\)/);
  assert.ok(!existsSync(join(dir, 'r_nan', 'checkpoint')));
  const inf = editedCopy(join(finetuned, 'checkpoint'), 'inf_ft', (w) => { w.get('classifier.bias')!.data[0] = -Infinity; });
  assert.match(await run(['evaluate', '--out', join(dir, 'e_inf'), '--checkpoint', inf, '--dataset', 'wn_topic', '--split', 'dev', '--backend', 'cpu', '-q']),
    /tensor 'classifier\.bias' holds a non-finite value \(-Infinity at index 0\)/);
});

test('evaluate and predict refuse a model whose outputs overflow to infinity', async () => {
  // Finite weights, infinite logits: a classifier scaled to the edge of float32.
  const huge = editedCopy(join(finetuned, 'checkpoint'), 'huge_ft', (w) => { w.get('classifier.weight')!.data.fill(3e38); });
  for (const cmd of ['evaluate', 'predict']) {
    const out = join(dir, `huge_${cmd}`);
    assert.match(await run([cmd, '--out', out, '--checkpoint', huge, '--dataset', 'wn_topic', '--split', 'dev', '--backend', 'cpu', '-q']),
      /outputs hold a non-finite value .*no score or prediction is written/);
    assert.ok(!existsSync(join(out, 'metrics.json')) && !existsSync(join(out, 'predictions.jsonl')));
  }
});

test('a vocab.txt that does not match the embedding is refused by every command', async () => {
  const grown = join(dir, 'vocab_plus');
  cpSync(BASE, grown, { recursive: true });
  appendFileSync(join(grown, 'vocab.txt'), Array.from({ length: 100 }, (_, i) => `extra${i}`).join('\n') + '\n');
  const want = /vocab\.txt has 8292 tokens but config\.json says vocab_size 8192/;
  assert.match(await run(['finetune', '--out', join(dir, 'r_voc'), '--dataset', 'wn_topic', '--init', grown, '--max-steps', '1', ...small]), want);
  assert.match(await run(['evaluate', '--out', join(dir, 'e_voc'), '--checkpoint', grown, '--dataset', 'pretrain_en', '--split', 'train', '--backend', 'cpu', '-q']), want);
});

test('predict needs text only; labels present in the rows are carried to the output', async () => {
  const rows = join(dir, 'rows.jsonl');
  writeFileSync(rows, '{"id":"u1","text":"a small dog that barks"}\n{"id":"u2","text":"to run quickly","label":"verb.motion"}\n');
  const out = join(dir, 'pred');
  assert.equal(await run(['predict', '--out', out, '--checkpoint', join(finetuned, 'checkpoint'), '--file', rows, '--backend', 'cpu', '-q']), '');
  const preds = readFileSync(join(out, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(preds.map((p) => p.id), ['u1', 'u2']);
  assert.equal(preds[0].gold, undefined);
  assert.equal(preds[1].gold, 'verb.motion');
  assert.ok(typeof preds[0].label === 'string' && preds[0].probs.length === 10);
  // evaluate still needs the labels
  assert.match(await run(['evaluate', '--out', join(dir, 'ev_rows'), '--checkpoint', join(finetuned, 'checkpoint'), '--file', rows, '--backend', 'cpu', '-q']),
    /rows\.jsonl:1: missing field "label"/);
});

test('predict refuses a data.maxLength beyond the model\'s positions instead of clamping it', async () => {
  assert.match(await run(['predict', '--out', join(dir, 'p512'), '--checkpoint', join(finetuned, 'checkpoint'), '--dataset', 'wn_topic', '--split', 'dev',
    '--set', 'data.maxLength=512', '--backend', 'cpu', '-q']), /data\.maxLength 512 exceeds the model's max positions 128/);
  assert.ok(!existsSync(join(dir, 'p512')));
});

test('--lr 0 warns that no parameter will change', async () => {
  const said = await stderrOf(() => run(['finetune', '--out', join(dir, 'lr0'), '--dataset', 'wn_topic', '--init', BASE, '--max-steps', '1', '--lr', '0', ...small]));
  assert.match(said, /--lr 0: optimizer\.lr is 0: no parameter will change/);
  const quiet = await stderrOf(() => run(['finetune', '--out', join(dir, 'lr1'), '--dataset', 'wn_topic', '--init', BASE, '--max-steps', '1', '--lr', '1e-4', ...small]));
  assert.doesNotMatch(quiet, /no parameter will change/);
});

test('a run folder moved elsewhere resumes where it now is, and says so', async () => {
  const first = join(dir, 'movable');
  assert.equal(await run(['finetune', '--out', first, '--dataset', 'wn_topic', '--init', BASE, '--max-steps', '2', '--set', 'training.saveEvery=1', ...small]), '');
  const moved = join(dir, 'moved_here');
  renameSync(first, moved);
  const said = await stderrOf(async () => {
    assert.equal(await run(['finetune', '--out', moved, '--dataset', 'wn_topic', '--init', BASE, '--max-steps', '3', '--set', 'training.saveEvery=1', '--resume', ...small]), '');
  });
  assert.match(said, /started in .*movable; it has moved to .*moved_here/);
  assert.match(readFileSync(join(moved, 'log.txt'), 'utf8'), /resumed .* at step 2\/3/);
});

test('recoverDirAtomic removes half-written copies and restores a directory whose replacement was cut short', () => {
  const parent = join(dir, 'atomic');
  mkdirSync(parent);
  const target = join(parent, 'checkpoint');
  writeDirAtomic(target, (tmp) => writeFileSync(join(tmp, 'a.txt'), 'one'));
  // A kill while filling the next copy leaves a temp dir behind.
  mkdirSync(join(parent, '.checkpoint.tmpdir-1-2-3'));
  writeFileSync(join(parent, '.checkpoint.tmpdir-1-2-3', 'a.txt'), 'half');
  let said = recoverDirAtomic(target);
  assert.equal(said.length, 1);
  assert.deepEqual(readdirSync(parent), ['checkpoint']);
  // A kill between moving the old copy aside and moving the new one in: the old one comes back.
  renameSync(target, join(parent, '.checkpoint.old-1-2-4'));
  mkdirSync(join(parent, '.checkpoint.tmpdir-1-2-5'));
  said = recoverDirAtomic(target);
  assert.equal(said.length, 2);
  assert.deepEqual(readdirSync(parent), ['checkpoint']);
  assert.equal(readFileSync(join(target, 'a.txt'), 'utf8'), 'one');
  assert.deepEqual(recoverDirAtomic(target), []);
});

test('writeCheckpoint refuses weights that went non-finite and leaves the previous checkpoint as it was', () => {
  const target = join(dir, 'guarded');
  const data = new Map([['a', new Float32Array([1, 2, 3])], ['b', new Float32Array([4, 5])]]);
  const store = { specs: [{ name: 'a', shape: [3] }, { name: 'b', shape: [2] }], get: (n: string) => data.get(n)! };
  writeCheckpoint(target, store, { config: { step: 1 } });
  const before = readFileSync(join(target, 'model.safetensors'));
  data.get('b')![1] = Infinity;
  assert.throws(() => writeCheckpoint(target, store, { config: { step: 2 } }), /parameter 'b' holds a non-finite value \(Infinity at index 1\); refusing to write the checkpoint/);
  assert.deepEqual(readFileSync(join(target, 'model.safetensors')), before);
  assert.deepEqual(JSON.parse(readFileSync(join(target, 'config.json'), 'utf8')), { step: 1 });
});

test('training that diverges stops with the step, the loss and the first parameter whose gradient is not finite', async () => {
  for (const backend of ['cpu', 'gpu']) {
    const out = join(dir, `diverge_${backend}`);
    const msg = await run(['finetune', '--out', out, '--dataset', 'wn_topic', '--init', BASE, '--max-steps', '8', '--lr', '1e30',
      '--set', 'optimizer.maxGradNorm=0', '--set', 'training.logEvery=4', '--set', 'training.saveEvery=1', ...small, '--backend', backend]);
    const m = /^training diverged at step (\d+): loss ([^;]+); the (?:gradient|weight) of '([^']+)' is (NaN|-?Infinity) \(element \d+\)\. Stopped; the checkpoint of step (\d+) is the last one written/.exec(msg);
    assert.ok(m, `${backend}: ${msg}`);
    const [, step, , param, , saved] = m;
    assert.ok(param!.startsWith('bert.') || param!.startsWith('classifier.'));
    // The newest checkpoint is the last finite one: its step is before the divergence, its weights load.
    const state = JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8'));
    assert.equal(state.step, Number(saved));
    assert.ok(Number(saved) < Number(step));
    assert.equal(await run(['evaluate', '--out', join(dir, `diverge_eval_${backend}`), '--checkpoint', join(out, 'checkpoint'), '--dataset', 'wn_topic',
      '--split', 'dev', '--backend', 'cpu', '-q', '--set', 'data.maxRows=8']), '');
  }
});
