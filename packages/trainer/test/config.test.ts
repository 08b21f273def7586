// Run configs: file + overrides, ajv validation with errors that name the key and its source,
// defaults, cross-field rules, and the run directory (no clobbering, resume needs the same config).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTrainConfig, loadInferConfig, parseSet, RunDir, configDiff, ConfigError } from '../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tb-config-'));
const file = (name: string, obj: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return p;
};

test('defaults are filled in at every level and recorded', () => {
  const c = loadTrainConfig('finetune', { file: file('min.json', { outputDir: 'runs/a', data: { dataset: 'wn_topic' } }) });
  assert.equal(c.model.preset, 'tiny');
  assert.equal(c.optimizer.lr, 5e-5);
  assert.equal(c.optimizer.maxGradNorm, 1);
  assert.equal(c.schedule.name, 'linear');
  assert.equal(c.training.batchSize, 32);
  assert.deepEqual(c.seeds, { init: 42, data: 42, dropout: 42 });
  assert.equal(c.strategy.name, 'full');
  assert.equal(c.lora, null);
  assert.equal(c.task.kind, 'seq_cls');
  const p = loadTrainConfig('pretrain', { file: file('pre.json', { outputDir: 'runs/p', data: { dataset: 'pretrain_en' } }) });
  assert.equal(p.task.kind, 'mlm');
  assert.equal(p.task.mlmProbability, 0.15);
});

test('--set and flags override the file; values parse as JSON or stay strings', () => {
  const f = file('base.json', { outputDir: 'runs/b', data: { dataset: 'wn_topic' }, optimizer: { lr: 1e-4 } });
  const c = loadTrainConfig('finetune', {
    file: f,
    sets: ['optimizer.lr=3e-5', 'strategy.name=top_k', 'strategy.k=1', 'lora=null', 'task.labels=["a","b"]'],
    flags: [{ key: 'training.batchSize', value: 8, flag: '--batch-size 8' }, { key: 'outputDir', value: undefined, flag: '--out' }],
  });
  assert.equal(c.optimizer.lr, 3e-5);
  assert.deepEqual(c.strategy, { name: 'top_k', k: 1, embeddings: 'default', unfreezeEvery: 1, unfreezeUnit: 'epoch', unfreezeAllAt: 0 });
  assert.deepEqual(c.task.labels, ['a', 'b']);
  assert.equal(c.training.batchSize, 8);
  assert.equal(c.outputDir, 'runs/b');
  assert.deepEqual(parseSet('data.train=/x/y.jsonl'), { key: 'data.train', value: '/x/y.jsonl' });
  assert.throws(() => parseSet('novalue'), /--set novalue: expected key=value/);
  assert.throws(() => parseSet('a..b=1'), /not a key path/);
});

test('unknown keys and bad values name the key and the file or flag', () => {
  const f = file('bad.json', { outputDir: 'runs/c', data: { dataset: 'wn_topic' }, training: { batchsize: 8, epochs: -1 }, optimizer: { lr: 'fast' } });
  assert.throws(() => loadTrainConfig('finetune', { file: f }), (e: Error) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, new RegExp(`config file ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: unknown key 'training.batchsize' \\(allowed here: batchSize, epochs`));
    assert.match(e.message, /'training.epochs' must be > 0/);
    assert.match(e.message, /'optimizer.lr' must be number/);
    return true;
  });
  const ok = file('ok.json', { outputDir: 'runs/c', data: { dataset: 'wn_topic' } });
  assert.throws(() => loadTrainConfig('finetune', { file: ok, sets: ['strategy.name=top_three'] }), /--set strategy\.name=top_three: 'strategy.name' must be one of "full", "head_only", "top_k"/);
  assert.throws(() => loadTrainConfig('finetune', { file: ok, sets: ['model.preset=huge'] }), /'model.preset' must be one of "tiny", "mini"/);
  assert.throws(() => loadTrainConfig('finetune', { file: ok, sets: ['optimizer.beta1=1'] }), /--set optimizer\.beta1=1: 'optimizer.beta1' must be < 1/);
  assert.throws(() => loadTrainConfig('finetune', { file: file('x.json', '{"outputDir": ') }), /config file .*x\.json: invalid JSON/);
  assert.throws(() => loadTrainConfig('finetune', { file: join(dir, 'missing.json') }), /config file .*missing\.json: cannot read \(ENOENT\)/);
  assert.throws(() => loadTrainConfig('finetune', { file: file('arr.json', '[]') }), /top level must be a JSON object/);
  assert.throws(() => loadTrainConfig('finetune', { sets: ['data.dataset=wn_topic'] }), /config \(no file\): missing required key 'outputDir'/);
});

