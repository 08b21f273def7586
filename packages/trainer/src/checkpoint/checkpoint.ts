// Checkpoint directories, readable by Hugging Face tools:
//
//   model.safetensors        weights, Hugging Face BERT names, F32 (metadata {"format": "pt"})
//   config.json              Hugging Face BertConfig keys + a "tunebench" block (heads, LoRA)
//   vocab.txt                one WordPiece token per line (when the run has a tokenizer)
//   optimizer.safetensors    AdamW moments per trainable parameter (<name>.exp_avg, .exp_avg_sq)
//   trainer_state.json       step, epoch, data position, RNG states, early stopping, ... (resume)
//
// The whole directory is written under a temp name and renamed into place (atomic.ts), so a kill
// mid-write leaves the previous checkpoint intact. Loading checks every name and shape and lists
// exactly what differs; weights from a model with another architecture are refused with the keys
// that differ.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDirAtomic, writeFileAtomic } from './atomic.js';
import { decodeSafetensors, encodeSafetensors, type TensorIn } from './safetensors.js';
import { hfVocabFromTokenizerJson, importHf, missingSafetensorsError, type HfImportReport } from './hf_import.js';

/** The part of ParamStore a checkpoint needs (structural). */
export interface TensorStore {
  specs: readonly { name: string; shape: number[] }[];
  get(name: string): Float32Array;
}

/** The part of the layout optimizer state needs: where each parameter lives in the flat m / v buffers. */
export interface FlatLayout {
  specs: readonly { name: string; shape: number[] }[];
  range(name: string): { offset: number; length: number };
}

export interface OptimizerState {
  /** Flat buffers in the store layout (what the GPU holds). */
  m: Float32Array;
  v: Float32Array;
  /** Number of optimizer steps taken (AdamW bias correction). */
  step: number;
  /** Names of the parameters whose moments are saved (the trainable ones). */
  names: string[];
}

export interface CheckpointContents {
  /** config.json as an object (see hfConfig in config_json.ts). */
  config: Record<string, unknown>;
  vocab?: string[] | null;
  optimizer?: OptimizerState | null;
  trainerState?: Record<string, unknown> | null;
}

export const WEIGHTS_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const CONFIG_FILE = 'config.json';
export const VOCAB_FILE = 'vocab.txt';
export const TRAINER_STATE_FILE = 'trainer_state.json';

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** Write a checkpoint directory atomically. */
export function writeCheckpoint(dir: string, store: TensorStore, contents: CheckpointContents, layout?: FlatLayout): void {
  const weights: Record<string, TensorIn> = {};
  for (const s of store.specs) {
    // Never write weights that went non-finite: the last good checkpoint stays the newest.
    assertFinite(store.get(s.name), `parameter '${s.name}'`, `refusing to write the checkpoint ${dir}`);
    weights[s.name] = { shape: s.shape, data: store.get(s.name) };
  }
  const weightBytes = encodeSafetensors(weights, { format: 'pt' });
  let optBytes: Uint8Array | null = null;
  if (contents.optimizer) {
    if (!layout) throw new CheckpointError('writeCheckpoint: optimizer state needs the store layout');
    const o = contents.optimizer;
    const t: Record<string, TensorIn> = {};
    const shapes = new Map(layout.specs.map((s) => [s.name, s.shape]));
    for (const name of o.names) {
      const shape = shapes.get(name);
      if (!shape) throw new CheckpointError(`writeCheckpoint: optimizer parameter '${name}' is not in the model`);
      const r = layout.range(name);
      t[`${name}.exp_avg`] = { shape, data: o.m.subarray(r.offset, r.offset + r.length) };
      t[`${name}.exp_avg_sq`] = { shape, data: o.v.subarray(r.offset, r.offset + r.length) };
    }
    optBytes = encodeSafetensors(t, { step: String(o.step) });
  }
  writeDirAtomic(dir, (tmp) => {
    writeFileAtomic(join(tmp, WEIGHTS_FILE), weightBytes);
    writeFileAtomic(join(tmp, CONFIG_FILE), JSON.stringify(contents.config, null, 2) + '\n');
    if (contents.vocab) writeFileAtomic(join(tmp, VOCAB_FILE), contents.vocab.join('\n') + '\n');
    if (optBytes) writeFileAtomic(join(tmp, OPTIMIZER_FILE), optBytes);
    if (contents.trainerState) writeFileAtomic(join(tmp, TRAINER_STATE_FILE), JSON.stringify(contents.trainerState, null, 2) + '\n');
  });
}

