// What a training run sets up before its backend exists (loop.ts trains with it):
//
//   rows (loadSplits) → tokenizer, labels, model config and parameters (buildModel: random init,
//   or a base checkpoint with its LoRA adapter merged and its vocabulary grown) → examples,
//   tokenized once, and collators (prepareExamples) → losses (lossOptions) → strategy plan and
//   schedule (planSchedule).
//
// Nothing here writes a file: a bad input ends the run before its directory is created.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BERT_PRESETS, makeConfig, paramSpecs, ParamStore, initParams } from '../model/index.js';
import type { BertConfig, HeadSpec, LoraConfig, LossOptions, ParamSpec } from '../model/index.js';
import { WordPieceTokenizer, extendVocabulary, fertilityReport, type FertilityReport } from '../tokenizer/index.js';
import { augmentRows } from './augment.js';
import { addedTokenPieces, checkpointTokenizer, embeddingInitOf, extensionSource, growWeights } from './vocab_extend.js';
import type { TaskKind, TrainRunConfig } from '../config/schema.js';
import { RUN_CHECKPOINT_DIR } from '../config/rundir.js';
import { ConfigError } from '../config/load.js';
import { mergeInitAdapter } from './init_lora.js';
import { readCheckpoint, loadWeights, type LoadedCheckpoint } from '../checkpoint/checkpoint.js';
import { bertConfigFromHf, assertSameArchitecture, checkpointTokenizerOptions } from '../checkpoint/config_json.js';
import { planStrategy, type StrategyConfig, type StrategyPlan } from './strategy.js';
import { adamwRanges } from './ranges.js';
import { warmupStepsFor, type ScheduleConfig } from './schedule.js';
import { deriveSeed, permutation } from './rng.js';
import { Collator, loadGazetteer, mlmOptionsOf, loadRows, labelSet, sourceLabels, tokenizeRows, type Example, type Row } from './data.js';
import { DATASETS } from '@tunebench/datasets';
import type { ProgressPrinter } from './progress.js';
import { costlySetup, type CostlySetup } from './costly.js';
import { resampleTraining } from './resample.js';

export type TrainCommand = 'pretrain' | 'finetune';

/** Everything a run sets up before its backend exists. */
export interface RunSetup {
  command: TrainCommand;
  c: TrainRunConfig;
  task: TaskKind;
  progress: ProgressPrinter;
  model: ModelSetup;
  data: RunData;
  loss: LossOptions;
  schedule: RunSchedule;
  /** task.costlyClass: its label index, the cost matrix and the decision rule (costly.ts); null when unset. */
  costly: CostlySetup | null;
}

/** The rows of a run's splits, as read from its sources. */
export interface RunRows {
  trainSource: string;
  train: Row[];
  dev: Row[];
  test: Row[];
  /** data.augment: how many of the training rows are EDA copies (0 without). */
  augmented: number;
}

export interface ModelSetup {
  tok: WordPieceTokenizer;
  labels: string[];
  config: BertConfig;
  heads: HeadSpec[];
  lora: LoraConfig | null;
  specs: ParamSpec[];
  store: ParamStore;
}

/** The tokenized examples, their collators, and the masking record the checkpoint keeps. */
export interface RunData {
  trainEx: Example[];
  devEx: Example[];
  testEx: Example[];
  generalSource: string | null;
  generalEx: Example[];
  /** MLM with data.general: the general corpus's held-out rows (scored at the end as devGeneral). */
  generalDevEx: Example[];
  collator: Collator;
  evalCollator: Collator;
  maskingRecord: Record<string, unknown>;
  /** How the run's vocabulary fits its scored split's text (test, else dev): [UNK] rate, tokens per character. */
  fertility: ({ split: 'test' | 'dev' } & FertilityReport) | null;
  /** data.augment: EDA copies among the training rows (0 without). */
  augmentedRows: number;
}

export interface RunSchedule {
  strategy: StrategyConfig;
  /** Batch size, and micro-batches per optimizer step. */
  B: number;
  accum: number;
  totalSteps: number;
  sched: ScheduleConfig;
  /** The plan at step 0 (gradual unfreezing grows it while training). */
  plan: StrategyPlan;
}

