// Suites as data, the parsing half: a YAML (or JSON) suite file → a Suite. The built-in suites are
// such files (packages/bench/suites/*.yaml, loaded by suites/index.ts), so this module imports
// nothing that knows the built-in suites; suite_file.ts adds the checks that need the trainer's
// config loader and the claims file. `tunebench bench schema` prints SUITE_FILE_SCHEMA. Every
// error names the file, the line and the key.
//
//   name: spam_lr
//   question: Which learning rate for head-only training on my e-mail?
//   datasets: [./my_mail]
//   baseline: lr_1e-3
//   strategies:
//     lr_1e-3: { finetune: { strategy.name: head_only, optimizer.lr: 1.0e-3 } }
//     lr_1e-2: { finetune: { strategy.name: head_only, optimizer.lr: 1.0e-2 } }

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isMap, isScalar, type Document } from 'yaml';
import { DATASETS, DATASET_NAMES, isDatasetDir, loadDatasetDir } from '@tunebench/datasets';
import { SUITE_CLAIM_SCHEMA, CLAIM_KEYS } from '../claim_schema.js';
import { EDGE_VARIANTS } from '../edge/config.js';
import { PRESET_NAMES, type EdgeSpec, type FewshotSpec, type Overrides, type PhaseSizes, type PresetName, type Scalar, type Suite, type Variant } from './types.js';

const SIZE_KEYS: (keyof PhaseSizes)[] = ['maxSteps', 'epochs', 'batchSize', 'maxLength', 'maxTrainRows', 'maxEvalRows', 'logEvery', 'evalEvery'];
const sizesSchema = {
  type: 'object', additionalProperties: false,
  properties: Object.fromEntries(SIZE_KEYS.map((k) => [k, k === 'epochs' ? { type: 'number', exclusiveMinimum: 0 } : { type: 'integer', minimum: 0 }])),
};
const overrides = {
  type: 'object',
  description: 'trainer-config overrides: dotted keys of packages/trainer/src/config/schema.ts (e.g. strategy.name, strategy.k, optimizer.lr, lora)',
  propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9]*(\\.[A-Za-z][A-Za-z0-9]*)*$' },
};
const name = { type: 'string', pattern: '^[a-z0-9_.=-]+$' };
const STRATEGY_KEYS = ['params', 'pretrain', 'mlmEval', 'finetune', 'decide', 'probe', 'fewshot', 'edge'];
const FEWSHOT_KEYS = ['method', 'shots', 'encoder', 'teacher', 'set'];
const EDGE_KEYS = ['mode', 'student', 'hiddenMse', 'deploy', 'set'];
const PRESET_KEYS = ['strategies', 'datasets', 'sizes', 'seeds'];

