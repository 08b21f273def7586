// The training loop behind `tunebench pretrain` and `tunebench finetune`.
//
// setup: run directory → tokenizer (given, from the base checkpoint, or trained on the corpus)
//   → model config and parameters (random init, or a base checkpoint; vocabulary growth) →
//   data (tokenized once) → strategy plan → AdamW ranges → backend (GPU model or float64 reference)
//   → EWC Fisher (on the base weights) → resume state (weights, moments, data position, counters).
// step:  zero grads → gradAccumSteps × (collate → forward+backward, +=) → EWC term → AdamW over
//   the trainable ranges (clipping inside) with the scheduled lr. Nothing is read back except the
//   loss every logEvery steps; dev evaluation every evalEvery steps (or per epoch).
// end:   checkpoint (atomic), final dev/test metrics, metrics.json.
//
// Everything random is a pure function of a recorded seed and a counter (data order: seeds.data +
// epoch; MLM masks: seeds.data + step; dropout: seeds.dropout + step), so a resumed run continues
// exactly: it restores the counters and the moments, and ends with the same bits.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BERT_PRESETS, makeConfig, paramSpecs, ParamStore, initParams, type BertConfig, type HeadSpec, type LoraConfig, type LossOptions, type ParamSpec } from '../model/index.js';
import { WordPieceTokenizer, growEmbeddings, type EmbeddingInit } from '../tokenizer/index.js';
import { seededRng } from '../data/index.js';
import type { TaskKind, TrainRunConfig } from '../config/schema.js';
import { RunDir, RUN_CHECKPOINT_DIR } from '../config/rundir.js';
import { ConfigError, loadTrainConfig } from '../config/load.js';
import { mergeInitAdapter } from './init_lora.js';
import { readCheckpoint, loadWeights, readOptimizer, writeCheckpoint, type LoadedCheckpoint } from '../checkpoint/checkpoint.js';
import { bertConfigFromHf, hfConfig, hfArchitecture, assertSameArchitecture } from '../checkpoint/config_json.js';
import { planStrategy, firstTrainableLayer, type StrategyConfig, type StrategyPlan } from './strategy.js';
import { adamwRanges, type AdamwRange } from './ranges.js';
import { learningRate, warmupStepsFor, type ScheduleConfig } from './schedule.js';
import { EarlyStopping, type EarlyStoppingState } from './early_stopping.js';
import { EpochSampler, MixedSampler, type EpochSamplerState, type MixedSamplerState } from './sampler.js';
import { deriveSeed, permutation } from './rng.js';
import { Collator, loadGazetteer, mlmOptionsOf, loadRows, labelSet, tokenizeRows, maskSeed, type Example } from './data.js';
import { evaluateExamples, majorityBaseline } from './evaluate.js';
import type { TrainBackend } from './backend.js';
import { ProgressPrinter } from './progress.js';

/** Device memory the frozen-prefix cache may use. */
export const PREFIX_CACHE_BYTES = 512 * 1024 * 1024;

function chunk<T>(a: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
  return out;
}

export interface BackendArgs {
  config: BertConfig;
  heads: HeadSpec[];
  store: ParamStore;
  lora: LoraConfig | null;
  loss: LossOptions;
  maxBatch: number;
  maxLength: number;
}
export type BackendFactory = (args: BackendArgs) => Promise<TrainBackend>;

export interface RunTrainingOptions {
  resume?: boolean;
  backend: BackendFactory;
  /** Print progress to stdout (default true). */
  progress?: boolean;
  /** Test hook: keep fixed batches but never pass a cache key (to compare cached and uncached runs). */
  noPrefixCacheKeys?: boolean;
  /** Test hook: stop (as if killed) right after this optimizer step, without the final save. */
  stopAfterStep?: number;
}

export interface TrainResult {
  runDir: string;
  steps: number;
  metrics: Record<string, unknown>;
  store: ParamStore;
  plan: StrategyPlan;
}

interface TrainerState {
  step: number;
  totalSteps: number;
  sampler: EpochSamplerState | null;
  mixed: MixedSamplerState | null;
  earlyStopping: EarlyStoppingState | null;
  history: Record<string, number>[];
  tokens: number;
  elapsedS: number;
  lastEvalEpoch: number;
  /** Optimizer step at which each parameter first trained (gradual unfreezing: Adam counts per parameter). */
  firstStep: Record<string, number>;
}

