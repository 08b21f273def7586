// Expanding suites × preset into the list of runs of a sweep: one run per (suite, dataset,
// variant, seed), each a short list of trainer phases with their full configs. Every phase
// config is validated by the trainer's own loader before anything runs, so a suite that asks for
// a key the trainer does not know fails (or is skipped, with the reason) at plan time, not an
// hour into the sweep.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTrainConfig } from '@tunebench/trainer';
import { DATASETS, DATASETS_DIR } from '@tunebench/datasets';
import { SUITES, SUITE_NAMES, suiteByName, type PhaseSizes, type Preset, type Suite, type Variant } from './suites/index.js';

export type PhaseName = 'base' | 'pretrain' | 'finetune' | 'probe';

export interface PhasePlan {
  name: PhaseName;
  command: 'pretrain' | 'finetune';
  dataset: string;
  /** Trainer config without outputDir; `model.init` may hold a placeholder (see INIT_*). */
  config: Record<string, unknown>;
}

/** Placeholders for model.init, filled by the runner once the directory exists. */
export const INIT_BASE = '$base';
export const INIT_PRETRAINED = '$pretrain';

export interface RunPlan {
  runId: string;
  suite: string;
  dataset: string;
  strategy: string;
  params: Variant['params'];
  seed: number;
  phases: PhasePlan[];
}

export interface SweepPlan {
  preset: Preset;
  runs: RunPlan[];
  /** The shared base-model pretraining phase when the preset does not use the shipped model. */
  basePhase: PhasePlan | null;
  /** Variants left out, with the reason (e.g. the trainer does not know one of their keys). */
  skipped: { suite: string; strategy: string; reason: string }[];
}

export interface PlanOptions {
  suites?: string[];
  /** Only these variants (strategy names); unknown names are errors. */
  strategies?: string[];
  datasets?: string[];
  seeds?: number[];
  /** Base model checkpoint directory for presets with base 'shipped'. */
  baseDir?: string | null;
  /** Vocabulary size of from-scratch pretraining when the base is shipped (default: the base's). */
  scratchVocabSize?: number;
}

/** Dotted-key overrides applied onto a nested object (copy). */
export function applyOverrides(base: Record<string, unknown>, set: Record<string, unknown> | undefined): Record<string, unknown> {
  const out = structuredClone(base);
  for (const [key, value] of Object.entries(set ?? {})) {
    const parts = key.split('.');
    let o = out;
    for (const p of parts.slice(0, -1)) {
      if (o[p] === undefined || o[p] === null) o[p] = {};
      o = o[p] as Record<string, unknown>;
    }
    o[parts[parts.length - 1]] = structuredClone(value);
  }
  return out;
}

function sizesConfig(s: PhaseSizes, seed: number): Record<string, unknown> {
  return {
    'training.maxSteps': s.maxSteps,
    'training.epochs': s.epochs,
    'training.batchSize': s.batchSize,
    'training.logEvery': s.logEvery,
    'training.evalEvery': s.evalEvery,
    'data.maxLength': s.maxLength,
    'data.maxTrainRows': s.maxTrainRows,
    'data.maxEvalRows': s.maxEvalRows,
    seeds: { init: seed, data: seed, dropout: seed },
  };
}

/** The shipped base model: a checkpoint directory under models/ (config.json, model.safetensors, vocab.txt). */
export function findShippedBase(root: string): string | null {
  const models = join(root, 'models');
  if (!existsSync(models)) return null;
  const isCkpt = (d: string) => ['config.json', 'model.safetensors', 'vocab.txt'].every((f) => existsSync(join(d, f)));
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    if (isCkpt(d)) found.push(d);
    if (depth >= 3) return;
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name), depth + 1);
  };
  walk(models, 0);
  found.sort();
  // Prefer a directory named like the general base model.
  return found.find((d) => /base/.test(d)) ?? found[0] ?? null;
}

