// Expanding suites × preset into the list of runs of a sweep: one run per (suite, dataset,
// variant, seed), each a short list of trainer phases with their full configs. Every phase
// config is validated by the trainer's own loader before anything runs, so a suite that asks for
// a key the trainer does not know fails (or is skipped, with the reason) at plan time, not an
// hour into the sweep.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTrainConfig } from '@tunebench/trainer';
import { DATASETS, DATASETS_DIR, DATASET_NAMES, datasetDirHash, isDatasetDir, loadDatasetDir } from '@tunebench/datasets';
import type { RunRecord } from './record.js';
import { PRESETS, SUITE_NAMES, suiteByName, type PhaseSizes, type Preset, type Suite, type Variant } from './suites/index.js';
import { NER_LABELS } from './suites/ner.js';
import { fewshotPhaseConfig } from './fewshot/plan_phase.js';
import { checkFewshotConfig } from './fewshot/config.js';
import { edgePhaseConfig } from './edge/plan_phase.js';
import { checkEdgeConfig } from './edge/config.js';

export type PhaseName = 'base' | 'pretrain' | 'mlm_eval' | 'train' | 'finetune' | 'probe';

export interface PhasePlan {
  name: PhaseName;
  /** A trainer command (`mlm_eval`: a pretraining config measured, not trained; `score`: a finetune
   * config's final evaluation of a trained checkpoint, nothing trained), `fewshot` (one few-shot
   * phase: fewshot/phase.ts) or `edge` (one edge phase: edge/phase.ts). */
  command: 'pretrain' | 'mlm_eval' | 'finetune' | 'score' | 'fewshot' | 'edge';
  dataset: string;
  /** Trainer config without outputDir; `model.init` may hold a placeholder (see INIT_*). */
  config: Record<string, unknown>;
}

/** Placeholders for model.init, filled by the runner once the directory exists. */
export const INIT_BASE = '$base';
export const INIT_PRETRAINED = '$pretrain';
/** model.init of a `score` phase: the checkpoint its run's `train` phase wrote. */
export const INIT_TRAINED = '$train';

export interface RunPlan {
  runId: string;
  suite: string;
  dataset: string;
  strategy: string;
  params: Variant['params'];
  seed: number;
  phases: PhasePlan[];
  /** The directory of a dataset directory (bring your own data); absent for shipped datasets. */
  datasetDir?: string;
  /** The suite's main metric and ranking direction, when the suite names them (suite files). */
  mainMetric?: string;
  lowerIsBetter?: boolean;
  /** The suite file the run was planned from, and its baseline (the leaderboard pairs with it). */
  suiteFile?: { file: string; sha256: string; baseline: string };
  /** Edge runs: the deployment variant whose scores the record takes (the phase's metrics.variants[deploy]). */
  deploy?: string;
  /** The run starts from this base (absolute directory) instead of the sweep's: the suite's datasetBases. */
  datasetBase?: string;
}

export interface SweepPlan {
  preset: Preset;
  runs: RunPlan[];
  /** The shared base-model pretraining phase when the preset does not use the shipped model. */
  basePhase: PhasePlan | null;
  /** Variants left out, with the reason (e.g. the trainer does not know one of their keys). */
  skipped: { suite: string; strategy: string; dataset?: string; reason: string }[];
}

export interface PlanOptions {
  suites?: string[];
  /** Suites given as definitions (suite files) instead of built-in names. */
  suiteDefs?: Suite[];
  /** Only these variants (strategy names); unknown names are errors. */
  strategies?: string[];
  /** Only these datasets; a directory (bring your own data) is added to every suite's datasets. */
  datasets?: string[];
  seeds?: number[];
  /** Base model checkpoint directory for presets with base 'shipped'. */
  baseDir?: string | null;
  /** Vocabulary size of from-scratch pretraining when the base is shipped (default: the base's). */
  scratchVocabSize?: number;
  /** The sentence-encoder base of the fewshot suite's *_st variants (default: models/tiny-en-st). */
  stBaseDir?: string | null;
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
  // The general base model (models/tiny-en-base) first; else one named like a base model. Other
  // checkpoints under models/ (tiny-en-st, the Chinese-capable tiny-zh-base) serve single suites.
  return found.find((d) => d === join(models, 'tiny-en-base')) ?? found.find((d) => /base/.test(d)) ?? found[0] ?? null;
}

