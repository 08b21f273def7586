// Load a run config: JSON file → command-line overrides → ajv validation (defaults filled in)
// → cross-field checks. Every error names the key and where its value came from (the file, or
// the --set / flag that gave it).

import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { INFER_SCHEMA, TRAIN_SCHEMA, type Command, type InferRunConfig, type TrainRunConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /** Path of the JSON config file (optional: flags alone can make a config). */
  file?: string | null;
  /** `key.path=value` strings from --set (value parsed as JSON when it parses, else a string). */
  sets?: string[];
  /** Explicit flags already mapped to key paths, e.g. { 'optimizer.lr': 1e-4 }, named by their flag in errors. */
  flags?: { key: string; value: unknown; flag: string }[];
}

type Json = Record<string, unknown>;

/** Parse one --set argument. */
export function parseSet(arg: string): { key: string; value: unknown } {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${arg}: expected key=value (e.g. --set optimizer.lr=1e-4)`);
  const key = arg.slice(0, eq).trim();
  if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(key)) throw new ConfigError(`--set ${arg}: '${key}' is not a key path like training.batchSize`);
  const raw = arg.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare string (e.g. a path or a strategy name)
  }
  return { key, value };
}

function setPath(obj: Json, key: string, value: unknown, origin: string): void {
  const parts = key.split('.');
  let o = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i];
    const cur = o[p];
    if (cur === undefined || cur === null) o[p] = {};
    else if (typeof cur !== 'object' || Array.isArray(cur)) {
      throw new ConfigError(`${origin}: cannot set '${key}': '${parts.slice(0, i + 1).join('.')}' is not an object`);
    }
    o = o[p] as Json;
  }
  o[parts[parts.length - 1]] = value;
}

function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`config file ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file}: invalid JSON (${(e as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file}: the top level must be a JSON object`);
  return parsed as Json;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
const validators = {
  train: ajv.compile(TRAIN_SCHEMA),
  infer: ajv.compile(INFER_SCHEMA),
};

function keyOf(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return path ? `${path}.${extra}` : extra;
  }
  if (e.keyword === 'required') {
    const m = (e.params as { missingProperty: string }).missingProperty;
    return path ? `${path}.${m}` : m;
  }
  return path || '(top level)';
}

function allowedKeys(schema: object, path: string): string[] {
  let s = schema as { properties?: Record<string, object> };
  for (const p of path.split('.').slice(0, -1)) {
    if (!p) continue;
    s = (s.properties?.[p] ?? {}) as typeof s;
  }
  return Object.keys(s.properties ?? {}).filter((k) => k !== '$schema');
}

function describe(e: ErrorObject, schema: object, origins: Map<string, string>, fileLabel: string): string {
  const key = keyOf(e);
  let origin = fileLabel;
  for (const [k, o] of origins) if (key === k || key.startsWith(k + '.')) origin = o;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${origin}: unknown key '${key}' (allowed here: ${allowedKeys(schema, key).join(', ')})`;
    case 'required':
      return `${origin}: missing required key '${key}'`;
    case 'enum':
      return `${origin}: '${key}' must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${origin}: '${key}' ${e.message}`;
  }
}

function build(command: Command, src: ConfigSources): { raw: Json; origins: Map<string, string>; fileLabel: string } {
  const raw = src.file ? readConfigFile(src.file) : {};
  const fileLabel = src.file ? `config file ${src.file}` : 'config (no file)';
  const origins = new Map<string, string>();
  for (const s of src.sets ?? []) {
    const { key, value } = parseSet(s);
    setPath(raw, key, value, `--set ${s}`);
    origins.set(key, `--set ${s}`);
  }
  for (const f of src.flags ?? []) {
    if (f.value === undefined) continue;
    setPath(raw, f.key, f.value, f.flag);
    origins.set(f.key, f.flag);
  }
  if (command === 'pretrain') {
    const task = (raw.task ?? {}) as Json;
    if (task.kind !== undefined && task.kind !== 'mlm') {
      throw new ConfigError(`${origins.get('task.kind') ?? fileLabel}: 'task.kind' must be "mlm" for pretrain (got ${JSON.stringify(task.kind)})`);
    }
    setPath(raw, 'task.kind', 'mlm', 'pretrain');
  }
  return { raw, origins, fileLabel };
}