/** sha256 of a dataset's entry in datasets/manifest.json (its files' hashes, rows, sources). */
export function manifestHash(dataset: string): string {
  const path = join(DATASETS_DIR, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8')) as { datasets: Record<string, unknown> };
  const entry = m.datasets[dataset];
  if (!entry) throw new Error(`${path}: no entry for dataset '${dataset}'`);
  return createHash('sha256').update(JSON.stringify(entry)).digest('hex');
}

function selected(suite: Suite, preset: Preset, opts: PlanOptions): { variants: Variant[]; datasets: string[] } {
  const p = suite.presets?.[preset.name];
  let variants = p?.variants ? suite.variants.filter((v) => p.variants!.includes(v.name)) : suite.variants;
  let datasets = p?.datasets ?? suite.datasets;
  if (opts.strategies?.length) {
    const all = SUITE_NAMES.flatMap((s) => SUITES[s]!.variants.map((v) => v.name));
    for (const s of opts.strategies) {
      if (!all.includes(s)) throw new Error(`unknown strategy '${s}' (known: ${[...new Set(all)].join(', ')})`);
    }
    // An explicitly named strategy runs even if the preset leaves it out.
    variants = suite.variants.filter((v) => opts.strategies!.includes(v.name));
    if (variants.length && !variants.some((v) => v.name === suite.baseline)) {
      const b = suite.variants.find((v) => v.name === suite.baseline);
      if (b) variants = [b, ...variants];
    }
  }
  if (opts.datasets?.length) {
    for (const d of opts.datasets) if (!DATASETS[d]) throw new Error(`unknown dataset '${d}' (known: ${Object.keys(DATASETS).join(', ')})`);
    datasets = datasets.filter((d) => opts.datasets!.includes(d));
  }
  return { variants, datasets };
}

export function planSweep(preset: Preset, opts: PlanOptions = {}): SweepPlan {
  const suiteNames = opts.suites?.length ? opts.suites : SUITE_NAMES;
  const suites = suiteNames.map(suiteByName);
  const seeds = opts.seeds ?? preset.seeds;
  if (!seeds.length) throw new Error('no seeds to run');
  for (const s of seeds) if (!Number.isInteger(s) || s < 0) throw new Error(`seed ${s}: seeds are non-negative integers`);

  let basePhase: PhasePlan | null = null;
  let scratchShape: Record<string, unknown>;
  if (preset.base === 'shipped') {
    if (!opts.baseDir) throw new Error('the preset starts from the shipped base model, but no base model directory was given');
    let vocabSize = opts.scratchVocabSize;
    if (vocabSize === undefined) {
      const cfgPath = join(opts.baseDir, 'config.json');
      const c = JSON.parse(readFileSync(cfgPath, 'utf8')) as { vocab_size?: number };
      vocabSize = c.vocab_size ?? 8192;
    }
    scratchShape = { 'model.preset': preset.scratchPreset, 'tokenizer.vocabSize': vocabSize };
  } else {
    const b = preset.base;
    scratchShape = { 'model.preset': b.preset, 'model.shape': b.shape, 'tokenizer.vocabSize': b.vocabSize, 'tokenizer.minFrequency': 1 };
    basePhase = {
      name: 'base',
      command: 'pretrain',
      dataset: b.dataset,
      config: applyOverrides({ data: { dataset: b.dataset }, task: { kind: 'mlm' } }, { ...sizesConfig(b.sizes, 0), ...scratchShape, 'optimizer.lr': b.lr, 'schedule.warmupRatio': 0.06 }),
    };
  }

  const runs: RunPlan[] = [];
  const skipped: SweepPlan['skipped'] = [];
  for (const suite of suites) {
    if (!suite.variants.some((v) => v.name === suite.baseline)) throw new Error(`suite ${suite.name}: baseline '${suite.baseline}' is not one of its variants`);
    const { variants, datasets } = selected(suite, preset, opts);
    for (const variant of variants) {
      // Validate the variant's phase configs once (seed 0, first dataset) with the trainer's loader.
      const trial = phasesFor(suite, variant, datasets[0] ?? suite.datasets[0], 0, preset, scratchShape);
      const problem = validatePhases(trial);
      if (problem) {
        if (opts.strategies?.includes(variant.name)) throw new Error(`suite ${suite.name}, strategy ${variant.name}: ${problem}`);
        skipped.push({ suite: suite.name, strategy: variant.name, reason: problem });
        continue;
      }
      for (const dataset of datasets) {
        for (const seed of seeds) {
          runs.push({
            runId: `${suite.name}/${dataset}/${variant.name}/seed${seed}`,
            suite: suite.name,
            dataset,
            strategy: variant.name,
            params: variant.params,
            seed,
            phases: phasesFor(suite, variant, dataset, seed, preset, scratchShape),
          });
        }
      }
    }
  }
  if (!runs.length) throw new Error('the selection matches no runs (check --suite, --strategy, --dataset)');
  return { preset, runs, basePhase, skipped };
}

function phasesFor(suite: Suite, v: Variant, dataset: string, seed: number, preset: Preset, scratchShape: Record<string, unknown>): PhasePlan[] {
  const phases: PhasePlan[] = [];
  let init = INIT_BASE;
  if (v.pretrain) {
    const fromScratch = v.pretrain.from === 'scratch';
    const base = { data: { dataset: v.pretrain.dataset }, task: { kind: 'mlm' }, model: { init: fromScratch ? null : INIT_BASE } };
    // Every pretraining phase scores its dev masked-token accuracy under plain random masks, so
    // mlm_accuracy compares across variants and suites (for random masking this is the same
    // masks as 'same'), and equal continued-pretraining phases of different suites (domain's
    // b_continued, masking's rate15_random, sensitivity's pt_lr_1e-4) have equal configs: the
    // phase cache runs them once.
    const evalMasks = { 'masking.evalStrategy': 'random' };
    phases.push({
      name: 'pretrain',
      command: 'pretrain',
      dataset: v.pretrain.dataset,
      config: applyOverrides(base, { ...sizesConfig(preset.pretrain, seed), ...(fromScratch ? scratchShape : {}), ...evalMasks, ...v.pretrain.set }),
    });
    init = INIT_PRETRAINED;
  }
  // The dataset's closed label set (not the labels that happen to occur in a capped training split).
  const labels = (ds: string) => [...(DATASETS[ds]?.labels ?? [])];
  const ft = (ds: string, sizes: PhaseSizes) =>
    applyOverrides({ data: { dataset: ds }, task: { kind: 'seq_cls', labels: labels(ds) }, model: { init } }, { ...sizesConfig(sizes, seed), ...v.finetune });
  phases.push({ name: 'finetune', command: 'finetune', dataset, config: ft(dataset, { ...preset.finetune, ...suite.presets?.[preset.name]?.finetune }) });
  if (v.probe) phases.push({ name: 'probe', command: 'finetune', dataset: 'wn_topic', config: ft('wn_topic', preset.probe) });
  return phases;
}

/** The first problem the trainer's config loader finds in the phases, or null. */
export function validatePhases(phases: PhasePlan[]): string | null {
  // A LoRA-only pretraining phase is fine: the trainer merges the adapter of an init checkpoint
  // into its base weights (packages/trainer/src/train/init_lora.ts).
  for (const p of phases) {
    try {
      resolvePhaseConfig(p);
    } catch (e) {
      return `${p.name} phase: ${(e as Error).message}`;
    }
  }
  return null;
}

/**
 * The phase's config as the trainer will resolve it (its own loader: every default filled in),
 * with placeholders for outputDir and a `$base` / `$pretrain` init. Throws the loader's error.
 */
export function resolvePhaseConfig(p: PhasePlan): Record<string, unknown> {
  const cfg = applyOverrides(p.config, { outputDir: '/nonexistent/plan-check' });
  const init = (cfg.model as { init?: unknown } | undefined)?.init;
  if (typeof init === 'string' && init.startsWith('$')) (cfg.model as Record<string, unknown>).init = '/nonexistent/init';
  const c = loadTrainConfig(p.command, { flags: Object.entries(flatten(cfg)).map(([key, value]) => ({ key, value, flag: `${p.name} phase ${key}` })) });
  return c as unknown as Record<string, unknown>;
}

function flatten(o: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    // Objects that the schema types as a whole value (nullable objects) are set as one value.
    if (v && typeof v === 'object' && !Array.isArray(v) && !WHOLE_VALUES.has(key)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v;
  }
  return out;
}
const WHOLE_VALUES = new Set(['model.shape', 'lora', 'ewc', 'training.earlyStopping', 'seeds', 'task.costMatrix']);

export const repoRoot = resolve(new URL('../../..', import.meta.url).pathname);