export function headsFor(task: TrainRunConfig['task'], numLabels: number, labels: readonly string[] = []): HeadSpec[] {
  switch (task.kind) {
    case 'mlm':
      return [{ kind: 'mlm' }];
    case 'seq_cls':
      return [{ kind: 'seq_cls', numLabels, pooling: task.pooling }];
    case 'token_cls':
      if (!task.crf) return [{ kind: 'token_cls', numLabels }];
      // CRF head: BIO constraints need the tag names; the CRF runs over the tokens the alignment labels
      return [{
        kind: 'token_cls', numLabels,
        crf: { constraints: task.crfConstraints, ...(task.crfConstraints === 'bio' ? { labels: [...labels] } : {}), align: task.labelAllTokens ? 'all' : 'first' },
      }];
    case 'embedding':
      return [{ kind: 'embedding', normalize: task.normalize }];
  }
}

const isHeadSpec = (s: ParamSpec) => s.module === 'head' || s.module === 'pooler' || s.module === 'lora';
const isOtherHeadName = (n: string) => n.startsWith('cls.') || n.startsWith('classifier') || n.startsWith('bert.pooler.');

function strategyOf(c: TrainRunConfig): StrategyConfig {
  const { name, embeddings, unfreezeEvery, unfreezeUnit, unfreezeAllAt, k, lrDecay } = c.strategy;
  const s: StrategyConfig = { name, embeddings, unfreezeEvery, unfreezeUnit };
  if (unfreezeAllAt > 0) s.unfreezeAllAt = unfreezeAllAt;
  if (k !== undefined) s.k = k;
  if (lrDecay !== undefined) s.lrDecay = lrDecay;
  return s;
}

/** Class weights for weighted cross-entropy: n / (numClasses · count), scikit-learn's "balanced" ('inverse'), or its square root ('sqrt_inverse'). */
export function balancedClassWeights(examples: readonly Example[], numLabels: number, scheme: 'inverse' | 'sqrt_inverse' = 'inverse'): number[] {
  const counts = new Array<number>(numLabels).fill(0);
  let n = 0;
  for (const e of examples) if (e.label >= 0) (counts[e.label]++, n++);
  return counts.map((c) => (c > 0 ? (scheme === 'sqrt_inverse' ? Math.sqrt(n / (numLabels * c)) : n / (numLabels * c)) : 0));
}

/** Set up a run up to its backend: rows, tokenizer and model, examples, losses, strategy and schedule. */
export function setUpRun(command: TrainCommand, c: TrainRunConfig, progress: ProgressPrinter): RunSetup {
  const task: TaskKind = c.task.kind;
  if (task === 'embedding' && c.task.embeddingLoss !== 'mnr') {
    throw new ConfigError("task.embeddingLoss 'cosine' needs similarity targets per pair, which the pair datasets do not have; use 'mnr'");
  }
  const rows = loadSplits(c, task);
  const model = buildModel(command, c, rows, progress);
  const costly = costlySetup(c.task, model.labels);
  const data = prepareExamples(c, task, model, rows, progress);
  const loss = lossOptions(c, task, model.labels, data.trainEx, progress);
  const schedule = planSchedule(c, model, data.trainEx.length);
  return { command, c, task, progress, model, data, loss, schedule, costly };
}

/**
 * A corpus without a dev split gives 2 % of its rows (at most 500) to dev, chosen by a fixed
 * permutation: the rows a pretrained model's held-out MLM scores are measured on.
 */
export function mlmHoldout<R>(rows: readonly R[]): { train: R[]; dev: R[] } {
  const nDev = Math.min(500, Math.max(1, Math.floor(rows.length * 0.02)));
  const held = new Set(Array.from(permutation(0x0de5, 0, rows.length).subarray(0, nDev)));
  return { train: rows.filter((_, i) => !held.has(i)), dev: rows.filter((_, i) => held.has(i)) };
}

