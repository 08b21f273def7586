// `tunebench evaluate` and `tunebench predict`: load a checkpoint written by pretrain / finetune
// (weights + config.json with its heads and labels + vocab.txt), run it in eval mode over a split
// or a JSONL file, and write metrics.json (evaluate) or predictions.jsonl (predict) into the run
// directory.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initParams, paramSpecs, ParamStore, quantizeModel, type BertConfig, type HeadSpec, type LoraConfig, type QuantizedLinears } from '../model/index.js';
import { WordPieceTokenizer } from '../tokenizer/index.js';
import type { InferRunConfig, MaskingConfig, TaskKind, TrainRunConfig } from '../config/schema.js';
import { RunDir } from '../config/rundir.js';
import { ConfigError } from '../config/load.js';
import { readCheckpoint, loadWeights, CheckpointError, CONFIG_FILE, VOCAB_FILE, WEIGHTS_FILE } from '../checkpoint/checkpoint.js';
import { bertConfigFromHf, checkpointTokenizerOptions } from '../checkpoint/config_json.js';
import { INT8_WEIGHTS_FILE, readInt8Weights } from './int8_export.js';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import { Collator, evalBatches, loadRows, maskSeed, mlmOptionsOf, sourceFiles, tokenizeRows } from './data.js';
import { backendLatency } from './latency.js';
import { encodeInt8Weights } from './int8_export.js';
import { encodeSafetensors, type TensorIn } from '../checkpoint/safetensors.js';
import { evaluateExamples, majorityBaseline } from './evaluate.js';
import type { BackendFactory } from './loop.js';

export interface LoadedModel {
  config: BertConfig;
  heads: HeadSpec[];
  lora: LoraConfig | null;
  labels: string[];
  task: TrainRunConfig['task'];
  /** MLM checkpoints: the masking they were trained with (evaluate masks by its evalStrategy); null for older ones. */
  masking: MaskingConfig | null;
  store: ParamStore;
  tok: WordPieceTokenizer;
  /** What loading said (a Hugging Face import: what was mapped, ignored or initialised); logged by evaluate / predict. */
  notes: string[];
  /** An int8 export (`tunebench export --int8`): its quantised linear layers (the store holds their dequantised values); else null. */
  int8: QuantizedLinears | null;
}