/** sha256 of a dataset's entry in datasets/manifest.json (its files' hashes, rows, sources). */
export function manifestHash(dataset: string): string {
  const path = join(DATASETS_DIR, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8')) as { datasets: Record<string, unknown> };
  const entry = m.datasets[dataset];
  if (!entry) throw new Error(`${path}: no entry for dataset '${dataset}'`);
  return createHash('sha256').update(JSON.stringify(entry)).digest('hex');
}

/** A dataset reference that is a directory: its run name (card name or base name) and path; null
 * for a shipped dataset name. Throws when it is neither. */
export function datasetDirRef(ref: string, base = process.cwd()): { name: string; dir: string } | null {
  if (DATASETS[ref]) return null;
  const dir = resolve(base, ref);
  if (!isDatasetDir(dir)) throw new Error(`unknown dataset '${ref}' (known: ${DATASET_NAMES.join(', ')}; or a dataset directory: train/dev/test .jsonl, .csv or .tsv)`);
  const d = loadDatasetDir(dir);
  if (!/^[A-Za-z0-9_.=+-]+$/.test(d.name)) throw new Error(`${dir}: '${d.name}' cannot name runs (letters, digits, _ . = + -); set "name" in its dataset.json`);
  if (DATASETS[d.name]) throw new Error(`${dir}: named '${d.name}', the name of a shipped dataset; set another "name" in its dataset.json`);
  return { name: d.name, dir: d.dir };
}

/** sha256 of a dataset directory's files (the directory counterpart of manifestHash). */
export function datasetDirManifestHash(dir: string): string {
  return datasetDirHash(loadDatasetDir(dir));
}

/** What a record stores of a dataset directory: its path, every file's sha256, the dev carving. */
export function datasetFilesOf(dir: string): NonNullable<RunRecord['datasetFiles']> {
  const d = loadDatasetDir(dir);
  return { dir: d.dir, files: d.files, devCarved: d.devCarved?.rule ?? null, kind: d.kind, labels: d.labels, costlyClass: d.costlyClass, language: d.language };
}

function selected(suite: Suite, preset: Preset, opts: PlanOptions, inPlay: Suite[], dirs: Record<string, string>): { variants: Variant[]; datasets: string[] } {
  const p = suite.presets?.[preset.name];
  let variants = p?.variants ? suite.variants.filter((v) => p.variants!.includes(v.name)) : suite.variants;
  let datasets = p?.datasets ?? suite.datasets;
  if (opts.strategies?.length) {
    const all = inPlay.flatMap((s) => s.variants.map((v) => v.name));
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
    const refs = opts.datasets.map((d) => ({ d, dir: datasetDirRef(d) }));
    const names = refs.filter((r) => !r.dir).map((r) => r.d);
    const added = refs.flatMap((r) => (r.dir ? [r.dir] : []));
    for (const a of added) dirs[a.name] = a.dir;
    // Names filter the suite's datasets; directories are run in addition (alone when no name is given).
    datasets = [...(names.length ? datasets.filter((d) => names.includes(d)) : added.length ? [] : datasets), ...added.map((a) => a.name)];
  }
  return { variants, datasets };
}

export function planSweep(preset: Preset, opts: PlanOptions = {}): SweepPlan {
  const suiteNames = opts.suites?.length ? opts.suites : opts.suiteDefs?.length ? [] : SUITE_NAMES;
  const suites = [...suiteNames.map(suiteByName), ...(opts.suiteDefs ?? [])];
  const seedsOf = (suite: Suite) => opts.seeds ?? suite.presets?.[preset.name]?.seeds ?? preset.seeds;
  for (const suite of suites) {
    const seeds = seedsOf(suite);
    if (!seeds.length) throw new Error('no seeds to run');
    for (const s of seeds) if (!Number.isInteger(s) || s < 0) throw new Error(`seed ${s}: seeds are non-negative integers`);
  }
  const stBase = opts.stBaseDir ?? join(repoRoot, 'models', 'tiny-en-st');

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
    const dirs: Record<string, string> = { ...suite.datasetDirs };
    const { variants, datasets } = selected(suite, preset, opts, suites, dirs);
    const seeds = seedsOf(suite);
    for (const variant of variants) {
      // Validate the variant's phase configs once (seed 0, first dataset) with the trainer's loader.
      const trial = phasesFor(suite, variant, datasets[0] ?? suite.datasets[0], 0, preset, scratchShape, dirs, stBase);
      const problem = validatePhases(trial);
      if (problem) {
        if (opts.strategies?.includes(variant.name)) throw new Error(`suite ${suite.name}, strategy ${variant.name}: ${problem}`);
        skipped.push({ suite: suite.name, strategy: variant.name, reason: problem });
        continue;
      }
      for (const dataset of datasets) {
        const own = datasetBaseOf(suite, variant.name, dataset);
        if ('skip' in own) {
          skipped.push({ suite: suite.name, strategy: variant.name, dataset, reason: own.skip });
          continue;
        }
        for (const seed of seeds) {
          runs.push({
            runId: `${suite.name}/${dataset}/${variant.name}/seed${seed}`,
            suite: suite.name,
            dataset,
            strategy: variant.name,
            params: variant.params,
            seed,
            phases: phasesFor(suite, variant, dataset, seed, preset, scratchShape, dirs, stBase, own.dir ?? INIT_BASE),
            ...(own.dir ? { params: { ...variant.params, base: own.base! }, datasetBase: own.dir } : {}),
            ...(dirs[dataset] ? { datasetDir: dirs[dataset] } : {}),
            ...(suite.mainMetric ? { mainMetric: suite.mainMetric } : {}),
            ...(suite.lowerIsBetter ? { lowerIsBetter: true } : {}),
            ...(suite.source ? { suiteFile: { ...suite.source, baseline: suite.baseline } } : {}),
            ...(variant.edge ? { deploy: variant.edge.deploy } : {}),
          });
        }
      }
    }
  }
  if (!runs.length) throw new Error('the selection matches no runs (check --suite, --strategy, --dataset)');
  return { preset, runs, basePhase, skipped };
}