function validate<T>(which: 'train' | 'infer', raw: Json, origins: Map<string, string>, fileLabel: string): T {
  const v = validators[which];
  if (!v(raw)) {
    const schema = which === 'train' ? TRAIN_SCHEMA : INFER_SCHEMA;
    const msgs = [...new Set((v.errors ?? []).map((e) => describe(e, schema, origins, fileLabel)))];
    throw new ConfigError(`invalid configuration:\n  ${msgs.join('\n  ')}`);
  }
  return raw as T;
}

/** Load and validate the config of `pretrain` / `finetune`. */
export function loadTrainConfig(command: 'pretrain' | 'finetune', src: ConfigSources): TrainRunConfig {
  const { raw, origins, fileLabel } = build(command, src);
  // Read before validation fills in defaults: was the old key task.mlmProbability given?
  const givenMlmP = ((raw.task ?? {}) as Json).mlmProbability;
  const c = validate<TrainRunConfig>('train', raw, origins, fileLabel);
  const where = (key: string) => origins.get(key) ?? fileLabel;
  resolveMasking(c, givenMlmP !== undefined, where);
  // Cross-field rules the schema cannot say.
  if (command === 'finetune' && c.task.kind === 'mlm') {
    throw new ConfigError(`${where('task.kind')}: finetune needs task.kind seq_cls, token_cls or embedding (use 'tunebench pretrain' for mlm)`);
  }
  if (!c.data.dataset && !c.data.train) {
    throw new ConfigError(`${fileLabel}: give data.dataset (a shipped dataset) or data.train (a JSONL file)`);
  }
  if ((c.strategy.name === 'top_k' || c.strategy.name === 'bottom_k') && c.strategy.k === undefined) {
    throw new ConfigError(`${where('strategy.name')}: strategy '${c.strategy.name}' needs strategy.k`);
  }
  if (c.strategy.name === 'lora' && !c.lora) {
    throw new ConfigError(`${where('strategy.name')}: strategy 'lora' needs a "lora" block (e.g. --set lora.r=8)`);
  }
  if (c.strategy.name !== 'lora' && c.lora) {
    throw new ConfigError(`${where('lora')}: a "lora" block is given but strategy.name is '${c.strategy.name}' (use strategy 'lora')`);
  }
  const aug = c.data.augment;
  if (aug) {
    if (command !== 'finetune' || c.task.kind !== 'seq_cls') {
      throw new ConfigError(`${where('data.augment')}: data.augment (EDA) rewrites the text of labelled rows: it needs finetune with task.kind seq_cls (got ${command}, ${c.task.kind})`);
    }
    if (aug.alphaSr === 0 && aug.alphaRi === 0 && aug.alphaRs === 0 && aug.pRd === 0) {
      throw new ConfigError(`${where('data.augment')}: data.augment with every rate 0 (alphaSr, alphaRi, alphaRs, pRd) makes no copies; set one above 0 or use data.augment=null`);
    }
  }
  if (c.data.generalRatio > 0 && !c.data.general) {
    throw new ConfigError(`${where('data.generalRatio')}: data.generalRatio > 0 needs data.general (the general corpus)`);
  }
  if (c.ewc && !c.ewc.data && !c.data.general) {
    throw new ConfigError(`${where('ewc')}: EWC needs general data for the Fisher estimate: set ewc.data or data.general`);
  }
  if (c.task.crf && c.task.kind !== 'token_cls') {
    throw new ConfigError(`${where('task.crf')}: task.crf needs task.kind token_cls (got ${JSON.stringify(c.task.kind)})`);
  }
  if (c.task.crf && c.task.loss !== 'ce') {
    throw new ConfigError(`${where('task.loss')}: with task.crf the loss is the CRF's negative log-likelihood; task.loss '${c.task.loss}' cannot apply (leave it 'ce')`);
  }
  if (c.training.earlyStopping && !c.data.dev && !c.data.dataset) {
    throw new ConfigError(`${where('training.earlyStopping')}: early stopping needs a dev set (data.dev or data.dataset)`);
  }
  const t = c.task;
  const costlyKeys = ([['task.costMatrix', t.costMatrix.length > 0], ['task.decision', t.decision !== 'argmax'], ['task.targetRecall', t.targetRecall !== null], ['data.resample', c.data.resample !== 'none'], ['data.embedResample', c.data.embedResample !== 'none']] as const).filter(([, on]) => on);
  if (costlyKeys.length && !t.costlyClass) {
    throw new ConfigError(`${where(costlyKeys[0][0])}: '${costlyKeys[0][0]}' needs task.costlyClass (the label whose misses are costly)`);
  }
  if (t.costlyClass && t.kind !== 'seq_cls') throw new ConfigError(`${where('task.costlyClass')}: task.costlyClass needs task.kind seq_cls (got ${t.kind})`);
  if (t.targetRecall !== null && t.decision !== 'threshold') {
    throw new ConfigError(`${where('task.targetRecall')}: task.targetRecall is only used by task.decision 'threshold' (got '${t.decision}')`);
  }
  if (c.data.embedResample !== 'none' && c.data.resample !== 'none') {
    throw new ConfigError(`${where('data.embedResample')}: data.embedResample '${c.data.embedResample}' and data.resample '${c.data.resample}' are two resamplings of one split; choose one`);
  }
  if (t.focalAlpha.length && t.loss !== 'focal') throw new ConfigError(`${where('task.focalAlpha')}: task.focalAlpha is given but task.loss is '${t.loss}' (use 'focal')`);
  if (t.costMatrix.some((row) => row.length !== t.costMatrix.length)) {
    throw new ConfigError(`${where('task.costMatrix')}: task.costMatrix must be square (one row and one column per label); got rows of ${t.costMatrix.map((r) => r.length).join(', ')} entries for ${t.costMatrix.length} rows`);
  }
  if (c.optimizer.lr === 0) {
    // Allowed (a dry run of the pipeline), but almost always a mistake.
    console.error(`[tunebench] warning: ${where('optimizer.lr')}: optimizer.lr is 0: no parameter will change during training`);
  }
  return c;
}