export function headsFor(task: TrainRunConfig['task'], numLabels: number): HeadSpec[] {
  switch (task.kind) {
    case 'mlm':
      return [{ kind: 'mlm' }];
    case 'seq_cls':
      return [{ kind: 'seq_cls', numLabels, pooling: task.pooling }];
    case 'token_cls':
      return [{ kind: 'token_cls', numLabels }];
    case 'embedding':
      return [{ kind: 'embedding', normalize: task.normalize }];
  }
}

const isHeadSpec = (s: ParamSpec) => s.module === 'head' || s.module === 'pooler' || s.module === 'lora';
const isOtherHeadName = (n: string) => n.startsWith('cls.') || n.startsWith('classifier') || n.startsWith('bert.pooler.');

function strategyOf(c: TrainRunConfig): StrategyConfig {
  const s: StrategyConfig = { name: c.strategy.name, embeddings: c.strategy.embeddings, unfreezeEvery: c.strategy.unfreezeEvery, unfreezeUnit: c.strategy.unfreezeUnit };
  if (c.strategy.k !== undefined) s.k = c.strategy.k;
  if (c.strategy.lrDecay !== undefined) s.lrDecay = c.strategy.lrDecay;
  return s;
}

/** Class weights for weighted cross-entropy: n / (numClasses · count), scikit-learn's "balanced". */
export function balancedClassWeights(examples: readonly Example[], numLabels: number): number[] {
  const counts = new Array<number>(numLabels).fill(0);
  let n = 0;
  for (const e of examples) if (e.label >= 0) (counts[e.label]++, n++);
  return counts.map((c) => (c > 0 ? n / (numLabels * c) : 0));
}

/** The tokenizer of a run: given vocab, the base checkpoint's, a resumed run's, or trained on the corpus (pretrain). */
function makeTokenizer(c: TrainRunConfig, command: string, base: LoadedCheckpoint | null, checkpointDir: string, corpus: () => string[]): { tok: WordPieceTokenizer; trained: boolean } {
  const opts = { lowercase: c.tokenizer.lowercase, modelMaxLength: c.model.maxPositions };
  if (c.tokenizer.vocab) return { tok: WordPieceTokenizer.fromVocabFile(c.tokenizer.vocab, opts), trained: false };
  // A base model's vocabulary comes with its casing rule (recorded in its config.json).
  const baseLower = (base?.config.tunebench as { tokenizer?: { lowercase?: boolean } } | undefined)?.tokenizer?.lowercase;
  if (base?.vocab) return { tok: WordPieceTokenizer.fromVocab(base.vocab, { ...opts, lowercase: baseLower ?? opts.lowercase, source: join(base.dir, 'vocab.txt') }), trained: false };
  const resumed = join(checkpointDir, 'vocab.txt');
  if (existsSync(resumed)) return { tok: WordPieceTokenizer.fromVocabFile(resumed, opts), trained: false };
  if (command !== 'pretrain') throw new ConfigError('finetune needs a vocabulary: set tokenizer.vocab or model.init (a checkpoint with vocab.txt)');
  return { tok: WordPieceTokenizer.train(corpus(), { ...opts, vocabSize: c.tokenizer.vocabSize, minFrequency: c.tokenizer.minFrequency }), trained: true };
}