/** How a left-out variant is named in notes: suite/strategy, or suite/dataset/strategy when only one dataset leaves it out. */
export function skippedName(s: SweepPlan['skipped'][number]): string {
  return s.dataset ? `${s.suite}/${s.dataset}/${s.strategy}` : `${s.suite}/${s.strategy}`;
}

/** A run's own base (suite.datasetBases): none (the sweep's), its directory, or why the run is left out. */
function datasetBaseOf(suite: Suite, variant: string, dataset: string): { dir?: string; base?: string } | { skip: string } {
  const own = suite.datasetBases?.[dataset];
  if (!own) return {};
  if (own.exclude?.variants.includes(variant)) return { skip: `not run on ${dataset}: ${own.exclude.why}` };
  const dir = resolve(repoRoot, own.base);
  if (!existsSync(join(dir, 'model.safetensors'))) return { skip: `${dataset} starts from ${own.base}, which does not exist (made by \`${own.madeBy}\`)` };
  return { dir, base: own.base };
}

function phasesFor(suite: Suite, v: Variant, dataset: string, seed: number, preset: Preset, scratchShape: Record<string, unknown>, dirs: Record<string, string> = {}, stBase = join(repoRoot, 'models', 'tiny-en-st'), base = INIT_BASE): PhasePlan[] {
  const phases: PhasePlan[] = [];
  if (v.edge) {
    // One phase that trains and scores the row's model(s), read like a fine-tune.
    return [{ name: 'finetune', command: 'edge', dataset, config: edgePhaseConfig(v.edge, seed, preset, base) }];
  }
  if (v.fewshot) {
    // One phase, scored like a fine-tune (the runner reads its metrics.json the same way).
    const labels = [...(DATASETS[dataset]?.labels ?? [])];
    return [{ name: 'finetune', command: 'fewshot', dataset, config: fewshotPhaseConfig(v.fewshot, dataset, labels, seed, preset, { base, st: stBase }) }];
  }
  // A suite's own sizes for this preset (suite files) replace the preset's, key by key.
  const own = suite.presets?.[preset.name]?.sizes;
  const size = (phase: 'finetune' | 'pretrain' | 'probe'): PhaseSizes => ({ ...preset[phase], ...own?.[phase] });
  // A dataset directory is named by its run name and read from its path.
  const source = (ds: string) => dirs[ds] ?? ds;
  let init = base;
  const pretrainConfig = (p: NonNullable<Variant['pretrain']>) => {
    const fromScratch = p.from === 'scratch';
    const cfg = { data: { dataset: source(p.dataset) }, task: { kind: 'mlm' }, model: { init: fromScratch ? null : base } };
    // Every pretraining phase scores its dev masked-token accuracy under plain random masks, so
    // mlm_accuracy compares across variants and suites (for random masking this is the same
    // masks as 'same'), and equal continued-pretraining phases of different suites (domain's
    // b_continued, masking's rate15_random, sensitivity's pt_lr_1e-4) have equal configs: the
    // phase cache runs them once.
    const evalMasks = { 'masking.evalStrategy': 'random' };
    return applyOverrides(cfg, { ...sizesConfig(size('pretrain'), seed), ...(fromScratch ? scratchShape : {}), ...evalMasks, ...p.set });
  };
  if (v.pretrain) {
    phases.push({ name: 'pretrain', command: 'pretrain', dataset: v.pretrain.dataset, config: pretrainConfig(v.pretrain) });
    init = INIT_PRETRAINED;
  } else if (v.mlmEval) {
    // A variant without pretraining measured as a pretraining phase measures (mlm_eval): the same
    // config built the same way (sizes, seeds, eval masks), from the base, nothing trained; the
    // fine-tune still starts from the base.
    phases.push({ name: 'mlm_eval', command: 'mlm_eval', dataset: v.mlmEval.dataset, config: pretrainConfig({ ...v.mlmEval, from: 'base' }) });
  }
  // The dataset's closed label set (not the labels that happen to occur in a capped training split).
  // A shipped NER dataset fine-tunes a token tagger on its full tag set (a suite may still set task.* itself).
  const labels = (ds: string) => (dirs[ds] ? loadDatasetDir(dirs[ds]!).labels : DATASETS[ds]?.kind === 'ner' ? [...NER_LABELS] : [...(DATASETS[ds]?.labels ?? [])]);
  const kind = (ds: string) => {
    if (!dirs[ds]) return DATASETS[ds]?.kind === 'ner' ? 'token_cls' : 'seq_cls';
    const k = loadDatasetDir(dirs[ds]!).kind;
    if (k !== 'seq_cls' && k !== 'token_cls') throw new Error(`dataset directory ${dirs[ds]} holds ${k} rows; suites fine-tune classifiers (seq_cls or token_cls)`);
    return k;
  };
  const ft = (ds: string, sizes: PhaseSizes) =>
    applyOverrides({ data: { dataset: source(ds) }, task: { kind: kind(ds), labels: labels(ds) }, model: { init } }, { ...sizesConfig(sizes, seed), ...v.finetune });
  if (v.decide) {
    // A scoring setting on top of a training another variant already does: that fine-tune runs as
    // the `train` phase (the same config, so the phase cache shares it with that variant's
    // finetune), and the scored `finetune` phase evaluates its checkpoint with v.decide, training
    // nothing (`tunebench score`: bit-identical to training with the setting, which training never reads).
    phases.push({ name: 'train', command: 'finetune', dataset, config: ft(dataset, size('finetune')) });
    phases.push({ name: 'finetune', command: 'score', dataset, config: applyOverrides(ft(dataset, size('finetune')), { ...v.decide, 'model.init': INIT_TRAINED }) });
  } else {
    phases.push({ name: 'finetune', command: 'finetune', dataset, config: ft(dataset, size('finetune')) });
  }
  if (v.probe) phases.push({ name: 'probe', command: 'finetune', dataset: 'wn_topic', config: ft('wn_topic', size('probe')) });
  return phases;
}