/**
 * The texts a new-language WordPiece is trained on (tokenizer.extendCorpus, `vocab extend`): the
 * corpus's training rows minus its held-out rows — the trainer's rule above applied to the whole
 * corpus (the rows heldout_mlm and a continued pretraining on the whole corpus score) — and minus
 * any text in `exclude` (a run's own dev rows, which differ when data.maxTrainRows cuts the
 * corpus first). A vocabulary fitted on the held-out text would flatter its held-out MLM loss.
 */
export function extensionCorpusTexts(name: string, exclude: Iterable<string> = []): string[] {
  const all = loadRows(name, 'train', 'mlm');
  if (!all.length) throw new ConfigError(`${name}: no training rows to fit the extension vocabulary on`);
  const rows = all.length >= 50 ? mlmHoldout(all).train : all;
  const skip = new Set(exclude);
  return rows.map((r) => r.text ?? '').filter((t) => !skip.has(t));
}

/** The train / dev / test rows; a corpus without a dev split gives 2 % of its rows to dev. */
function loadSplits(c: TrainRunConfig, task: TaskKind): RunRows {
  const trainSource = c.data.train ?? c.data.dataset!;
  const { dataset, maxEvalRows } = c.data;
  const evalRows = (split: 'dev' | 'test', given: string | null, fromDataset: boolean) =>
    given ? loadRows(given, split, task, maxEvalRows) : fromDataset ? loadRows(dataset!, split, task, maxEvalRows) : [];
  let train = loadRows(trainSource, 'train', task, c.data.maxTrainRows);
  let dev = evalRows('dev', c.data.dev, !!dataset);
  const test = evalRows('test', c.data.test, !!dataset && task !== 'mlm');
  if (task === 'mlm' && dev.length === 0 && train.length >= 50) ({ train, dev } = mlmHoldout(train));
  if (train.length === 0) throw new ConfigError(`${trainSource}: no training rows`);
  // data.augment: EDA copies after the row cap (data.maxTrainRows caps the real rows, not the copies).
  const augmented = c.data.augment ? augmentRows(train, c.data.augment, c.seeds.data) : [];
  return { trainSource, train: [...train, ...augmented], dev, test, augmented: augmented.length };
}

/** Tokenizer, labels, config and heads, and the parameters: random init, then a base checkpoint's weights if any. */
function buildModel(command: TrainCommand, c: TrainRunConfig, rows: RunRows, progress: ProgressPrinter): ModelSetup {
  const task = c.task.kind;
  const base = c.model.init ? readCheckpoint(c.model.init) : null;
  if (c.model.reinit && !base) throw new ConfigError('model.reinit takes the architecture and vocabulary of model.init: set model.init to a checkpoint');
  const corpus = () => rows.train.map((r) => r.text ?? (r.tokens ?? []).join(' '));
  const devTexts = () => rows.dev.map((r) => r.text ?? (r.tokens ?? []).join(' '));
  const { tok, trained } = makeTokenizer(c, command, base, join(c.outputDir, RUN_CHECKPOINT_DIR), corpus, devTexts);
  if (trained && base) progress.line(`extended the vocabulary of ${base.dir} to ${tok.vocabSize} tokens with a WordPiece of ${c.tokenizer.extendSize} trained on ${c.tokenizer.extendCorpus}`);
  else if (trained) progress.line(`trained a WordPiece vocabulary of ${tok.vocabSize} tokens on ${rows.train.length} rows`);
  // A dataset directory's label set (its card's order, or inferred from all of train before any
  // row cap) wins over the labels that happen to occur in a capped training split.
  const declared = c.task.labels.length ? c.task.labels : (!c.data.train && c.data.dataset && !DATASETS[c.data.dataset] ? sourceLabels(c.data.dataset, task) ?? [] : []);
  const labels = task === 'mlm' || task === 'embedding' ? [] : labelSet(task, rows.train, declared);
  if ((task === 'seq_cls' || task === 'token_cls') && labels.length < 2) {
    throw new ConfigError(`${rows.trainSource}: found ${labels.length} label(s); classification needs at least 2`);
  }
  const { config, grow } = modelConfig(c, base, tok);
  if (c.data.maxLength > config.maxPositions) {
    throw new ConfigError(`data.maxLength ${c.data.maxLength} exceeds the model's max positions ${config.maxPositions}`);
  }
  const heads = headsFor(c.task, labels.length, labels);
  const lora: LoraConfig | null = c.lora
    ? { r: c.lora.r, alpha: c.lora.alpha, dropout: c.lora.dropout, targets: c.lora.targets as LoraConfig['targets'] }
    : null;
  const specs = paramSpecs(config, heads, lora);
  const store = new ParamStore(specs);
  initParams(store, c.seeds.init, config.initializerRange);
  const model: ModelSetup = { tok, labels, config, heads, lora, specs, store };
  if (base && c.model.reinit) progress.line(`model.reinit: the architecture and vocabulary of ${base.dir}, random weights (seed ${c.seeds.init})`);
  else if (base) loadBaseWeights(c, base, model, grow, progress);
  return model;
}

