// The zh_vocab suite (issue #17): its plan (every variant validated by the trainer's loader, the
// same pretraining budget for all, the extension and two-stage settings where they belong, the
// mixing ratio as a parameter), then one micro sweep on the real trainer: en_base and
// extend_frozen_lower (one seed), records with the vocabulary metrics, the trade-off plot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecords, planSweep, presetByName, repoRoot, resolvePhaseConfig, SUITES, zhVocabSuite } from '../src/index.js';

const bin = fileURLToPath(new URL('../../../bin/tunebench.mjs', import.meta.url));
type Cfg = { training: Record<string, number>; data: Record<string, unknown>; tokenizer?: Record<string, unknown>; strategy?: Record<string, unknown>; model: { init: unknown } };

test('zh_vocab plan: all variants valid, one pretraining budget, extension / two stages / mixture where they belong', () => {
  const plan = planSweep(presetByName('full'), { suites: ['zh_vocab'], baseDir: join(repoRoot, 'models', 'tiny-en-base') });
  assert.deepEqual(plan.skipped, []);
  const seed0 = plan.runs.filter((r) => r.seed === 0);
  assert.deepEqual(seed0.map((r) => r.strategy), ['en_base', 'lora_only', 'extend_frozen_lower', 'extend_full', 'extend_init_mean_noise', 'extend_init_subtoken', 'extend_init_random', 'zh_scratch']);
  assert.equal(plan.runs.length, 8 * 3);
  const phase = (r: (typeof seed0)[number], name: string) => r.phases.find((p) => p.name === name)?.config as Cfg | undefined;
  const budget = (c: Cfg) => [c.training.maxSteps, c.training.epochs, c.training.batchSize, c.data.maxLength, c.data.maxTrainRows].join('/');
  const budgets = new Set(seed0.filter((r) => r.strategy !== 'en_base').map((r) => budget(phase(r, 'pretrain')!)));
  assert.equal(budgets.size, 1, `one pretraining budget, got ${[...budgets].join(' | ')}`);
  const ftOf = (r: (typeof seed0)[number]) => JSON.stringify({ ...phase(r, 'finetune')!, model: null });
  assert.equal(new Set(seed0.map(ftOf)).size, 1, 'the same fine-tune recipe for all');
  for (const r of seed0) {
    assert.deepEqual(r.phases.map((p) => p.name), r.strategy === 'en_base' ? ['mlm_eval', 'finetune', 'probe'] : ['pretrain', 'finetune', 'probe']);
    const pt = phase(r, 'pretrain');
    if (!pt) continue;
    assert.equal(pt.data.dataset, 'zh_pretrain');
    const continued = r.strategy !== 'zh_scratch';
    assert.equal(pt.data.general, continued ? 'pretrain_en' : undefined);
    assert.equal(pt.data.generalRatio, continued ? 0.2 : undefined);
    assert.equal(pt.model.init === null, !continued);
    const ext = r.strategy.startsWith('extend_');
    assert.equal(pt.tokenizer?.extendCorpus, ext ? 'zh_pretrain' : undefined, r.strategy);
    if (ext) assert.equal(pt.tokenizer?.extendSize, 4000);
  }
  // en_base's mlm_eval measures the base on what lora_only's pretraining measures (the same
  // vocabulary): every key that picks the held-out rows, tokenizes them and masks them is equal.
  for (const seed of [0, 1]) {
    const at = (s: string, name: string) => {
      const r = plan.runs.find((x) => x.strategy === s && x.seed === seed)!;
      return resolvePhaseConfig(r.phases.find((p) => p.name === name)!) as unknown as Cfg & { masking: unknown; seeds: { data: number } };
    };
    const ev = at('en_base', 'mlm_eval'), pt = at('lora_only', 'pretrain');
    const ptExt = at('extend_full', 'pretrain');
    assert.equal(seed0.find((r) => r.strategy === 'en_base')!.phases[0]!.command, 'mlm_eval');
    assert.equal(ev.model.init, '/nonexistent/init', 'the base');
    assert.deepEqual(ev.data, pt.data);
    assert.deepEqual(ev.masking, pt.masking);
    assert.deepEqual(ev.tokenizer, pt.tokenizer);
    assert.equal(ev.seeds.data, seed);
    assert.equal(ev.training.batchSize, pt.training.batchSize); // eval batches (max(B, 8)) decide the mask seeds
    assert.deepEqual(ev.data, ptExt.data, 'the same rows as the extended variants too');
  }
  const init = (s: string) => phase(seed0.find((r) => r.strategy === s)!, 'pretrain')!.tokenizer!.growInit;
  assert.deepEqual(['extend_full', 'extend_init_mean_noise', 'extend_init_subtoken', 'extend_init_random'].map(init), ['mean', 'mean-noise', 'subtoken', 'normal']);
  const frozen = phase(seed0.find((r) => r.strategy === 'extend_frozen_lower')!, 'pretrain')!.strategy;
  assert.deepEqual(frozen, { name: 'top_k', k: 1, embeddings: 'trained', unfreezeAllAt: 0.5 });
  assert.equal(phase(seed0.find((r) => r.strategy === 'lora_only')!, 'pretrain')!.strategy!.name, 'lora');
  assert.ok(SUITES.zh_vocab!.languageMetrics);

  // The mixing ratio and the extension size are parameters.
  const half = zhVocabSuite({ enRatio: 0.5, size: 1000 }).variants.find((v) => v.name === 'extend_full')!;
  assert.equal(half.pretrain!.set!['data.generalRatio'], 0.5);
  assert.equal(half.pretrain!.set!['tokenizer.extendSize'], 1000);
  assert.equal(half.params.en_ratio, 0.5);
  const zhOnly = zhVocabSuite({ enRatio: 0 }).variants.find((v) => v.name === 'extend_full')!;
  assert.equal(zhOnly.pretrain!.set!['data.general'], undefined);
  assert.throws(() => zhVocabSuite({ enRatio: 1 }), /enRatio 1 must be in \[0, 1\)/);
});