/** The first problem the trainer's config loader finds in a variant's phases (micro preset sizes),
 * or null: how a suite file's overrides are checked before anything is planned. */
export function variantProblem(suite: Suite, v: Variant): string | null {
  const preset = PRESETS.micro;
  const b = preset.base as Exclude<Preset['base'], 'shipped'>;
  const scratchShape = { 'model.preset': b.preset, 'model.shape': b.shape, 'tokenizer.vocabSize': b.vocabSize, 'tokenizer.minFrequency': 1 };
  return validatePhases(phasesFor(suite, v, suite.datasets[0]!, 0, preset, scratchShape, { ...suite.datasetDirs }));
}

/** The first problem the trainer's config loader finds in the phases, or null. */
export function validatePhases(phases: PhasePlan[]): string | null {
  // A LoRA-only pretraining phase is fine: the trainer merges the adapter of an init checkpoint
  // into its base weights (packages/trainer/src/train/init_lora.ts).
  for (const p of phases) {
    if (p.command === 'fewshot') {
      const problem = validateFewshotPhase(p);
      if (problem) return problem;
      continue;
    }
    if (p.command === 'edge') {
      try {
        resolvePhaseConfig(p);
      } catch (e) {
        return `${p.name} phase: ${(e as Error).message}`;
      }
      continue;
    }
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
  // A few-shot phase: its own config (fewshot/config.ts) with every default filled in.
  if (p.command === 'fewshot') return checkFewshotConfig({ ...p.config, outputDir: '/nonexistent/plan-check' }, `${p.name} phase (fewshot)`) as unknown as Record<string, unknown>;
  // An edge phase: its own config (edge/config.ts) with every default filled in.
  if (p.command === 'edge') return checkEdgeConfig({ ...p.config, outputDir: '/nonexistent/plan-check' }, `${p.name} phase (edge)`) as unknown as Record<string, unknown>;
  const cfg = applyOverrides(p.config, { outputDir: '/nonexistent/plan-check' });
  const init = (cfg.model as { init?: unknown } | undefined)?.init;
  if (typeof init === 'string' && init.startsWith('$')) (cfg.model as Record<string, unknown>).init = '/nonexistent/init';
  // mlm_eval's config is a pretraining config (the trainer loads it as one).
  const c = loadTrainConfig(p.command === 'mlm_eval' ? 'pretrain' : p.command === 'score' ? 'finetune' : p.command, { flags: Object.entries(flatten(cfg)).map(([key, value]) => ({ key, value, flag: `${p.name} phase ${key}` })) });
  return c as unknown as Record<string, unknown>;
}

/** A few-shot phase: its own config, the trainer config inside it (finetune), and its encoder directory. */
function validateFewshotPhase(p: PhasePlan): string | null {
  try {
    const c = checkFewshotConfig({ ...p.config, outputDir: '/nonexistent/plan-check' }, `${p.name} phase (fewshot)`);
    if (!c.model.init.startsWith('$') && !existsSync(join(c.model.init, 'model.safetensors'))) {
      return `${p.name} phase: the encoder ${c.model.init} does not exist (the sentence-encoder base is made by \`npm run make:tiny-en-st\`)`;
    }
    if (c.trainer) {
      const cfg = applyOverrides(c.trainer, { outputDir: '/nonexistent/plan-check', 'data.dataset': c.data.dataset, 'data.train': null, 'model.init': '/nonexistent/init', 'task.kind': 'seq_cls', 'task.labels': c.data.labels });
      loadTrainConfig('finetune', { flags: Object.entries(flatten(cfg)).map(([key, value]) => ({ key, value, flag: `${p.name} phase trainer.${key}` })) });
    }
  } catch (e) {
    return `${p.name} phase: ${(e as Error).message}`;
  }
  return null;
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