export interface LoadedCheckpoint {
  dir: string;
  config: Record<string, unknown>;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  vocab: string[] | null;
  trainerState: Record<string, unknown> | null;
  hasOptimizer: boolean;
  /** A plain Hugging Face directory (config.json without a "tunebench" block), imported by hf_import.ts: what that did. */
  hf: HfImportReport | null;
}

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CheckpointError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

/**
 * Read a checkpoint directory (weights, config, vocab, trainer state; optimizer on demand). A plain
 * Hugging Face BERT directory (no "tunebench" block in config.json) is imported by hf_import.ts
 * into the same view, with `hf` saying what that did.
 */
export function readCheckpoint(dir: string): LoadedCheckpoint {
  if (!existsSync(dir)) throw new CheckpointError(`checkpoint directory ${dir} does not exist`);
  const wpath = join(dir, WEIGHTS_FILE);
  if (!existsSync(wpath)) throw missingSafetensorsError(dir);
  let config = readJson(join(dir, CONFIG_FILE));
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new CheckpointError(`${join(dir, CONFIG_FILE)}: not a JSON object`);
  const isHf = config.tunebench === undefined;
  let dec;
  try {
    dec = decodeSafetensors(readFileSync(wpath), wpath);
  } catch (e) {
    const m = (e as Error).message;
    // Half-precision Hugging Face weights: say how to get F32 ones.
    throw new CheckpointError(/dtype "(F16|BF16)"/.test(m) ? `${m}; tunebench loads F32 weights: convert them once, e.g. ` +
      `python3 -c "import torch; from safetensors.torch import load_file, save_file; p='${wpath}'; ` +
      `save_file({k: v.float() for k, v in load_file(p).items()}, p, metadata={'format': 'pt'})"` : m);
  }
  let weights = new Map<string, { shape: number[]; data: Float32Array }>();
  let hf: HfImportReport | null = null;
  if (isHf) {
    const imp = importHf(dir, config, dec.tensors, wpath);
    config = imp.config;
    weights = imp.weights;
    hf = imp.report;
    for (const [name, t] of weights) assertFinite(t.data, `${wpath}: tensor '${name}'`);
  } else {
    for (const [name, t] of dec.tensors) {
      if (t.dtype !== 'F32') throw new CheckpointError(`${wpath}: tensor '${name}' is ${t.dtype}; tunebench loads F32 weights only`);
      assertFinite(t.data as Float32Array, `${wpath}: tensor '${name}'`);
      weights.set(name, { shape: t.shape, data: t.data as Float32Array });
    }
  }
  const vpath = join(dir, VOCAB_FILE);
  let vocab = existsSync(vpath) ? readFileSync(vpath, 'utf8').replace(/\r?\n$/, '').split(/\r?\n/) : null;
  // transformers 5 saves a BertTokenizer as tokenizer.json only (no vocab.txt): its WordPiece vocabulary.
  if (isHf && !vocab) {
    vocab = hfVocabFromTokenizerJson(dir);
    if (vocab) hf!.notes.push(`${dir} has no vocab.txt: the ${vocab.length}-token WordPiece vocabulary of tokenizer.json used`);
  }
  // A vocab.txt that does not match the embedding is a damaged or mismatched checkpoint, not a
  // request to grow the vocabulary (growth is asked for with tokenizer.vocab / --vocab).
  const vocabSize = config.vocab_size;
  if (vocab && typeof vocabSize === 'number' && vocab.length !== vocabSize) {
    throw new CheckpointError(`${dir}: ${VOCAB_FILE} has ${vocab.length} tokens but ${CONFIG_FILE} says vocab_size ${vocabSize}; ` +
      'the checkpoint is damaged or mixes two models (to extend a vocabulary, pass the extended vocab.txt with --vocab)');
  }
  if (isHf && !vocab) hf!.notes.push(`${dir} has no vocab.txt nor tokenizer.json (give one with --vocab / tokenizer.vocab)`);
  const spath = join(dir, TRAINER_STATE_FILE);
  const trainerState = existsSync(spath) ? readJson(spath) : null;
  return { dir, config, weights, vocab, trainerState, hasOptimizer: existsSync(join(dir, OPTIMIZER_FILE)), hf };
}