/** The tokenizer of a run: given vocab, the base checkpoint's, a resumed run's, or trained on the corpus (pretrain). */
function makeTokenizer(
  c: TrainRunConfig, command: TrainCommand, base: LoadedCheckpoint | null, checkpointDir: string, corpus: () => string[], devTexts: () => string[],
): { tok: WordPieceTokenizer; trained: boolean } {
  const opts = { lowercase: c.tokenizer.lowercase, modelMaxLength: c.model.maxPositions };
  if (c.tokenizer.extendCorpus && (c.tokenizer.vocab || !base?.vocab)) {
    throw new ConfigError(`tokenizer.extendCorpus ${c.tokenizer.extendCorpus} extends the vocabulary of model.init; ` +
      (c.tokenizer.vocab ? 'it cannot be combined with tokenizer.vocab' : 'set model.init to a checkpoint with vocab.txt'));
  }
  if (c.tokenizer.vocab) return { tok: WordPieceTokenizer.fromVocabFile(c.tokenizer.vocab, opts), trained: false };
  // A base model's vocabulary comes with its rules (casing, accents, Chinese characters, special
  // tokens) recorded in its config.json, or, for a Hugging Face directory, its tokenizer_config.json.
  if (base?.vocab) {
    const source = join(base.dir, 'vocab.txt');
    const baseTok = WordPieceTokenizer.fromVocab(base.vocab, { ...opts, ...checkpointTokenizerOptions(base.config, join(base.dir, 'config.json')), source });
    if (!c.tokenizer.extendCorpus) return { tok: baseTok, trained: false };
    // tokenizer.extendCorpus: `tunebench vocab extend` inside the run (deterministic, so a resumed run gets the same vocabulary).
    const corpus = extensionCorpusTexts(c.tokenizer.extendCorpus, devTexts());
    const ext = extendVocabulary(baseTok, extensionSource(corpus, c.tokenizer.extendSize, c.tokenizer.minFrequency));
    return { tok: ext.tokenizer, trained: true };
  }
  const resumed = join(checkpointDir, 'vocab.txt');
  if (existsSync(resumed)) return { tok: WordPieceTokenizer.fromVocabFile(resumed, opts), trained: false };
  if (command !== 'pretrain') {
    throw new ConfigError('finetune needs a vocabulary: set tokenizer.vocab or model.init (a checkpoint with vocab.txt)');
  }
  const { vocabSize, minFrequency } = c.tokenizer;
  return { tok: WordPieceTokenizer.train(corpus(), { ...opts, vocabSize, minFrequency }), trained: true };
}

/** The model config: the base checkpoint's (with the tokenizer's vocabulary, which may only grow) or a preset / shape. */
function modelConfig(c: TrainRunConfig, base: LoadedCheckpoint | null, tok: WordPieceTokenizer): { config: BertConfig; grow: number } {
  const dropout = { hiddenDropout: c.model.hiddenDropout, attentionDropout: c.model.attentionDropout };
  if (!base) {
    if (!(c.model.preset in BERT_PRESETS)) throw new ConfigError(`model.preset '${c.model.preset}' unknown`);
    const config = makeConfig(c.model.shape ?? c.model.preset, tok.vocabSize, { maxPositions: c.model.maxPositions, ...dropout });
    return { config, grow: 0 };
  }
  const bc = bertConfigFromHf(base.config, join(base.dir, 'config.json')) as BertConfig;
  const grow = tok.vocabSize - bc.vocabSize;
  if (grow < 0) {
    throw new ConfigError(`tokenizer has ${tok.vocabSize} tokens but ${base.dir} was trained with ${bc.vocabSize}; ` +
      'a vocabulary can only grow');
  }
  if (grow > 0 && base.vocab && !base.vocab.every((t, i) => tok.vocab.tokens[i] === t)) {
    throw new ConfigError(`${c.tokenizer.vocab}: not an extension of ${base.dir}/vocab.txt (old tokens must keep their ids)`);
  }
  return { config: { ...bc, vocabSize: tok.vocabSize, ...dropout }, grow };
}