/** The JSON schema of a suite file (printed by `tunebench bench schema`). */
export const SUITE_FILE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'tunebench/suite-file',
  title: 'tunebench suite file',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'question', 'datasets', 'baseline', 'strategies'],
  properties: {
    name: { ...name, description: 'suite name (record paths, leaderboard)' },
    title: { type: 'string' },
    question: { type: 'string', minLength: 1, description: 'the question the suite answers (shown on the report)' },
    datasets: {
      type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 },
      description: 'shipped dataset names, or dataset directories (relative to this file)',
    },
    baseline: { ...name, description: 'the strategy every other is compared with (paired by seed)' },
    mainMetric: { type: 'string', minLength: 1, description: 'the fine-tune test metric that is main_score (default: the task\'s: accuracy, f1)' },
    lowerIsBetter: { type: 'boolean', description: 'main_score ranks ascending (a loss, an error rate)' },
    curveParam: { type: 'string', minLength: 1, description: 'plot main_score against this numeric param' },
    curveGroup: { type: 'string', minLength: 1, description: 'the param whose values make the curves of that plot (default stage)' },
    languageMetrics: { type: 'boolean', description: 'record unk_rate, tokens_per_char and the pretraining phase\'s held-out MLM losses (vocabulary suites)' },
    costMatrix: {
      type: 'object', additionalProperties: false, required: ['labels', 'costlyClass', 'matrix'],
      description: 'costly-class suites: cost[i][j] of predicting labels[j] when the truth is labels[i] (printed in the report; the trainer\'s task.costMatrix is set per strategy)',
      properties: {
        labels: { type: 'array', minItems: 2, uniqueItems: true, items: { type: 'string', minLength: 1 } },
        costlyClass: { type: 'string', minLength: 1 },
        matrix: { type: 'array', items: { type: 'array', items: { type: 'number', minimum: 0 } } },
      },
    },
    datasetBases: {
      type: 'object',
      description: 'datasets scored from another base model than the sweep\'s (e.g. a Chinese dataset from a Chinese-capable base): dataset → its base and the strategies that do not apply to it',
      additionalProperties: {
        type: 'object', additionalProperties: false, required: ['base', 'madeBy'],
        properties: {
          base: { type: 'string', minLength: 1, description: 'checkpoint directory, relative to the repository root or absolute' },
          madeBy: { type: 'string', minLength: 1, description: 'the command that makes it (said when it is missing)' },
          exclude: {
            type: 'object', additionalProperties: false, required: ['variants', 'why'],
            properties: { variants: { type: 'array', items: name }, why: { type: 'string', minLength: 1 } },
          },
        },
      },
    },
    strategies: {
      type: 'object', minProperties: 1,
      propertyNames: name,
      additionalProperties: {
        type: 'object', additionalProperties: false,
        properties: {
          params: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] }, description: 'what distinguishes it (default: its scalar fine-tune overrides)' },
          pretrain: {
            type: 'object', additionalProperties: false, required: ['from', 'dataset'],
            properties: {
              from: { enum: ['base', 'scratch'], description: 'continue from the base model, or random init with its own vocabulary' },
              dataset: { type: 'string', minLength: 1, description: 'text to pretrain on: a shipped dataset or a dataset directory' },
              set: overrides,
            },
          },
          mlmEval: {
            type: 'object', additionalProperties: false, required: ['dataset'],
            description: 'no pretraining: measure the base\'s held-out MLM scores as a pretraining phase on this dataset (with these overrides) would (an mlm_eval phase)',
            properties: {
              dataset: { type: 'string', minLength: 1, description: 'the pretraining text whose held-out rows are scored: a shipped dataset or a dataset directory' },
              set: overrides,
            },
          },
          finetune: overrides,
          decide: {
            ...overrides,
            description: 'settings that only change how the fine-tuned model is scored (e.g. task.decision): the fine-tune runs as a train phase shared with the strategy that trains the same way, then `tunebench score` of its checkpoint with these on top',
          },
          probe: { type: 'boolean', description: 'also fine-tune on wn_topic from the pretrained model (forgetting probe)' },
          fewshot: {
            type: 'object', additionalProperties: false, required: ['method', 'shots', 'encoder'],
            description: 'one few-shot phase instead of the trainer phases (packages/bench/src/fewshot)',
            properties: {
              method: { enum: ['frozen_lr', 'setfit', 'finetune', 'self_training'] },
              shots: { type: 'integer', minimum: 1, description: 'labelled examples per class' },
              encoder: { enum: ['base', 'st'], description: 'the run\'s base model, or the sentence-encoder base (models/tiny-en-st)' },
              teacher: { enum: ['setfit', 'full'], description: 'self_training: the teacher (and each round\'s student), SetFit (default) or full fine-tuning' },
              set: { ...overrides, description: 'overrides of the few-shot phase config (dotted keys of fewshot/config.ts; trainer.* for the trainer\'s)' },
            },
          },
          edge: {
            type: 'object', additionalProperties: false, required: ['mode', 'student', 'deploy'],
            description: 'one edge phase instead of the trainer phases: one model serving classification, NER and search (packages/bench/src/edge)',
            properties: {
              mode: { enum: ['single', 'multi', 'distill'], description: 'three single-task models, one multi-task model, or a multi-task student distilled from a teacher' },
              student: { enum: ['base', 'small'], description: 'the run\'s base model, or a smaller shape from random weights (the preset\'s)' },
              hiddenMse: { type: 'boolean', description: 'distill: add the hidden-state MSE through a learned projection' },
              deploy: { enum: [...EDGE_VARIANTS], description: 'the deployment variant this row scores' },
              set: { ...overrides, description: 'overrides of the edge phase config (dotted keys of edge/config.ts)' },
            },
          },
        },
      },
    },
    presets: {
      type: 'object', additionalProperties: false,
      properties: Object.fromEntries(PRESET_NAMES.map((p) => [p, {
        type: 'object', additionalProperties: false,
        properties: {
          strategies: { type: 'array', items: name, minItems: 1, uniqueItems: true },
          datasets: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true },
          sizes: {
            type: 'object', additionalProperties: false,
            properties: { finetune: sizesSchema, pretrain: sizesSchema, probe: sizesSchema },
            description: `phase sizes replacing the preset's (see bench list)`,
          },
          seeds: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, uniqueItems: true, description: 'seeds replacing the preset\'s' },
        },
      }])),
    },
    claims: {
      type: 'array', minItems: 1,
      description: 'claims checked on this suite\'s records (bench claims, the report): ids of packages/bench/claims.yaml, or claims written here in the same format',
      items: { anyOf: [{ type: 'string', pattern: '^[a-z0-9_.-]+$' }, SUITE_CLAIM_SCHEMA] },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validate = ajv.compile(SUITE_FILE_SCHEMA);
const validateClaim = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(SUITE_CLAIM_SCHEMA);

export class SuiteFileError extends Error {
  constructor(readonly file: string, readonly line: number, readonly key: string, problem: string) {
    super(`${file}:${line}: ${key ? `${key}: ` : ''}${problem}`);
    this.name = 'SuiteFileError';
  }
}

export interface RawStrategy { params?: Record<string, Scalar>; pretrain?: { from: 'base' | 'scratch'; dataset: string; set?: Overrides }; mlmEval?: { dataset: string; set?: Overrides }; finetune?: Overrides; decide?: Overrides; probe?: boolean; fewshot?: FewshotSpec; edge?: EdgeSpec }
/** A claim as written in a suite file: an id of the claims file, or the claim itself. */
export type RawSuiteClaim = string | { id: string; question?: string; text: string; suite?: string; datasets?: string[]; tests: Record<string, unknown>[] };
export interface RawSuite {
  name: string; title?: string; question: string; datasets: string[]; baseline: string; mainMetric?: string; lowerIsBetter?: boolean;
  curveParam?: string; curveGroup?: string; languageMetrics?: boolean; costMatrix?: NonNullable<Suite['costMatrix']>;
  datasetBases?: NonNullable<Suite['datasetBases']>;
  strategies: Record<string, RawStrategy>;
  presets?: Partial<Record<PresetName, { strategies?: string[]; datasets?: string[]; sizes?: Record<string, Partial<PhaseSizes>>; seeds?: number[] }>>;
  claims?: RawSuiteClaim[];
}

/** Line of a key path in the parsed document (the key itself for a map entry), else 1. */
export function lineOf(doc: Document, lc: LineCounter, path: (string | number)[], keyOnly = false): number {
  for (let n = path.length; n >= 0; n--) {
    const parent = n === 0 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    if (n > 0 && isMap(parent)) {
      const pair = parent.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === path[n - 1]);
      const node = (keyOnly || !pair?.value ? pair?.key : pair.value) as { range?: [number, number] } | undefined;
      if (node?.range) return lc.linePos(node.range[0]).line;
    }
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as { range?: [number, number] } | null;
    if (node?.range) return lc.linePos(node.range[0]).line;
  }
  return 1;
}