test('cross-field rules: task per command, k for top_k, lora block, data source, mixed corpus, EWC', () => {
  const ok = file('ok2.json', { outputDir: 'runs/d', data: { dataset: 'wn_topic' } });
  assert.throws(() => loadTrainConfig('pretrain', { file: ok, sets: ['task.kind=seq_cls'] }), /'task.kind' must be "mlm" for pretrain/);
  assert.throws(() => loadTrainConfig('finetune', { file: ok, sets: ['task.kind=mlm'] }), /finetune needs task.kind seq_cls/);
  assert.throws(() => loadTrainConfig('finetune', { file: ok, sets: ['strategy.name=top_k'] }), /strategy 'top_k' needs strategy.k/);
  assert.throws(() => loadTrainConfig('finetune', { file: ok, sets: ['strategy.name=lora'] }), /strategy 'lora' needs a "lora" block/);
  const l = loadTrainConfig('finetune', { file: ok, sets: ['strategy.name=lora', 'lora.r=4'] });
  assert.deepEqual(l.lora, { r: 4, alpha: 8, dropout: 0, targets: ['query', 'value'] });
  assert.throws(() => loadTrainConfig('finetune', { file: ok, sets: ['lora.r=4'] }), /a "lora" block is given but strategy.name is 'full'/);
  assert.throws(() => loadTrainConfig('finetune', { file: file('nodata.json', { outputDir: 'x' }) }), /give data.dataset .* or data.train/);
  assert.throws(() => loadTrainConfig('pretrain', { file: ok, sets: ['data.generalRatio=0.5'] }), /needs data.general/);
  assert.throws(() => loadTrainConfig('pretrain', { file: ok, sets: ['ewc={}'] }), /EWC needs general data/);
  const e = loadTrainConfig('pretrain', { file: ok, sets: ['ewc={}', 'data.general=pretrain_en'] });
  assert.deepEqual(e.ewc, { lambda: 1000, fisherBatches: 20, data: null });
  assert.throws(() => loadInferConfig('evaluate', { sets: ['outputDir=x', 'checkpoint=y'] }), /give data.dataset/);
  const inf = loadInferConfig('predict', { sets: ['outputDir=x', 'checkpoint=y', 'data.file=z.jsonl'] });
  assert.equal(inf.data.split, 'test');
  assert.equal(inf.batchSize, 64);
});

test('run directory: config recorded, no clobbering, resume only with the same config', () => {
  const cfg = loadTrainConfig('finetune', { file: file('r.json', { outputDir: 'x', data: { dataset: 'wn_topic' } }) });
  const out = join(dir, 'run1');
  const r = new RunDir(out, cfg, { resume: false, command: 'finetune' });
  r.log('step 1');
  r.log('step 2\n');
  r.writeMetrics({ main_score: 0.5 });
  assert.equal(readFileSync(join(out, 'log.txt'), 'utf8'), 'step 1\nstep 2\n');
  const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(saved.config, cfg);
  assert.equal(saved.command, 'finetune');
  assert.throws(() => new RunDir(out, cfg, { resume: false, command: 'finetune' }), /already holds a run; use --resume/);
  assert.throws(() => new RunDir(out, cfg, { resume: true, command: 'pretrain' }), /is a 'finetune' run, not 'pretrain'/);
  const changed = { ...cfg, optimizer: { ...cfg.optimizer, lr: 1 }, training: { ...cfg.training, maxSteps: 99 } };
  assert.throws(() => new RunDir(out, changed, { resume: true, command: 'finetune' }), (e: Error) => {
    assert.match(e.message, /optimizer\.lr: 0\.00005 → 1/);
    assert.doesNotMatch(e.message, /maxSteps/);
    return true;
  });
  assert.doesNotThrow(() => new RunDir(out, { ...cfg, training: { ...cfg.training, maxSteps: 99 } }, { resume: true, command: 'finetune' }));
  assert.throws(() => new RunDir(join(dir, 'nothing'), cfg, { resume: true, command: 'finetune' }), /holds no run/);
  assert.ok(!existsSync(join(dir, 'nothing')));
  assert.deepEqual(configDiff({ a: { b: 1, c: [1] } }, { a: { b: 2, c: [1] }, d: 1 }), ['a.b: 1 → 2', 'd: (absent) → 1']);
});

test('the example configs shipped in src/config/examples validate', async () => {
  const { readdirSync } = await import('node:fs');
  const ex = new URL('../src/config/examples/', import.meta.url).pathname;
  const files = readdirSync(ex).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 4);
  for (const f of files) {
    const command = f.startsWith('pretrain') || f.startsWith('continued') ? 'pretrain' : 'finetune';
    assert.doesNotThrow(() => loadTrainConfig(command, { file: join(ex, f) }), f);
  }
});

test('resume accepts keys added to the schema since the run started only at their defaults', () => {
  const cfg = loadTrainConfig('finetune', { file: file('r2.json', { outputDir: 'x', data: { dataset: 'wn_topic' } }) });
  const out = join(dir, 'run_schema');
  // the run was started by an older version that had no task.classWeights
  const old = JSON.parse(JSON.stringify(cfg));
  delete old.task.classWeights;
  new RunDir(out, old, { resume: false, command: 'finetune' });
  const defaults = loadTrainConfig('finetune', { sets: ['outputDir=-', 'data.dataset=-'] });
  assert.doesNotThrow(() => RunDir.check(out, cfg, { resume: true, command: 'finetune', defaults }));
  const changed = { ...cfg, task: { ...cfg.task, classWeights: [1, 2] } };
  assert.throws(() => RunDir.check(out, changed, { resume: true, command: 'finetune', defaults }), /task\.classWeights: \(absent\) → \[1,2\]/);
  assert.throws(() => RunDir.check(out, cfg, { resume: true, command: 'finetune' }), /task\.classWeights: \(absent\) → \[\]/);
});