export async function runTraining(command: 'pretrain' | 'finetune', c: TrainRunConfig, opts: RunTrainingOptions): Promise<TrainResult> {
  const started = Date.now();
  // Check the run directory first (nothing is written until the data, tokenizer and model are
  // set up, so a bad input leaves no half-made run behind); log lines wait until it exists.
  // (masking.probability, added later, defaults to the run's task.mlmProbability: a run started
  // before the masking section existed resumes with the rate it had.)
  const defaultSets = ['outputDir=-', 'data.dataset=-', `task.mlmProbability=${c.task.mlmProbability}`];
  const runOpts = { resume: opts.resume ?? false, command, defaults: opts.resume ? loadTrainConfig(command, { sets: defaultSets }) : undefined };
  RunDir.check(c.outputDir, c, runOpts);
  let runRef: RunDir | null = null;
  const pendingLog: string[] = [];
  const progress = new ProgressPrinter(opts.progress ?? true, (l) => (runRef ? runRef.log(l) : pendingLog.push(l)));
  const checkpointDir = join(c.outputDir, RUN_CHECKPOINT_DIR);
  const task: TaskKind = c.task.kind;
  if (task === 'embedding' && c.task.embeddingLoss !== 'mnr') throw new ConfigError("task.embeddingLoss 'cosine' needs similarity targets per pair, which the pair datasets do not have; use 'mnr'");

  // ---- data rows
  const trainSource = c.data.train ?? c.data.dataset!;
  let trainRows = loadRows(trainSource, 'train', task, c.data.maxTrainRows);
  let devRows = c.data.dev ? loadRows(c.data.dev, 'dev', task, c.data.maxEvalRows) : c.data.dataset ? loadRows(c.data.dataset, 'dev', task, c.data.maxEvalRows) : [];
  const testRows = c.data.test ? loadRows(c.data.test, 'test', task, c.data.maxEvalRows) : c.data.dataset && task !== 'mlm' ? loadRows(c.data.dataset, 'test', task, c.data.maxEvalRows) : [];
  if (task === 'mlm' && devRows.length === 0 && trainRows.length >= 50) {
    // A corpus has no dev split: hold out 2 % (at most 500 rows), chosen by a fixed permutation.
    const nDev = Math.min(500, Math.max(1, Math.floor(trainRows.length * 0.02)));
    const perm = permutation(0x0de5, 0, trainRows.length);
    const dev = new Set(Array.from(perm.subarray(0, nDev)));
    devRows = trainRows.filter((_, i) => dev.has(i));
    trainRows = trainRows.filter((_, i) => !dev.has(i));
  }
  if (trainRows.length === 0) throw new ConfigError(`${trainSource}: no training rows`);

  // ---- tokenizer, model config, heads
  const base = c.model.init ? readCheckpoint(c.model.init) : null;
  const { tok, trained } = makeTokenizer(c, command, base, checkpointDir, () => trainRows.map((r) => r.text ?? (r.tokens ?? []).join(' ')));
  if (trained) progress.line(`trained a WordPiece vocabulary of ${tok.vocabSize} tokens on ${trainRows.length} rows`);
  const labels = task === 'mlm' || task === 'embedding' ? [] : labelSet(task, trainRows, c.task.labels.length ? c.task.labels : []);
  if ((task === 'seq_cls' || task === 'token_cls') && labels.length < 2) throw new ConfigError(`${trainSource}: found ${labels.length} label(s); classification needs at least 2`);
  let config: BertConfig;
  let grow = 0;
  if (base) {
    const bc = bertConfigFromHf(base.config, join(base.dir, 'config.json')) as BertConfig;
    grow = tok.vocabSize - bc.vocabSize;
    if (grow < 0) throw new ConfigError(`tokenizer has ${tok.vocabSize} tokens but ${base.dir} was trained with ${bc.vocabSize}; a vocabulary can only grow`);
    if (grow > 0 && base.vocab && !base.vocab.every((t, i) => tok.vocab.tokens[i] === t)) {
      throw new ConfigError(`${c.tokenizer.vocab}: not an extension of ${base.dir}/vocab.txt (old tokens must keep their ids)`);
    }
    config = { ...bc, vocabSize: tok.vocabSize, hiddenDropout: c.model.hiddenDropout, attentionDropout: c.model.attentionDropout };
  } else {
    if (!(c.model.preset in BERT_PRESETS)) throw new ConfigError(`model.preset '${c.model.preset}' unknown`);
    config = makeConfig(c.model.shape ?? c.model.preset, tok.vocabSize, { maxPositions: c.model.maxPositions, hiddenDropout: c.model.hiddenDropout, attentionDropout: c.model.attentionDropout });
  }
  if (c.data.maxLength > config.maxPositions) throw new ConfigError(`data.maxLength ${c.data.maxLength} exceeds the model's max positions ${config.maxPositions}`);
  const heads = headsFor(c.task, labels.length);
  const lora: LoraConfig | null = c.lora ? { r: c.lora.r, alpha: c.lora.alpha, dropout: c.lora.dropout, targets: c.lora.targets as LoraConfig['targets'] } : null;
  const specs = paramSpecs(config, heads, lora);
  const store = new ParamStore(specs);
  initParams(store, c.seeds.init, config.initializerRange);
  if (base) {
    assertSameArchitecture(config, { ...bertConfigFromHf(base.config), vocabSize: tok.vocabSize }, base.dir);
    // A LoRA-trained checkpoint: merge its adapter into the base weights (see init_lora.ts).
    const { weights, merged } = mergeInitAdapter(base);
    if (merged) {
      progress.line(`merged the LoRA adapter of ${base.dir} (r ${merged.r}, alpha ${merged.alpha}, targets ${merged.targets.join(', ')}) into its base weights: W += (alpha/r)·B·A` +
        (lora ? '; this run trains a fresh adapter on top' : ''));
    }
    if (grow > 0) {
      // Vocabulary growth: new word-embedding rows from the old rows' statistics, new decoder bias 0.
      const old = weights.get('bert.embeddings.word_embeddings.weight')!;
      const rows = old.shape[0], cols = old.shape[1];
      const init: EmbeddingInit = c.tokenizer.growInit === 'normal'
        ? { method: 'normal', rng: seededRng(deriveSeed(c.seeds.init, 0x97)), std: config.initializerRange }
        : c.tokenizer.growInit === 'mean-noise' ? { method: 'mean-noise', rng: seededRng(deriveSeed(c.seeds.init, 0x97)) } : { method: 'mean' };
      weights.set('bert.embeddings.word_embeddings.weight', { shape: [rows + grow, cols], data: growEmbeddings(old.data, rows, cols, grow, init) });
      const bias = weights.get('cls.predictions.bias');
      if (bias) {
        const b = new Float32Array(rows + grow);
        b.set(bias.data);
        weights.set('cls.predictions.bias', { shape: [rows + grow], data: b });
      }
      progress.line(`vocabulary grown by ${grow} tokens (${c.tokenizer.growInit} init)`);
    }
    const specByName = new Map(specs.map((s) => [s.name, s]));
    const rep = loadWeights(store, weights, { source: base.dir, allowMissing: (n) => isHeadSpec(specByName.get(n)!), allowUnexpected: isOtherHeadName });
    progress.line(`loaded ${rep.loaded.length} tensors from ${base.dir}; new: ${rep.missing.join(', ') || 'none'}; unused: ${rep.unexpected.join(', ') || 'none'}`);
  }

  // ---- examples
  const maxLen = c.data.maxLength;
  const trainEx = tokenizeRows(trainRows, tok, task, labels, maxLen, { labelAllTokens: c.task.labelAllTokens, source: trainSource });
  const devEx = tokenizeRows(devRows, tok, task, labels, maxLen, { labelAllTokens: c.task.labelAllTokens, source: 'dev' });
  const testEx = tokenizeRows(testRows, tok, task, labels, maxLen, { labelAllTokens: c.task.labelAllTokens, source: 'test' });
  const generalSource = c.data.general;
  const generalEx = generalSource ? tokenizeRows(loadRows(generalSource, 'train', task, c.data.maxTrainRows), tok, task, labels, maxLen, { source: generalSource }) : [];
  // MLM: the training batches are masked by c.masking; dev / test by masking.evalStrategy.
  const collator = new Collator(tok, task, task === 'mlm' ? mlmOptionsOf(c.masking) : c.task.mlmProbability);
  const evalCollator = task === 'mlm' && c.masking.evalStrategy === 'random' ? new Collator(tok, task, mlmOptionsOf(c.masking, true)) : collator;
  // The checkpoint records the masking (gazetteer phrases inline) so `evaluate` masks the same way.
  const maskingRecord = task === 'mlm' ? { masking: { ...c.masking, gazetteer: loadGazetteer(c.masking.gazetteer) ?? null } } : {};
  if (task === 'mlm') {
    const m = c.masking;
    const how = m.strategy === 'mixture' ? `mixture ${m.mixture.map((x) => `${x.strategy}:${x.weight}`).join(' ')}` : m.strategy;
    progress.line(`masking: ${how}, probability ${m.probability}, [MASK]/random/keep ${m.maskFraction}/${m.randomFraction}/${+(1 - m.maskFraction - m.randomFraction).toFixed(6)}, eval ${m.evalStrategy}`);
  }

  // ---- losses
  const loss: LossOptions = task === 'embedding' ? { embeddingLoss: 'mnr' } : {};
  if (c.task.loss === 'weighted_ce') {
    if (c.task.classWeights.length && c.task.classWeights.length !== labels.length) {
      throw new ConfigError(`task.classWeights has ${c.task.classWeights.length} weights but there are ${labels.length} labels (${labels.join(', ')})`);
    }
    loss.classWeights = c.task.classWeights.length ? c.task.classWeights : balancedClassWeights(trainEx, labels.length);
    progress.line(`class weights: ${labels.map((l, i) => `${l} ${loss.classWeights![i].toFixed(3)}`).join(', ')}`);
  }
  if (c.task.loss === 'focal') loss.focalGamma = c.task.focalGamma;

  // ---- strategy, schedule
  const strategy = strategyOf(c);
  const B = c.training.batchSize, accum = c.optimizer.gradAccumSteps;
  const stepsPerEpoch = Math.max(1, Math.ceil(trainEx.length / (B * accum)));
  const totalSteps = c.training.maxSteps > 0 ? c.training.maxSteps : Math.max(1, Math.ceil(c.training.epochs * stepsPerEpoch));
  const sched: ScheduleConfig = { name: c.schedule.name, lr: c.optimizer.lr, warmupSteps: warmupStepsFor(totalSteps, c.schedule.warmupSteps, c.schedule.warmupRatio), totalSteps };
  let plan = planStrategy(specs, strategy, { epoch: 0, step: 0 });
  let ranges: AdamwRange[] = adamwRanges(store, plan, c.optimizer.weightDecay);

  const run: RunDir = new RunDir(c.outputDir, c, runOpts);
  runRef = run;
  for (const l of pendingLog.splice(0)) run.log(l);
  const backend = await opts.backend({ config, heads, store, lora, loss, maxBatch: B, maxLength: maxLen });
  try {
    backend.setTrainable(plan.trainable);

    // ---- EWC Fisher on the base weights (before any resume, so θ* is the base model)
    if (c.ewc) {
      const ewcSource = c.ewc.data ?? c.data.general!;
      const ewcEx = ewcSource === generalSource ? generalEx : tokenizeRows(loadRows(ewcSource, 'train', task, c.data.maxTrainRows), tok, task, labels, maxLen, { source: ewcSource });
      if (!ewcEx.length) throw new ConfigError(`ewc: ${ewcSource} has no rows`);
      const s = new EpochSampler(ewcEx.length, deriveSeed(c.seeds.data, 0xe3c));
      backend.beginFisher();
      for (let i = 0; i < c.ewc.fisherBatches; i++) {
        backend.zeroGrads();
        await backend.accumulate(collator.collate(s.batch(B).map((j) => ewcEx[j]), maskSeed(c.seeds.data, 0xfffff, i)), { dropoutSeed: 0, step: 0 });
        await backend.accumulateFisher(1 / c.ewc.fisherBatches);
      }
      await backend.readLoss();
      progress.line(`EWC: diagonal Fisher from ${c.ewc.fisherBatches} batches of ${ewcSource}, λ = ${c.ewc.lambda}`);
    }

    // ---- samplers and resume
    // A frozen prefix (embeddings and maybe lower layers) gives the same output for the same batch
    // every epoch: with fixed batch compositions (order reshuffled per epoch) the model computes it
    // once per batch and caches it on the device (up to PREFIX_CACHE_BYTES).
    const cacheable = task !== 'mlm' && generalEx.length === 0 && c.training.cachePrefix && strategy.name !== 'gradual_unfreezing' && firstTrainableLayer(specs, plan) >= 0;
    const fixedBatches: number[][] | null = cacheable ? chunk(Array.from(permutation(c.seeds.data, 0, trainEx.length)), B) : null;
    const maxCached = Math.floor(PREFIX_CACHE_BYTES / (B * maxLen * config.hiddenSize * 4));
    const sampler = new EpochSampler(fixedBatches ? fixedBatches.length : trainEx.length, c.seeds.data);
    const mixed = c.data.generalRatio > 0 ? new MixedSampler(generalEx.length, trainEx.length, c.data.generalRatio, c.seeds.data) : null;
    const es = c.training.earlyStopping ? new EarlyStopping(c.training.earlyStopping) : null;
    let state: TrainerState = { step: 0, totalSteps, sampler: null, mixed: null, earlyStopping: null, history: [], tokens: 0, elapsedS: 0, lastEvalEpoch: 0, firstStep: {} };
    if (opts.resume && existsSync(join(run.checkpointDir, 'trainer_state.json'))) {
      const ck = readCheckpoint(run.checkpointDir);
      assertSameArchitecture(config, bertConfigFromHf(ck.config), run.checkpointDir);
      loadWeights(store, ck.weights, { source: run.checkpointDir });
      const o = readOptimizer(run.checkpointDir, store, store.totalSize);
      backend.load(o.m, o.v);
      state = ck.trainerState as unknown as TrainerState;
      if (state.sampler) sampler.restore(state.sampler);
      if (mixed && state.mixed) mixed.restore(state.mixed);
      if (es && state.earlyStopping) es.restore(state.earlyStopping);
      progress.line(`resumed ${run.dir} at step ${state.step}/${totalSteps}`);
    } else if (opts.resume) {
      progress.line(`--resume: no checkpoint in ${run.dir} yet; starting from step 0`);
    } else {
      backend.load();
    }

    const nextBatch = (): { items: Example[]; cacheKey?: string } => {
      if (!fixedBatches) return { items: examplesOf(B) };
      const bi = sampler.next();
      return { items: fixedBatches[bi].map((i) => trainEx[i]), cacheKey: bi < maxCached && !opts.noPrefixCacheKeys ? `train${bi}` : undefined };
    };
    const examplesOf = (n: number) => {
      const out: Example[] = [];
      for (let i = 0; i < n; i++) {
        if (mixed) {
          const d = mixed.next();
          out.push(d.source === 'general' ? generalEx[d.index] : trainEx[d.index]);
        } else out.push(trainEx[sampler.next()]);
      }
      return out;
    };
    const epochNow = () => (mixed ? mixed.domain.state.epoch : sampler.state.epoch);

    const saveCheckpoint = async () => {
      const { m, v } = await backend.sync();
      state.sampler = { ...sampler.state };
      state.mixed = mixed ? mixed.state : null;
      state.earlyStopping = es ? { ...es.state } : null;
      state.elapsedS = stateElapsed();
      writeCheckpoint(run.checkpointDir, store, {
        config: hfConfig(config, { command, heads, labels, task: c.task, ...maskingRecord, lora, strategy, tokenizer: { lowercase: c.tokenizer.lowercase } }, hfArchitecture(heads[0].kind)),
        vocab: [...tok.vocab.tokens],
        optimizer: { m, v, step: state.step, names: specs.map((s) => s.name) },
        trainerState: state as unknown as Record<string, unknown>,
      }, store);
    };
    const resumedElapsed = state.elapsedS;
    const t0 = Date.now();
    const stateElapsed = () => resumedElapsed + (Date.now() - t0) / 1000;

    const evaluateDev = async (): Promise<Record<string, number> | null> => {
      if (!devEx.length) return null;
      const r = await evaluateExamples(backend, evalCollator, task, labels, devEx, Math.max(B, 8), { evalSeed: c.seeds.data });
      return r.metrics;
    };

    progress.start(totalSteps, state.step);
    if (fixedBatches) progress.line(`frozen prefix below layer ${firstTrainableLayer(specs, plan)}: ${fixedBatches.length} fixed batches, ${Math.min(maxCached, fixedBatches.length)} cached on the device after their first use`);
    progress.line(`${command}: ${trainEx.length} train / ${devEx.length} dev / ${testEx.length} test examples; ${totalSteps} steps of ${B}×${accum}; strategy ${plan.strategy}: ${plan.trainableElements}/${plan.totalElements} parameters train; device ${backend.device}`);
    let stoppedEarly = false;
    let tokensSinceLog = 0;
    let tLog = Date.now();
    // Adam's step count per parameter: parameters unfrozen later start at 1 (as in PyTorch).
    const rangesFor = (p: StrategyPlan, step: number) => {
      for (const n of p.trainable) state.firstStep[n] ??= step;
      return adamwRanges(store, p, c.optimizer.weightDecay, (n) => (state.firstStep[n] === 0 ? undefined : step + 1 - state.firstStep[n]));
    };
    state.firstStep ??= {};
    while (state.step < totalSteps) {
      const step = state.step;
      if (strategy.name === 'gradual_unfreezing') {
        const p = planStrategy(specs, strategy, { epoch: epochNow(), step });
        if (p.trainable.length !== plan.trainable.length) {
          plan = p;
          backend.setTrainable(plan.trainable);
          progress.line(`step ${step}: unfroze to ${plan.trainable.length} tensors (${plan.trainableElements} parameters)`);
        }
      }
      backend.zeroGrads();
      for (let micro = 0; micro < accum; micro++) {
        const nb = nextBatch();
        const batch = collator.collate(nb.items, maskSeed(c.seeds.data, step, micro));
        let real = 0;
        for (let i = 0; i < batch.attentionMask.length; i++) real += batch.attentionMask[i];
        tokensSinceLog += real;
        state.tokens += real;
        await backend.accumulate(batch, { dropoutSeed: deriveSeed(c.seeds.dropout, step * accum + micro), step, cacheKey: nb.cacheKey });
      }
      if (c.ewc) await backend.addEwcGradient(c.ewc.lambda);
      const lr = learningRate(sched, step);
      ranges = rangesFor(plan, step);
      await backend.step(ranges, { lr, step: step + 1, gradScale: 1 / accum }, c.optimizer);
      state.step = step + 1;

      if (state.step % c.training.logEvery === 0 || state.step === totalSteps) {
        const l = await backend.readLoss();
        const now = Date.now();
        const tps = tokensSinceLog / Math.max(1e-3, (now - tLog) / 1000);
        tokensSinceLog = 0;
        tLog = now;
        state.history.push({ step: state.step, loss: l, lr, tokensPerSecond: tps });
        progress.update(state.step, { loss: l, lr, tps, epoch: epochNow() });
        if (!Number.isFinite(l)) throw new Error(`training diverged: loss ${l} at step ${state.step} (lower optimizer.lr?)`);
      }
      const epochEnded = c.training.evalEvery === 0 && epochNow() > state.lastEvalEpoch;
      if ((c.training.evalEvery > 0 && state.step % c.training.evalEvery === 0) || epochEnded) {
        state.lastEvalEpoch = epochNow();
        const m = await evaluateDev();
        if (m) {
          state.history.push({ step: state.step, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [`dev_${k}`, v])) });
          progress.line(`step ${state.step}: dev ${Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
          if (es) {
            const value = m[c.training.earlyStopping!.metric];
            if (value === undefined) throw new ConfigError(`training.earlyStopping.metric '${c.training.earlyStopping!.metric}' is not a dev metric (have: ${Object.keys(m).join(', ')})`);
            if (es.update(value, state.step).stop) {
              progress.line(`early stopping at step ${state.step}: no improvement of ${c.training.earlyStopping!.metric} for ${c.training.earlyStopping!.patience} evaluations (best ${es.state.best} at step ${es.state.bestStep})`);
              stoppedEarly = true;
            }
          }
        }
      }
      if (c.training.saveEvery > 0 && state.step % c.training.saveEvery === 0) await saveCheckpoint();
      if (opts.stopAfterStep !== undefined && state.step >= opts.stopAfterStep) {
        progress.stop();
        return { runDir: run.dir, steps: state.step, metrics: {}, store, plan };
      }
      if (stoppedEarly) break;
    }
    progress.stop();
    await saveCheckpoint();

    // ---- final metrics
    const dev = await evaluateDev();
    const test = testEx.length ? (await evaluateExamples(backend, evalCollator, task, labels, testEx, Math.max(B, 8), { evalSeed: c.seeds.data })).metrics : null;
    const lossHistory = state.history.filter((h) => h.loss !== undefined);
    const metrics = {
      command,
      task,
      strategy: plan.strategy,
      dataset: c.data.dataset ?? c.data.train,
      seeds: c.seeds,
      steps: state.step,
      totalSteps,
      stoppedEarly,
      trainableParams: plan.trainableElements,
      totalParams: plan.totalElements,
      trainLossFirst: lossHistory[0]?.loss ?? null,
      trainLossLast: lossHistory[lossHistory.length - 1]?.loss ?? null,
      dev,
      test,
      main_score: (test ?? dev)?.main_score ?? null,
      majorityBaseline: task === 'seq_cls' ? { dev: majorityBaseline(devEx), test: majorityBaseline(testEx) } : null,
      tokens: state.tokens,
      wallTimeS: stateElapsed(),
      tokensPerSecond: state.tokens / Math.max(1e-3, stateElapsed()),
      device: backend.device,
      labels,
      vocabSize: tok.vocabSize,
      modelConfig: config,
      history: state.history,
      setupS: (t0 - started) / 1000,
    };
    run.writeMetrics(metrics);
    progress.line(`done: ${state.step} steps in ${stateElapsed().toFixed(1)} s; ${dev ? `dev main_score ${dev.main_score?.toFixed(4)}` : ''}${test ? `, test main_score ${test.main_score?.toFixed(4)}` : ''}; run directory ${run.dir}`);
    return { runDir: run.dir, steps: state.step, metrics, store, plan };
  } finally {
    backend.destroy();
  }
}