/** A base checkpoint into the fresh parameters: its LoRA adapter merged, its vocabulary grown; new heads keep their init. */
function loadBaseWeights(c: TrainRunConfig, base: LoadedCheckpoint, m: ModelSetup, grow: number, progress: ProgressPrinter): void {
  assertSameArchitecture(m.config, { ...bertConfigFromHf(base.config), vocabSize: m.tok.vocabSize }, base.dir);
  // A LoRA-trained checkpoint: merge its adapter into the base weights (see init_lora.ts).
  const { weights, merged } = mergeInitAdapter(base);
  if (merged) {
    progress.line(`merged the LoRA adapter of ${base.dir} (r ${merged.r}, alpha ${merged.alpha}, targets ${merged.targets.join(', ')}) ` +
      `into its base weights: W += (alpha/r)·B·A` + (m.lora ? '; this run trains a fresh adapter on top' : ''));
  }
  if (grow > 0) {
    // subtoken: each new token's pieces under the base checkpoint's own tokenizer.
    const baseTok = c.tokenizer.growInit === 'subtoken' ? checkpointTokenizer(base) : null;
    const pieces = baseTok ? addedTokenPieces(baseTok, m.tok) : undefined;
    growWeights(weights, grow, embeddingInitOf(c.tokenizer.growInit, { seed: c.seeds.init, initializerRange: m.config.initializerRange, pieces, unkId: baseTok?.specialIds.unk }));
    progress.line(`vocabulary grown by ${grow} tokens (${c.tokenizer.growInit} init)`);
  }
  if (base.hf) {
    for (const l of base.hf.notes) progress.line(l);
    const said = alignHfClassifier(weights, base, m);
    if (said) progress.line(said);
  }
  const specByName = new Map(m.specs.map((s) => [s.name, s]));
  const allowMissing = (n: string) => isHeadSpec(specByName.get(n)!);
  const rep = loadWeights(m.store, weights, { source: base.dir, allowMissing, allowUnexpected: isOtherHeadName });
  const list = (names: string[]) => names.join(', ') || 'none';
  progress.line(`loaded ${rep.loaded.length} tensors from ${base.dir}; new: ${list(rep.missing)}; unused: ${list(rep.unexpected)}`);
}

/**
 * A Hugging Face classifier (classifier.weight / .bias, its labels from id2label) against the run's
 * task and labels: kept when the labels are the same, its rows reordered when they are the same
 * set in another order, dropped (the run's head starts fresh) otherwise. Returns what it did.
 */