/** Throws when `data` holds a NaN or an infinity, naming `what`, the first such index and `why`. */
export function assertFinite(data: Float32Array, what: string, why = 'the checkpoint is damaged'): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new CheckpointError(`${what} holds a non-finite value (${data[i]} at index ${i}); ${why}`);
  }
}

export interface LoadReport {
  loaded: string[];
  /** In the model, not in the checkpoint (left at their initialisation). */
  missing: string[];
  /** In the checkpoint, not in the model (ignored). */
  unexpected: string[];
}

export interface LoadOptions {
  /** Model parameters that may be absent from the checkpoint (e.g. a new task head). Default: none. */
  allowMissing?: (name: string) => boolean;
  /** Checkpoint tensors the model may lack (e.g. the MLM head when fine-tuning). Default: none. */
  allowUnexpected?: (name: string) => boolean;
  /** Names the checkpoint in messages. */
  source?: string;
}

/**
 * Copy checkpoint weights into `store`. Shape mismatches are always an error; missing and
 * unexpected names are errors unless allowed. The message lists every offending name.
 */
export function loadWeights(
  store: TensorStore,
  weights: Map<string, { shape: number[]; data: Float32Array }>,
  opts: LoadOptions = {},
): LoadReport {
  const src = opts.source ?? 'checkpoint';
  const modelNames = new Set(store.specs.map((s) => s.name));
  const shapeErrors: string[] = [];
  const missing: string[] = [];
  const badMissing: string[] = [];
  for (const s of store.specs) {
    const w = weights.get(s.name);
    if (!w) {
      missing.push(s.name);
      if (!opts.allowMissing?.(s.name)) badMissing.push(s.name);
    } else if (w.shape.length !== s.shape.length || w.shape.some((d, i) => d !== s.shape[i])) {
      shapeErrors.push(`${s.name}: checkpoint [${w.shape.join(', ')}] vs model [${s.shape.join(', ')}]`);
    }
  }
  const unexpected = [...weights.keys()].filter((n) => !modelNames.has(n));
  const badUnexpected = unexpected.filter((n) => !opts.allowUnexpected?.(n));
  const problems: string[] = [];
  if (shapeErrors.length) problems.push(`shape mismatch (${shapeErrors.length}):\n  ${shapeErrors.join('\n  ')}`);
  if (badMissing.length) problems.push(`missing from the checkpoint (${badMissing.length}):\n  ${badMissing.join('\n  ')}`);
  if (badUnexpected.length) problems.push(`not in the model (${badUnexpected.length}):\n  ${badUnexpected.join('\n  ')}`);
  if (problems.length) throw new CheckpointError(`${src} does not match the model:\n${problems.join('\n')}`);
  const loaded: string[] = [];
  for (const s of store.specs) {
    const w = weights.get(s.name);
    if (!w) continue;
    store.get(s.name).set(w.data);
    loaded.push(s.name);
  }
  return { loaded, missing, unexpected };
}

/** Read optimizer moments back into flat m / v buffers (zeros elsewhere). */
export function readOptimizer(dir: string, layout: FlatLayout, totalSize: number): OptimizerState {
  const path = join(dir, OPTIMIZER_FILE);
  if (!existsSync(path)) throw new CheckpointError(`${dir} has no ${OPTIMIZER_FILE}; it cannot be resumed (was it saved without optimizer state?)`);
  const dec = decodeSafetensors(readFileSync(path), path);
  const m = new Float32Array(totalSize);
  const v = new Float32Array(totalSize);
  const names: string[] = [];
  const shapes = new Map(layout.specs.map((s) => [s.name, s.shape]));
  for (const [key, t] of dec.tensors) {
    const mm = /^(.*)\.(exp_avg|exp_avg_sq)$/.exec(key);
    if (!mm) throw new CheckpointError(`${path}: unexpected tensor '${key}'`);
    const [, name, which] = mm;
    const shape = shapes.get(name);
    if (!shape) throw new CheckpointError(`${path}: optimizer state for '${name}', which is not in the model`);
    if (shape.join(',') !== t.shape.join(',')) throw new CheckpointError(`${path}: '${key}' has shape [${t.shape}] but the model has [${shape}]`);
    const r = layout.range(name);
    assertFinite(t.data as Float32Array, `${path}: tensor '${key}'`);
    (which === 'exp_avg' ? m : v).set(t.data as Float32Array, r.offset);
    if (which === 'exp_avg') names.push(name);
  }
  const step = Number(dec.metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new CheckpointError(`${path}: metadata 'step' is missing or not an integer`);
  return { m, v, step, names };
}
