// Suites as data: a YAML (or JSON) file says what a TypeScript suite in suites/ says — the question,
// the datasets (shipped names, or dataset directories relative to the file), the baseline, the
// strategies as named sets of trainer-config overrides for up to three phases (continued
// pretraining, the scored fine-tune, the forgetting probe), per-preset subsets and sizes, and
// which metric is main_score. `tunebench bench run --suite-file my_suite.yaml` runs one;
// `tunebench bench schema` prints SUITE_FILE_SCHEMA. Every error names the file, the line and the key.
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
import { variantProblem } from './plan.js';
import { PRESET_NAMES, PRESETS, type Overrides, type PhaseSizes, type Scalar, type Suite, type Variant } from './suites/index.js';

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
    curveParam: { type: 'string', description: 'plot main_score against this numeric param' },
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
          finetune: overrides,
          probe: { type: 'boolean', description: 'also fine-tune on wn_topic from the pretrained model (forgetting probe)' },
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
        },
      }])),
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const validate = ajv.compile(SUITE_FILE_SCHEMA);

export class SuiteFileError extends Error {
  constructor(readonly file: string, readonly line: number, readonly key: string, problem: string) {
    super(`${file}:${line}: ${key ? `${key}: ` : ''}${problem}`);
    this.name = 'SuiteFileError';
  }
}

interface RawStrategy { params?: Record<string, Scalar>; pretrain?: { from: 'base' | 'scratch'; dataset: string; set?: Overrides }; finetune?: Overrides; probe?: boolean }
interface RawSuite {
  name: string; title?: string; question: string; datasets: string[]; baseline: string; mainMetric?: string; lowerIsBetter?: boolean; curveParam?: string;
  strategies: Record<string, RawStrategy>;
  presets?: Partial<Record<(typeof PRESET_NAMES)[number], { strategies?: string[]; datasets?: string[]; sizes?: Record<string, Partial<PhaseSizes>> }>>;
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

const pathOf = (e: ErrorObject): string[] => e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
const dotted = (p: (string | number)[]) => p.join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]');

function schemaProblem(e: ErrorObject): { path: string[]; problem: string; keyOnly?: boolean } {
  const path = pathOf(e);
  const under = path.join('/');
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const known = under === '' ? Object.keys(SUITE_FILE_SCHEMA.properties)
        : /^strategies\/[^/]+$/.test(under) ? ['params', 'pretrain', 'finetune', 'probe']
        : /^strategies\/[^/]+\/pretrain$/.test(under) ? ['from', 'dataset', 'set']
        : under === 'presets' ? [...PRESET_NAMES] : /^presets\/[^/]+$/.test(under) ? ['strategies', 'datasets', 'sizes']
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
    default:
      return { path, problem: e.message ?? 'is invalid' };
  }
}

/** Parses and validates a suite file (YAML or JSON) into a Suite; dataset directories are resolved
 * against the file's directory and loaded (so a bad one fails here, with its own message). */
