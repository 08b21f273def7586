// `tunebench evaluate` and `tunebench predict`: load a checkpoint written by pretrain / finetune
// (weights + config.json with its heads and labels + vocab.txt), run it in eval mode over a split
// or a JSONL file, and write metrics.json (evaluate) or predictions.jsonl (predict) into the run
// directory.

import { join } from 'node:path';
import { initParams, paramSpecs, ParamStore, type BertConfig, type HeadSpec, type LoraConfig } from '../model/index.js';
import { WordPieceTokenizer } from '../tokenizer/index.js';
import type { InferRunConfig, MaskingConfig, TaskKind, TrainRunConfig } from '../config/schema.js';
import { RunDir } from '../config/rundir.js';
import { ConfigError } from '../config/load.js';
import { readCheckpoint, loadWeights, CheckpointError } from '../checkpoint/checkpoint.js';
import { bertConfigFromHf, checkpointTokenizerOptions } from '../checkpoint/config_json.js';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import { Collator, loadRows, mlmOptionsOf, sourceFiles, tokenizeRows } from './data.js';
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
}

/**
 * Load a checkpoint directory for inference: one of ours (names and shapes checked strictly), or a
 * plain Hugging Face BERT directory (hf_import.ts: its head from "architectures", its labels from
 * id2label; head tensors it lacks are initialised as a fresh run would and reported in `notes`,
 * tensors of other heads ignored and reported).
 */
export function loadModel(dir: string): LoadedModel {
  const ck = readCheckpoint(dir);
  const tb = ck.config.tunebench as { heads?: HeadSpec[]; labels?: string[]; task?: TrainRunConfig['task']; masking?: MaskingConfig; lora?: LoraConfig | null } | undefined;
  if (!tb?.heads || !tb.task) throw new CheckpointError(`${dir}/config.json has no "tunebench" block with heads and task; was it written by tunebench?`);
  if (!ck.vocab) throw new CheckpointError(`${dir} has no vocab.txt`);
  const config = bertConfigFromHf(ck.config, join(dir, 'config.json')) as BertConfig;
  if (ck.vocab.length !== config.vocabSize) throw new CheckpointError(`${dir}: vocab.txt has ${ck.vocab.length} tokens but config.json says vocab_size ${config.vocabSize}`);
  const lora = tb.lora ?? null;
  const specs = paramSpecs(config, tb.heads, lora);
  const store = new ParamStore(specs);
  const notes = [...(ck.hf?.notes ?? [])];
  if (ck.hf) {
    // A Hugging Face model may come without the head (or pooler) its class names: initialise it as
    // a fresh run would (seed 0) and say so, since its outputs then mean nothing until trained.
    initParams(store, 0, config.initializerRange);
    const isHead = new Set(specs.filter((s) => s.module === 'head' || s.module === 'pooler').map((s) => s.name));
    const rep = loadWeights(store, ck.weights, { source: dir, allowMissing: (n) => isHead.has(n), allowUnexpected: (n) => n.startsWith('bert.pooler.') || n.startsWith('cls.') || n.startsWith('classifier.') });
    if (rep.missing.length) notes.push(`WARNING: ${dir} lacks ${rep.missing.join(', ')}: initialised at random (seed 0); the outputs depend on them`);
    if (rep.unexpected.length) notes.push(`ignored ${rep.unexpected.join(', ')} (not used by the ${tb.heads[0]!.kind} head)`);
  } else {
    loadWeights(store, ck.weights, { source: dir });
  }
  const tok = WordPieceTokenizer.fromVocab(ck.vocab, { lowercase: true, ...checkpointTokenizerOptions(ck.config, join(dir, 'config.json')), source: join(dir, 'vocab.txt'), modelMaxLength: config.maxPositions });
  return { config, heads: tb.heads, lora, labels: tb.labels ?? [], task: tb.task, masking: tb.masking ?? null, store, tok, notes };
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
  const backend = await backendFactory({ config: m.config, heads: m.heads, store: m.store, lora: m.lora, loss: {}, maxBatch: c.batchSize, maxLength });
  try {
    backend.load();
    const t0 = Date.now();
    const r = await evaluateExamples(backend, new Collator(m.tok, task, m.masking && task === 'mlm' ? mlmOptionsOf(m.masking, true) : m.task.mlmProbability), task, m.labels, ex, c.batchSize, { withLabels });
    const wall = (Date.now() - t0) / 1000;
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
      device: backend.device,
    };
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
  } finally {
    backend.destroy();
  }
}