export function alignHfClassifier(weights: Map<string, { shape: number[]; data: Float32Array }>, base: LoadedCheckpoint, m: Pick<ModelSetup, 'heads' | 'labels'>): string | null {
  const w = weights.get('classifier.weight');
  const b = weights.get('classifier.bias');
  if (!w) return null;
  const tb = base.config.tunebench as { heads?: HeadSpec[]; labels?: string[] } | undefined;
  const ckKind = tb?.heads?.[0]?.kind;
  const ckLabels = tb?.labels ?? [];
  const drop = (why: string) => {
    weights.delete('classifier.weight');
    weights.delete('classifier.bias');
    return `the ${ckKind} classifier of ${base.dir} (labels ${ckLabels.join(', ')}) is not used: ${why}`;
  };
  const run = m.heads.filter((h) => h.kind === 'seq_cls' || h.kind === 'token_cls');
  if (run.length !== 1) return drop(run.length ? 'this run has several classifier heads' : 'this run has no classifier head');
  if (run[0]!.kind !== ckKind) return drop(`this run's head is ${run[0]!.kind}`);
  if (ckLabels.length === m.labels.length && ckLabels.every((l, i) => l === m.labels[i])) return `kept the classifier of ${base.dir} (same labels, same order)`;
  const pos = new Map(ckLabels.map((l, i) => [l, i]));
  if (ckLabels.length !== m.labels.length || !m.labels.every((l) => pos.has(l))) {
    return drop(`its labels differ from this run's (${m.labels.join(', ')}); the run's classifier starts fresh`);
  }
  const H = w.shape[1]!;
  const nw = new Float32Array(w.data.length);
  const nb = b ? new Float32Array(b.data.length) : null;
  m.labels.forEach((l, i) => {
    const j = pos.get(l)!;
    nw.set(w.data.subarray(j * H, (j + 1) * H), i * H);
    if (nb && b) nb[i] = b.data[j]!;
  });
  weights.set('classifier.weight', { shape: w.shape, data: nw });
  if (nb && b) weights.set('classifier.bias', { shape: b.shape, data: nb });
  return `kept the classifier of ${base.dir}, its rows reordered to this run's labels (${m.labels.join(', ')})`;
}

/** Tokenize every split once; the collators that mask / align / pad them. */
function prepareExamples(c: TrainRunConfig, task: TaskKind, m: ModelSetup, rows: RunRows, progress: ProgressPrinter): RunData {
  const { tok, labels } = m;
  const maxLen = c.data.maxLength;
  const labelAllTokens = c.task.labelAllTokens;
  if (rows.augmented > 0) {
    const a = c.data.augment!;
    progress.line(`data.augment: ${rows.augmented} EDA copies of ${rows.train.length - rows.augmented} training rows (${a.copies} each; sr ${a.alphaSr}, ri ${a.alphaRi}, rs ${a.alphaRs}, rd ${a.pRd})`);
  }
  // data.resample: random over/undersampling around task.costlyClass (resample.ts).
  const trainEx = resampleTraining(tokenizeRows(rows.train, tok, task, labels, maxLen, { labelAllTokens, source: rows.trainSource }),
    c.data.resample, c.data.resampleRatio, labels, c.task.costlyClass, c.seeds.data, (l) => progress.line(l));
  const devEx = tokenizeRows(rows.dev, tok, task, labels, maxLen, { labelAllTokens, source: 'dev' });
  const testEx = tokenizeRows(rows.test, tok, task, labels, maxLen, { labelAllTokens, source: 'test' });
  const generalSource = c.data.general;
  let generalEx: Example[] = [];
  let generalDevEx: Example[] = [];
  if (generalSource) {
    let gRows = loadRows(generalSource, 'train', task, c.data.maxTrainRows);
    let gDev: Row[] = [];
    if (task === 'mlm' && gRows.length >= 50) {
      // Held out as a corpus's dev (2 %, at most 500 rows, a fixed permutation): the general
      // corpus's MLM loss after mixed pretraining is measured on text the run did not train on.
      const nDev = Math.min(500, Math.max(1, Math.floor(gRows.length * 0.02)));
      const held = new Set(Array.from(permutation(0x0de6, 0, gRows.length).subarray(0, nDev)));
      gDev = gRows.filter((_, i) => held.has(i));
      gRows = gRows.filter((_, i) => !held.has(i));
      if (c.data.maxEvalRows > 0) gDev = gDev.slice(0, c.data.maxEvalRows);
    }
    generalEx = tokenizeRows(gRows, tok, task, labels, maxLen, { source: generalSource });
    generalDevEx = tokenizeRows(gDev, tok, task, labels, maxLen, { source: `${generalSource} (held out)` });
  }
  // MLM: the training batches are masked by c.masking; dev / test by masking.evalStrategy.
  const collator = new Collator(tok, task, task === 'mlm' ? mlmOptionsOf(c.masking) : c.task.mlmProbability);
  const randomEvalMasks = task === 'mlm' && c.masking.evalStrategy === 'random';
  const evalCollator = randomEvalMasks ? new Collator(tok, task, mlmOptionsOf(c.masking, true)) : collator;
  // The checkpoint records the masking (gazetteer phrases inline) so `evaluate` masks the same way.
  const maskingRecord = task === 'mlm' ? { masking: { ...c.masking, gazetteer: loadGazetteer(c.masking.gazetteer) ?? null } } : {};
  if (task === 'mlm') {
    const k = c.masking;
    const how = k.strategy === 'mixture' ? `mixture ${k.mixture.map((x) => `${x.strategy}:${x.weight}`).join(' ')}` : k.strategy;
    const fractions = `${k.maskFraction}/${k.randomFraction}/${+(1 - k.maskFraction - k.randomFraction).toFixed(6)}`;
    progress.line(`masking: ${how}, probability ${k.probability}, [MASK]/random/keep ${fractions}, eval ${k.evalStrategy}`);
  }
  const scored = rows.test.length ? { split: 'test' as const, rows: rows.test } : rows.dev.length ? { split: 'dev' as const, rows: rows.dev } : null;
  const texts = scored?.rows.map((r) => r.text ?? (r.tokens ?? []).join(' ')) ?? [];
  const fertility = scored ? { split: scored.split, ...fertilityReport(tok, texts) } : null;
  return { trainEx, devEx, testEx, generalSource, generalEx, generalDevEx, collator, evalCollator, maskingRecord, fertility, augmentedRows: rows.augmented };
}