const pathOf = (e: ErrorObject): (string | number)[] => e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
export const dotted = (p: (string | number)[]) => p.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('').replace(/^\./, '');

function schemaProblem(e: ErrorObject, raw: RawSuite): { path: (string | number)[]; problem: string; keyOnly?: boolean } {
  const path = pathOf(e);
  const under = path.join('/');
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const known = under === '' ? Object.keys(SUITE_FILE_SCHEMA.properties)
        : /^strategies\/[^/]+$/.test(under) ? STRATEGY_KEYS
        : /^strategies\/[^/]+\/pretrain$/.test(under) ? ['from', 'dataset', 'set']
        : /^strategies\/[^/]+\/mlmEval$/.test(under) ? ['dataset', 'set']
        : /^strategies\/[^/]+\/fewshot$/.test(under) ? FEWSHOT_KEYS
        : /^strategies\/[^/]+\/edge$/.test(under) ? EDGE_KEYS
        : under === 'costMatrix' ? ['labels', 'costlyClass', 'matrix']
        : /^datasetBases\/[^/]+$/.test(under) ? ['base', 'madeBy', 'exclude'] : /^datasetBases\/[^/]+\/exclude$/.test(under) ? ['variants', 'why']
        : /^claims\/\d+$/.test(under) ? CLAIM_KEYS : /^claims\/\d+\/tests\/\d+$/.test(under) ? ['label', 'compare', 'metric', 'a', 'b', 'pairBy', 'claim', 'threshold']
        : under === 'presets' ? [...PRESET_NAMES] : /^presets\/[^/]+$/.test(under) ? PRESET_KEYS
        : /^presets\/[^/]+\/sizes$/.test(under) ? ['finetune', 'pretrain', 'probe'] : /sizes\/[^/]+$/.test(under) ? SIZE_KEYS : [];
      const what = /^strategies\/[^/]+$/.test(under) ? 'unknown strategy key' : 'unknown key';
      return { path: [...path, extra], problem: `${what} ${JSON.stringify(extra)}${known.length ? ` (known: ${known.join(', ')})` : ''}`, keyOnly: true };
    }
    case 'required':
      return { path, problem: `missing key ${JSON.stringify((e.params as { missingProperty: string }).missingProperty)}` };
    case 'enum':
      return { path, problem: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
    case 'propertyNames': {
      const bad = (e.params as { propertyName: string }).propertyName;
      return { path: [...path, bad], problem: `${JSON.stringify(bad)} is not a valid ${/strategies$/.test(under) ? 'strategy name ([a-z0-9_.=-])' : 'dotted config key'}`, keyOnly: true };
    }
    case 'anyOf': {
      // A claim that is neither an id nor a claim object: say what the object form lacks.
      const item = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], raw);
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        if (!validateClaim(item)) {
          // An unknown key first: a misspelt "text" is the reason "text" is missing.
          const first = validateClaim.errors!.find((x) => x.keyword === 'additionalProperties') ?? validateClaim.errors![0]!;
          return schemaProblem({ ...first, instancePath: `${e.instancePath}${first.instancePath}` }, raw);
        }
      }
      return { path, problem: 'a claim is an id of the claims file (a string) or a claim (id, text, tests)' };
    }
    default:
      return { path, problem: e.message ?? 'is invalid' };
  }
}

