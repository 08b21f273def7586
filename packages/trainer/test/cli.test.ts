// The CLI subcommands on bad input: every mistake ends with a message that names the flag, key,
// file or value — before any GPU work starts. (The happy path is covered by train_loop tests.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runTrainerCli as run } from './cli_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-cli-'));


test('finetune: unknown flags, bad numbers and bad choices are rejected by the parser', async () => {
  assert.match(await run(['finetune', '--learning-rate', '1']), /unknown option '--learning-rate'/);
  assert.match(await run(['finetune', '--lr', 'fast']), /--lr fast: expected a number/);
  assert.match(await run(['finetune', '--batch-size', '8.5']), /--batch-size 8\.5: expected an integer/);
  assert.match(await run(['finetune', '--backend', 'tpu']), /--backend.*'tpu' is invalid.*gpu, cpu/);
  assert.match(await run(['train']), /unknown command 'train'/);
});

test('finetune: config problems name the key and where the value came from', async () => {
  const cfg = join(dir, 'c.json');
  writeFileSync(cfg, JSON.stringify({ outputDir: join(dir, 'r'), data: { dataset: 'wn_topic' }, optimizer: { learningRate: 1 } }));
  assert.match(await run(['finetune', '-c', cfg, '--backend', 'cpu']), new RegExp(`config file .*c\\.json: unknown key 'optimizer\\.learningRate' \\(allowed here: lr, beta1`));
  writeFileSync(cfg, JSON.stringify({ outputDir: join(dir, 'r'), data: { dataset: 'wn_topic' } }));
  assert.match(await run(['finetune', '-c', cfg, '--strategy', 'top_three']), /--strategy top_three: 'strategy\.name' must be one of "full", "head_only"/);
  assert.match(await run(['finetune', '-c', cfg, '--strategy', 'top_k']), /strategy 'top_k' needs strategy\.k/);
  assert.match(await run(['finetune', '-c', cfg, '--lr', '-1']), /--lr -1: 'optimizer\.lr' must be >= 0/);
  assert.match(await run(['finetune', '-c', cfg, '--set', 'training.epochs=0']), /--set training\.epochs=0: 'training\.epochs' must be > 0/);
  assert.match(await run(['finetune', '-c', cfg, '--set', 'oops']), /--set oops: expected key=value/);
  assert.match(await run(['finetune', '-c', join(dir, 'nope.json')]), /config file .*nope\.json: cannot read \(ENOENT\)/);
  assert.match(await run(['finetune', '--dataset', 'wn_topic']), /missing required key 'outputDir'/);
  assert.match(await run(['pretrain', '-c', cfg, '--set', 'task.kind=seq_cls']), /'task\.kind' must be "mlm" for pretrain/);
});

test('finetune: data and checkpoint problems name the file and line', async () => {
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"id": "a", "text": "fine", "label": "x"}\n{"id": "b", "text": 3}\n');
  assert.match(await run(['finetune', '--out', join(dir, 'r2'), '--train', bad, '--backend', 'cpu', '-q']), /bad\.jsonl:2: /);
  assert.match(
    await run(['finetune', '--out', join(dir, 'r3'), '--dataset', 'wn_topic', '--init', join(dir, 'no_such_ckpt'), '--backend', 'cpu', '-q']),
    /checkpoint directory .*no_such_ckpt does not exist/,
  );
  assert.match(await run(['finetune', '--out', join(dir, 'r4'), '--dataset', 'wn_topic', '--backend', 'cpu', '-q']), /finetune needs a vocabulary: set tokenizer\.vocab or model\.init/);
  assert.match(await run(['finetune', '--out', join(dir, 'r5'), '--dataset', 'no_such_set', '--backend', 'cpu', '-q']), /unknown dataset "no_such_set" \(known: pretrain_en/);
  assert.match(await run(['finetune', '--out', join(dir, 'r6'), '--dataset', 'wn_topic', '--resume', '--backend', 'cpu', '-q']), /--resume: .*r6 holds no run/);
  assert.ok(!existsSync(join(dir, 'r6')));
});

test('evaluate / predict: missing checkpoint or data source', async () => {
  assert.match(await run(['evaluate', '--out', join(dir, 'e1'), '--dataset', 'wn_topic']), /missing required key 'checkpoint'/);
  assert.match(await run(['predict', '--out', join(dir, 'e2'), '--checkpoint', dir]), /give data\.dataset \(\+ data\.split\) or data\.file/);
  assert.match(await run(['evaluate', '--out', join(dir, 'e3'), '--checkpoint', dir, '--dataset', 'wn_topic', '--split', 'valid']), /'data\.split' must be one of "train", "dev", "test"/);
  assert.match(await run(['evaluate', '--out', join(dir, 'e4'), '--checkpoint', dir, '--dataset', 'wn_topic', '--backend', 'cpu']), /is not a checkpoint: model\.safetensors is missing/);
});

test('a run that fails on bad input leaves no run directory behind (so it can simply be rerun)', async () => {
  const bad = join(dir, 'bad2.jsonl');
  writeFileSync(bad, '{"id": "a", "text": "x", "label": "y"}\nnot json\n');
  const out = join(dir, 'failed_run');
  assert.match(await run(['finetune', '--out', out, '--train', bad, '--backend', 'cpu', '-q']), /bad2\.jsonl:2: invalid JSON/);
  assert.ok(!existsSync(out));
  assert.match(await run(['evaluate', '--out', join(dir, 'failed_eval'), '--checkpoint', join(dir, 'none'), '--file', bad, '--backend', 'cpu']), /does not exist/);
  assert.ok(!existsSync(join(dir, 'failed_eval')));
});