/** An int8 export's config.json and vocab.txt (its weights are read by readInt8Weights). */
function readInt8Dir(dir: string): { config: Record<string, unknown>; vocab: string[] | null; hf: null } {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${join(dir, CONFIG_FILE)}: ${(e as Error).message}`);
  }
  const vpath = join(dir, VOCAB_FILE);
  return { config, vocab: existsSync(vpath) ? readFileSync(vpath, 'utf8').replace(/\n$/, '').split('\n') : null, hf: null };
}

/**
 * Load a checkpoint directory for inference: one of ours (names and shapes checked strictly), an
 * int8 export of one (model.int8.safetensors, `tunebench export --int8`), or a plain Hugging Face
 * BERT directory (hf_import.ts: its head from "architectures", its labels from id2label; head
 * tensors it lacks are initialised as a fresh run would and reported in `notes`, tensors of other
 * heads ignored and reported).
 */
export function loadModel(dir: string): LoadedModel {
  const int8Path = join(dir, INT8_WEIGHTS_FILE);
  const isInt8 = existsSync(dir) && !existsSync(join(dir, WEIGHTS_FILE)) && existsSync(int8Path);
  const ck = isInt8 ? readInt8Dir(dir) : readCheckpoint(dir);
  const tb = ck.config.tunebench as { heads?: HeadSpec[]; labels?: string[]; task?: TrainRunConfig['task']; masking?: MaskingConfig; lora?: LoraConfig | null } | undefined;
  if (!tb?.heads || !tb.task) throw new CheckpointError(`${dir}/config.json has no "tunebench" block with heads and task; was it written by tunebench?`);
  if (!ck.vocab) throw new CheckpointError(`${dir} has no vocab.txt`);
  const config = bertConfigFromHf(ck.config, join(dir, 'config.json')) as BertConfig;
  if (ck.vocab.length !== config.vocabSize) throw new CheckpointError(`${dir}: vocab.txt has ${ck.vocab.length} tokens but config.json says vocab_size ${config.vocabSize}`);
  const lora = tb.lora ?? null;
  const specs = paramSpecs(config, tb.heads, lora);
  const store = new ParamStore(specs);
  const notes = [...(ck.hf?.notes ?? [])];
  let int8: QuantizedLinears | null = null;
  if (isInt8) {
    int8 = readInt8Weights(int8Path, config, store);
  } else if (ck.hf) {
    const weights = (ck as ReturnType<typeof readCheckpoint>).weights;
    // A Hugging Face model may come without the head (or pooler) its class names: initialise it as
    // a fresh run would (seed 0) and say so, since its outputs then mean nothing until trained.
    initParams(store, 0, config.initializerRange);
    const isHead = new Set(specs.filter((s) => s.module === 'head' || s.module === 'pooler').map((s) => s.name));
    const rep = loadWeights(store, weights, { source: dir, allowMissing: (n) => isHead.has(n), allowUnexpected: (n) => n.startsWith('bert.pooler.') || n.startsWith('cls.') || n.startsWith('classifier.') });
    if (rep.missing.length) notes.push(`WARNING: ${dir} lacks ${rep.missing.join(', ')}: initialised at random (seed 0); the outputs depend on them`);
    if (rep.unexpected.length) notes.push(`ignored ${rep.unexpected.join(', ')} (not used by the ${tb.heads[0]!.kind} head)`);
  } else {
    loadWeights(store, (ck as ReturnType<typeof readCheckpoint>).weights, { source: dir });
  }
  const tok = WordPieceTokenizer.fromVocab(ck.vocab, { lowercase: true, ...checkpointTokenizerOptions(ck.config, join(dir, 'config.json')), source: join(dir, 'vocab.txt'), modelMaxLength: config.maxPositions });
  return { config, heads: tb.heads, lora, labels: tb.labels ?? [], task: tb.task, masking: tb.masking ?? null, store, tok, notes, int8 };
}

export async function runInference(command: 'evaluate' | 'predict', c: InferRunConfig, backendFactory: BackendFactory, opts: { progress?: boolean } = {}): Promise<Record<string, unknown>> {
  RunDir.check(c.outputDir, c, { resume: false, command });
  let run: RunDir | null = null;
  const say = (l: string) => {
    if (!run) throw new Error('internal: run directory not created yet');
    run.log(l);
    if (opts.progress ?? true) console.log(l);
  };
  const m = loadModel(c.checkpoint);
  const task: TaskKind = m.task.kind;
  const source = c.data.file ?? c.data.dataset!;
  const withLabels = command === 'evaluate';
  // predict needs text only: rows of a file may lack their label (carried to the output when present).
  const rows = loadRows(source, c.data.file ? 'test' : c.data.split, task, c.data.maxRows, { unlabelled: !withLabels });
  if (!rows.length) throw new ConfigError(`${source}: no rows`);
  if (c.data.maxLength !== null && c.data.maxLength > m.config.maxPositions) {
    throw new ConfigError(`data.maxLength ${c.data.maxLength} exceeds the model's max positions ${m.config.maxPositions} (${c.checkpoint}/config.json)`);
  }
  const maxLength = c.data.maxLength ?? Math.min(128, m.config.maxPositions);
  c = { ...c, data: { ...c.data, maxLength } }; // the run directory records the length used
  if (withLabels && task === 'seq_cls' && rows.some((r) => r.label === undefined)) throw new ConfigError(`${source}: evaluate needs labelled rows (a "label" field)`);
  const ex = tokenizeRows(withLabels ? rows : rows.map((r) => ({ ...r, label: undefined, tags: undefined })), m.tok, task, m.labels, maxLength, {
    labelAllTokens: m.task.labelAllTokens,
    source,
  });
  const out: RunDir = new RunDir(c.outputDir, c, { resume: false, command });
  run = out;
  for (const l of m.notes) say(l);
  const collator = new Collator(m.tok, task, m.masking && task === 'mlm' ? mlmOptionsOf(m.masking, true) : m.task.mlmProbability);
  // int8: asked for (--int8), or the checkpoint is an int8 export (its quantised weights are used as they are)
  const int8 = c.int8 || m.int8 !== null;
  const args = { config: m.config, heads: m.heads, store: m.store, lora: m.lora, loss: {}, maxBatch: c.batchSize, maxLength };
  // The latency sample: the first batches of the data (the same batches for fp32 and int8).
  const latencyBatches = [...evalBatches(ex, c.batchSize)].slice(0, LATENCY_BATCHES).map(({ items }, i) => collator.collate(items, maskSeed(0x5eed, 1 << 20, i)));
  const runOne = async (q: boolean) => {
    const backend = await backendFactory({ ...args, int8: q ? (m.int8 ?? true) : false });
    try {
      backend.load();
      const t0 = Date.now();
      const r = await evaluateExamples(backend, collator, task, m.labels, ex, c.batchSize, { withLabels });
      const wall = (Date.now() - t0) / 1000;
      const latency = int8 ? await backendLatency(backend, latencyBatches, { warmup: 1, repeats: LATENCY_REPEATS }) : null;
      return { r, wall, latency, device: backend.device };
    } finally {
      backend.destroy();
    }
  };
  // evaluate --int8 scores the fp32 model on the same rows too: the delta is the point.
  const fp32 = int8 && withLabels ? await runOne(false) : null;
  const { r, wall, latency, device } = await runOne(int8);
  {
    const record: Record<string, unknown> = {
      command,
      checkpoint: c.checkpoint,
      data: source,
      split: c.data.file ? null : c.data.split,
      datasetFiles: c.data.file ? null : sourceFiles(source),
      task,
      rows: ex.length,
      metrics: r.metrics,
      main_score: r.metrics.main_score ?? null,
      majorityBaseline: withLabels && task === 'seq_cls' ? majorityBaseline(ex) : null,
      wallTimeS: wall,
      device,
    };
    if (int8) {
      const q = m.int8 ?? quantizeModel(m.config, m.store);
      const fp32Weights: Record<string, TensorIn> = {};
      for (const s of m.store.specs) fp32Weights[s.name] = { shape: s.shape, data: m.store.get(s.name) };
      const delta: Record<string, number> = {};
      if (fp32) for (const [k, v] of Object.entries(r.metrics)) if (k in fp32.r.metrics && k !== 'count') delta[k] = v - fp32.r.metrics[k]!;
      record.int8 = {
        linears: q.size,
        weights: m.int8 ? 'int8 export (fp32 = its dequantised weights)' : 'quantised from the fp32 checkpoint',
        sizeBytes: encodeInt8Weights(m.store, q).length,
        fp32SizeBytes: encodeSafetensors(fp32Weights).length,
        msPerExample: latency!.msPerExample,
        latency,
        fp32: fp32 ? { metrics: fp32.r.metrics, main_score: fp32.r.metrics.main_score ?? null, msPerExample: fp32.latency!.msPerExample, latency: fp32.latency, wallTimeS: fp32.wall } : null,
        delta: fp32 ? delta : null,
      };
      const i = record.int8 as { sizeBytes: number; fp32SizeBytes: number };
      say(`int8: ${q.size} linear layers; ${(i.sizeBytes / 1e6).toFixed(2)} MB on disk (fp32 ${(i.fp32SizeBytes / 1e6).toFixed(2)} MB); ` +
        `${latency!.msPerExample.toFixed(3)} ms/example${fp32 ? ` (fp32 ${fp32.latency!.msPerExample.toFixed(3)}); main_score ${fmt(r.metrics.main_score)} vs fp32 ${fmt(fp32.r.metrics.main_score)}` : ''}`);
    }
    if (command === 'predict') {
      // Gold labels / tags the rows carry go beside each prediction (rows and predictions share ids).
      const gold = new Map(rows.map((row) => [row.id, row.label !== undefined ? { gold: row.label } : row.tags ? { gold_tags: row.tags } : {}]));
      const lines = r.predictions.map((p) => JSON.stringify({ ...p, ...gold.get(p.id) })).join('\n') + '\n';
      writeFileAtomic(join(out.dir, 'predictions.jsonl'), lines);
      record.predictions = join(out.dir, 'predictions.jsonl');
      say(`wrote ${r.predictions.length} predictions to ${record.predictions}`);
    } else {
      say(`${source}${c.data.file ? '' : ` (${c.data.split})`}: ${Object.entries(r.metrics).map(([k, v]) => `${k} ${Number(v).toFixed(4)}`).join(', ')}`);
    }
    out.writeMetrics(record);
    return record;
  }
}

/** The latency sample of `evaluate|predict --int8`: its first batches, timed passes after one warm-up pass (small: under load a pass of an MLM batch takes seconds). */
const LATENCY_BATCHES = 2;
const LATENCY_REPEATS = 2;

const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(4));