/**
 * masking.probability and the older task.mlmProbability are one setting: either may be given (both
 * only when equal); the resolved config holds the value in both. Plus the masking section's
 * cross-field rules.
 */
function resolveMasking(c: TrainRunConfig, mlmPGiven: boolean, where: (key: string) => string): void {
  const m = c.masking;
  if (m.probability === undefined) m.probability = c.task.mlmProbability;
  else if (mlmPGiven && c.task.mlmProbability !== m.probability) {
    throw new ConfigError(`${where('masking.probability')}: 'masking.probability' (${m.probability}) and 'task.mlmProbability' (${c.task.mlmProbability}) disagree; give only masking.probability`);
  }
  c.task.mlmProbability = m.probability;
  if (m.maskFraction + m.randomFraction > 1 + 1e-12) {
    throw new ConfigError(`${where('masking.maskFraction')}: 'masking.maskFraction' + 'masking.randomFraction' must be ≤ 1 (got ${m.maskFraction} + ${m.randomFraction})`);
  }
  const uses = m.strategy === 'mixture' ? m.mixture.map((x) => x.strategy) : [m.strategy];
  if (m.strategy === 'mixture') {
    if (!m.mixture.length || !(m.mixture.reduce((a, x) => a + x.weight, 0) > 0)) {
      throw new ConfigError(`${where('masking.strategy')}: masking.strategy 'mixture' needs 'masking.mixture', e.g. [{"strategy":"whole_word","weight":1},{"strategy":"span","weight":1}] with a positive total weight`);
    }
  } else if (m.mixture.length) {
    throw new ConfigError(`${where('masking.mixture')}: 'masking.mixture' is given but masking.strategy is '${m.strategy}' (use strategy 'mixture')`);
  }
  if (uses.includes('entity') && m.gazetteer === null) {
    throw new ConfigError(`${where('masking.strategy')}: the 'entity' masking strategy needs 'masking.gazetteer' (a list of phrases or a file with one phrase per line)`);
  }
}

/** Load and validate the config of `evaluate` / `predict`. */
export function loadInferConfig(command: 'evaluate' | 'predict', src: ConfigSources): InferRunConfig {
  const { raw, origins, fileLabel } = build(command, src);
  const c = validate<InferRunConfig>('infer', raw, origins, fileLabel);
  if (!c.data.dataset && !c.data.file) throw new ConfigError(`${fileLabel}: give data.dataset (+ data.split) or data.file`);
  return c;
}