/** Loss options: MNR for embeddings, class weights (given, balanced or its square root), focal gamma and alpha. */
function lossOptions(c: TrainRunConfig, task: TaskKind, labels: string[], trainEx: Example[], progress: ProgressPrinter): LossOptions {
  const loss: LossOptions = task === 'embedding' ? { embeddingLoss: 'mnr' } : {};
  if (c.task.loss === 'weighted_ce') {
    const given = c.task.classWeights;
    if (given.length && given.length !== labels.length) {
      throw new ConfigError(`task.classWeights has ${given.length} weights but there are ${labels.length} labels (${labels.join(', ')})`);
    }
    loss.classWeights = given.length ? given : balancedClassWeights(trainEx, labels.length, c.task.classWeightScheme);
    progress.line(`class weights: ${labels.map((l, i) => `${l} ${loss.classWeights![i].toFixed(3)}`).join(', ')}`);
  }
  if (c.task.loss === 'focal') loss.focalGamma = c.task.focalGamma;
  if (c.task.focalAlpha.length) {
    if (c.task.focalAlpha.length !== labels.length) throw new ConfigError(`task.focalAlpha has ${c.task.focalAlpha.length} values but there are ${labels.length} labels (${labels.join(', ')})`);
    loss.focalAlpha = c.task.focalAlpha;
    progress.line(`focal loss: gamma ${c.task.focalGamma}, alpha ${labels.map((l, i) => `${l} ${c.task.focalAlpha[i]}`).join(', ')}`);
  }
  return loss;
}

/** The strategy's plan at step 0, the number of steps and the learning-rate schedule. */
function planSchedule(c: TrainRunConfig, m: ModelSetup, nTrain: number): RunSchedule {
  const strategy = strategyOf(c);
  const B = c.training.batchSize, accum = c.optimizer.gradAccumSteps;
  const stepsPerEpoch = Math.max(1, Math.ceil(nTrain / (B * accum)));
  const totalSteps = c.training.maxSteps > 0 ? c.training.maxSteps : Math.max(1, Math.ceil(c.training.epochs * stepsPerEpoch));
  const warmupSteps = warmupStepsFor(totalSteps, c.schedule.warmupSteps, c.schedule.warmupRatio);
  const sched: ScheduleConfig = { name: c.schedule.name, lr: c.optimizer.lr, warmupSteps, totalSteps };
  const plan = planStrategy(m.specs, strategy, { epoch: 0, step: 0, totalSteps });
  // The plan must fit the store before anything is written (the loop builds its ranges per step).
  adamwRanges(m.store, plan, c.optimizer.weightDecay);
  return { strategy, B, accum, totalSteps, sched, plan };
}