export interface ParsedSuiteFile {
  suite: Suite;
  raw: RawSuite;
  /** file:line: key: problem, for checks made after parsing (suite_file.ts). */
  fail: (p: (string | number)[], problem: string) => never;
}

/** Parses and validates a suite file's text (YAML or JSON) into a Suite. Dataset directories are
 * resolved against the file's directory and loaded (so a bad one fails here, with its own message).
 * `shown` is the name errors use for the file. */
export function parseSuiteText(text: string, path: string, shown: string = path): ParsedSuiteFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const syntax = /\.json$/i.test(path) ? 'JSON/YAML syntax error' : 'YAML syntax error';
    throw new SuiteFileError(shown, e.linePos?.[0]?.line ?? 1, '', `${syntax}: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS() as unknown;
  if (!validate(raw)) {
    // A claim fails both forms of its anyOf (id or claim): ajv lists the branches' errors first.
    const errs = validate.errors!;
    const { path: p, problem, keyOnly } = schemaProblem(errs.find((e) => e.keyword === 'anyOf') ?? errs[0]!, raw as RawSuite);
    throw new SuiteFileError(shown, lineOf(doc, lc, p, keyOnly), dotted(p), problem);
  }
  const s = raw as RawSuite;
  const fail = (p: (string | number)[], problem: string): never => {
    throw new SuiteFileError(shown, lineOf(doc, lc, p), dotted(p), problem);
  };
  const strategyNames = Object.keys(s.strategies);
  if (!strategyNames.includes(s.baseline)) fail(['baseline'], `'${s.baseline}' is not one of the strategies (${strategyNames.join(', ')})`);

  // Datasets: shipped names stay names; directories become dataset names (their card name or base
  // name), with the directory remembered for the planner.
  const datasetDirs: Record<string, string> = {};
  const datasetName = (ref: string, at: (string | number)[]): string => {
    if (DATASETS[ref]) return ref;
    const dir = resolve(dirname(path), ref);
    if (!isDatasetDir(dir)) fail(at, `'${ref}' is neither a shipped dataset (${DATASET_NAMES.join(', ')}) nor a directory (looked for ${dir})`);
    let loaded;
    try {
      loaded = loadDatasetDir(dir);
    } catch (e) {
      fail(at, `dataset directory ${ref}: ${(e as Error).message}`);
    }
    const n = loaded!.name;
    if (DATASETS[n]) fail(at, `dataset directory ${ref} is named '${n}', the name of a shipped dataset; set another "name" in its dataset.json`);
    if (datasetDirs[n] && datasetDirs[n] !== loaded!.dir) fail(at, `two dataset directories are named '${n}' (${datasetDirs[n]} and ${loaded!.dir}); set "name" in a dataset.json`);
    datasetDirs[n] = loaded!.dir;
    return n;
  };
  const datasets = s.datasets.map((d, i) => datasetName(d, ['datasets', i]));

  const variants: Variant[] = strategyNames.map((n) => {
    const r = s.strategies[n]!;
    if (r.fewshot) {
      const other = (['pretrain', 'mlmEval', 'finetune', 'decide', 'probe'] as const).find((k) => r[k] !== undefined);
      if (other) fail(['strategies', n, other], `a fewshot strategy is one few-shot phase; it takes no ${other}`);
      if (r.edge) fail(['strategies', n, 'edge'], 'a fewshot strategy is one few-shot phase; it takes no edge');
      return { name: n, params: r.params ?? {}, fewshot: r.fewshot };
    }
    if (r.edge) {
      const other = (['pretrain', 'mlmEval', 'finetune', 'decide', 'probe'] as const).find((k) => r[k] !== undefined);
      if (other) fail(['strategies', n, other], `an edge strategy is one edge phase; it takes no ${other}`);
      if (r.edge.hiddenMse && r.edge.mode !== 'distill') fail(['strategies', n, 'edge', 'hiddenMse'], `hidden-state distillation needs a teacher: mode 'distill', not '${r.edge.mode}'`);
      return { name: n, params: r.params ?? {}, edge: r.edge };
    }
    if (!r.finetune && !r.pretrain) fail(['strategies', n], 'a strategy needs finetune overrides, a pretrain phase, both, a fewshot phase or an edge phase');
    const params = r.params ?? Object.fromEntries(Object.entries(r.finetune ?? {}).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => [k, v as Scalar]));
    const v: Variant = { name: n, params };
    if (r.pretrain) v.pretrain = { from: r.pretrain.from, dataset: datasetName(r.pretrain.dataset, ['strategies', n, 'pretrain', 'dataset']), ...(r.pretrain.set ? { set: r.pretrain.set } : {}) };
    if (r.mlmEval && r.pretrain) fail(['strategies', n, 'mlmEval'], 'a strategy with a pretrain phase measures its held-out MLM scores there; mlmEval is for a strategy without one');
    if (r.mlmEval) v.mlmEval = { dataset: datasetName(r.mlmEval.dataset, ['strategies', n, 'mlmEval', 'dataset']), ...(r.mlmEval.set ? { set: r.mlmEval.set } : {}) };
    if (r.finetune) v.finetune = r.finetune;
    if (r.decide) v.decide = r.decide;
    if (r.probe !== undefined) v.probe = r.probe;
    return v;
  });

  const presets: NonNullable<Suite['presets']> = {};
  for (const [p, sel] of Object.entries(s.presets ?? {}) as [PresetName, NonNullable<RawSuite['presets']>['micro']][]) {
    const out: NonNullable<Suite['presets']>[typeof p] = {};
    if (sel?.strategies) {
      sel.strategies.forEach((x, i) => { if (!strategyNames.includes(x)) fail(['presets', p, 'strategies', i], `'${x}' is not one of the strategies (${strategyNames.join(', ')})`); });
      out.variants = sel.strategies;
    }
    if (sel?.datasets) out.datasets = sel.datasets.map((d, i) => datasetName(d, ['presets', p, 'datasets', i]));
    if (sel?.sizes) out.sizes = sel.sizes as NonNullable<typeof out.sizes>;
    if (sel?.seeds) out.seeds = sel.seeds;
    presets[p] = out;
  }
  if (s.costMatrix) {
    const { labels, costlyClass, matrix } = s.costMatrix;
    if (!labels.includes(costlyClass)) fail(['costMatrix', 'costlyClass'], `'${costlyClass}' is not one of the labels (${labels.join(', ')})`);
    if (matrix.length !== labels.length || matrix.some((row) => row.length !== labels.length)) fail(['costMatrix', 'matrix'], `must be ${labels.length} × ${labels.length} (one row and column per label)`);
  }
  for (const [d, own] of Object.entries(s.datasetBases ?? {})) {
    if (!datasets.includes(d)) fail(['datasetBases', d], `'${d}' is not one of the suite's datasets (${datasets.join(', ')})`);
    own.exclude?.variants.forEach((x, i) => { if (!strategyNames.includes(x)) fail(['datasetBases', d, 'exclude', 'variants', i], `'${x}' is not one of the strategies`); });
  }
  const suite: Suite = {
    name: s.name,
    title: s.title ?? s.name,
    question: s.question,
    baseline: s.baseline,
    datasets,
    variants,
    ...(Object.keys(presets).length ? { presets } : {}),
    ...(s.curveParam ? { curveParam: s.curveParam } : {}),
    ...(s.curveGroup ? { curveGroup: s.curveGroup } : {}),
    ...(s.mainMetric ? { mainMetric: s.mainMetric } : {}),
    ...(s.lowerIsBetter ? { lowerIsBetter: true } : {}),
    ...(s.languageMetrics ? { languageMetrics: true } : {}),
    ...(s.costMatrix ? { costMatrix: s.costMatrix } : {}),
    ...(s.datasetBases ? { datasetBases: s.datasetBases } : {}),
    ...(Object.keys(datasetDirs).length ? { datasetDirs } : {}),
    source: { file: path, sha256: createHash('sha256').update(text).digest('hex') },
  };
  return { suite, raw: s, fail };
}

/** Reads and parses a suite file (no trainer checks: see loadSuiteFile in suite_file.ts). */
export function parseSuiteFile(pathIn: string): ParsedSuiteFile {
  const path = resolve(pathIn);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${pathIn}: cannot read the suite file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseSuiteText(text, path, pathIn);
}