test('zh_vocab micro sweep: en_base vs extend_frozen_lower, vocabulary metrics in the records, trade-off plot', () => {
  const out = mkdtempSync(join(tmpdir(), 'tunebench-zhv-'));
  const r = spawnSync(process.execPath, [bin, 'bench', 'run', 'zh_vocab', '--preset', 'micro', '--out', out, '--strategy', 'extend_frozen_lower', '--seeds', '0'], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const recs = loadRecords(join(out, 'records'));
  assert.deepEqual(recs.map((x) => x.strategy).sort(), ['en_base', 'extend_frozen_lower']);
  const base = recs.find((x) => x.strategy === 'en_base')!;
  const ext = recs.find((x) => x.strategy === 'extend_frozen_lower')!;
  // en_base's held-out MLM scores from its mlm_eval phase (nothing trained: no tokens counted).
  assert.deepEqual(base.phases.map((p) => `${p.name}:${p.dataset}`), ['mlm_eval:zh_pretrain', 'finetune:zh_poetry', 'probe:wn_topic']);
  assert.equal(base.phases[0]!.steps, 0);
  assert.equal(typeof base.metrics.mlm_loss_general, 'number');
  assert.equal(typeof ext.metrics.mlm_loss_general, 'number');
  // [UNK] is never masked: en_base's Chinese loss leaves most of the held-out text out, the extended model's almost none.
  assert.ok(base.metrics.mlm_unk_share! > 0.5, `en_base held-out [UNK] share ${base.metrics.mlm_unk_share}`);
  assert.ok(ext.metrics.mlm_unk_share! < 0.1, `extended held-out [UNK] share ${ext.metrics.mlm_unk_share}`);
  const evDir = join(out, 'runs', 'zh_vocab', 'zh_poetry', 'en_base', 'seed0', 'mlm_eval');
  const ev = JSON.parse(readFileSync(join(evDir, 'metrics.json'), 'utf8')) as { dev: { loss?: number }; devGeneral: { loss: number } };
  assert.equal(base.metrics.mlm_loss_general, ev.devGeneral.loss);
  assert.equal(base.metrics.mlm_loss, ev.dev.loss ?? null);
  // The micro base model's English vocabulary makes almost every Chinese character [UNK]; the extended one almost none.
  assert.ok(base.metrics.unk_rate! > 0.9, `en_base UNK rate ${base.metrics.unk_rate}`);
  assert.ok(ext.metrics.unk_rate! < 0.1, `extended UNK rate ${ext.metrics.unk_rate}`);
  assert.ok(ext.metrics.tokens_per_char! > 0.9 && ext.metrics.tokens_per_char! <= 1);
  assert.equal(typeof ext.metrics.probe_wn_topic, 'number');
  assert.deepEqual(ext.phases.map((p) => `${p.name}:${p.dataset}`), ['pretrain:zh_pretrain', 'finetune:zh_poetry', 'probe:wn_topic']);
  const ptLog = readFileSync(join(out, 'runs', 'zh_vocab', 'zh_poetry', 'extend_frozen_lower', 'seed0', 'pretrain', 'log.txt'), 'utf8');
  assert.match(ptLog, /extended the vocabulary of .* to \d+ tokens with a WordPiece of 4000 trained on zh_pretrain/);
  assert.match(ptLog, /vocabulary grown by \d+ tokens \(mean init\)/);
  assert.match(ptLog, /step 2: unfroze to \d+ tensors/); // ceil(0.5 · 3)
  const html = readFileSync(join(out, 'leaderboard', 'report.html'), 'utf8');
  assert.match(html, /trade-off: accuracy vs English retention \(point size: tokens per character\)/);
  assert.match(readFileSync(join(out, 'leaderboard', 'leaderboard.md'), 'utf8'), /unk_rate 0\.9\d+, tokens_per_char/);
  rmSync(out, { recursive: true, force: true });
});