export function loadSuiteFile(pathIn: string): Suite {
  const path = resolve(pathIn);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${pathIn}: cannot read the suite file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const syntax = /\.json$/i.test(path) ? 'JSON/YAML syntax error' : 'YAML syntax error';
    throw new SuiteFileError(pathIn, e.linePos?.[0]?.line ?? 1, '', `${syntax}: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS() as unknown;
  if (!validate(raw)) {
    const { path: p, problem, keyOnly } = schemaProblem(validate.errors![0]!);
    throw new SuiteFileError(pathIn, lineOf(doc, lc, p, keyOnly), dotted(p), problem);
  }
  const s = raw as RawSuite;
  const fail = (p: (string | number)[], problem: string): never => {
    throw new SuiteFileError(pathIn, lineOf(doc, lc, p), dotted(p), problem);
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
    if (!r.finetune && !r.pretrain) fail(['strategies', n], 'a strategy needs finetune overrides, a pretrain phase, or both');
    const params = r.params ?? Object.fromEntries(Object.entries(r.finetune ?? {}).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => [k, v as Scalar]));
    const v: Variant = { name: n, params };
    if (r.pretrain) v.pretrain = { from: r.pretrain.from, dataset: datasetName(r.pretrain.dataset, ['strategies', n, 'pretrain', 'dataset']), ...(r.pretrain.set ? { set: r.pretrain.set } : {}) };
    if (r.finetune) v.finetune = r.finetune;
    if (r.probe !== undefined) v.probe = r.probe;
    return v;
  });

  const presets: NonNullable<Suite['presets']> = {};
  for (const [p, sel] of Object.entries(s.presets ?? {}) as [keyof typeof PRESETS, NonNullable<RawSuite['presets']>['micro']][]) {
    const out: NonNullable<Suite['presets']>[typeof p] = {};
    if (sel?.strategies) {
      sel.strategies.forEach((x, i) => { if (!strategyNames.includes(x)) fail(['presets', p, 'strategies', i], `'${x}' is not one of the strategies (${strategyNames.join(', ')})`); });
      out.variants = sel.strategies;
    }
    if (sel?.datasets) out.datasets = sel.datasets.map((d, i) => datasetName(d, ['presets', p, 'datasets', i]));
    if (sel?.sizes) out.sizes = sel.sizes as NonNullable<typeof out.sizes>;
    presets[p] = out;
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
    ...(s.mainMetric ? { mainMetric: s.mainMetric } : {}),
    ...(s.lowerIsBetter ? { lowerIsBetter: true } : {}),
    ...(Object.keys(datasetDirs).length ? { datasetDirs } : {}),
    source: { file: path, sha256: createHash('sha256').update(text).digest('hex') },
  };
  // Every strategy's overrides through the trainer's own config loader: an unknown or ill-typed
  // key is an error here, at its line, not a skipped variant an hour into the sweep.
  for (const v of variants) {
    const problem = variantProblem(suite, v);
    if (problem) {
      const phase = /^pretrain phase/.test(problem) ? 'pretrain' : 'finetune';
      const set = (phase === 'pretrain' ? s.strategies[v.name]!.pretrain?.set : s.strategies[v.name]!.finetune) ?? {};
      // The override the loader complains about (the longest key named in the message), if any.
      const key = Object.keys(set).filter((k) => problem.includes(k)).sort((a, b) => b.length - a.length)[0];
      const where = ['strategies', v.name, ...(phase === 'pretrain' ? ['pretrain', 'set'] : ['finetune']), ...(key ? [key] : [])];
      const last = problem.split('\n').pop()!.trim().replace(/^(pretrain|finetune|probe) phase( [A-Za-z0-9_.]+)?: (invalid configuration: )?/, '');
      fail(where, last);
    }
  }
  return suite;
}

/** A suite as suite-file data (the inverse of loadSuiteFile for suites without dataset directories):
 * how a built-in suite reads as a file a user can copy and edit. */
export function suiteToFile(s: Suite): Record<string, unknown> {
  const strategies: Record<string, unknown> = {};
  for (const v of s.variants) {
    strategies[v.name] = {
      params: v.params,
      ...(v.pretrain ? { pretrain: v.pretrain } : {}),
      ...(v.finetune ? { finetune: v.finetune } : {}),
      ...(v.probe !== undefined ? { probe: v.probe } : {}),
    };
  }
  const presets: Record<string, unknown> = {};
  for (const [p, sel] of Object.entries(s.presets ?? {})) {
    presets[p] = { ...(sel?.variants ? { strategies: sel.variants } : {}), ...(sel?.datasets ? { datasets: sel.datasets } : {}), ...(sel?.sizes ? { sizes: sel.sizes } : {}) };
  }
  return {
    name: s.name, title: s.title, question: s.question, datasets: s.datasets, baseline: s.baseline,
    ...(s.mainMetric ? { mainMetric: s.mainMetric } : {}), ...(s.lowerIsBetter ? { lowerIsBetter: true } : {}),
    ...(s.curveParam ? { curveParam: s.curveParam } : {}),
    strategies,
    ...(Object.keys(presets).length ? { presets } : {}),
  };
}
