// The training loop behind `tunebench pretrain` and `tunebench finetune`.
//
// runTraining: the run directory checked (checkRunDir) → setUpRun (run_setup.ts: rows, tokenizer,
//   model and parameters, examples, losses, strategy plan and schedule; nothing written yet) → the
//   run directory created → backend (GPU model or float64 reference) → EWC Fisher on the base
//   weights (estimateFisher) → TrainingSession.run:
// restoreOrStart: resume state (weights, moments, data position, counters) or the initial weights.
// each step (trainStep): gradAccumSteps × collate → backend.trainStep (zero grads → forward+backward
//   per micro-batch, += → EWC term → AdamW over the trainable ranges, clipping inside, with the
//   scheduled lr). Nothing is read back except the loss every logEvery steps (logLossIfDue); dev
//   evaluation every evalEvery steps or per epoch (evaluateDuringTraining, early stopping);
//   a checkpoint every saveEvery steps (saveCheckpoint).
// finish: checkpoint (atomic), final dev/test metrics, metrics.json.
//
// Everything random is a pure function of a recorded seed and a counter (data order: seeds.data +
// epoch; MLM masks: seeds.data + step; dropout: seeds.dropout + step), so a resumed run continues
// exactly: it restores the counters and the moments, and ends with the same bits.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BertConfig, HeadSpec, LoraConfig, LossOptions, ParamStore, QuantizedLinears } from '../model/index.js';
import type { TrainRunConfig } from '../config/schema.js';
import { RunDir } from '../config/rundir.js';
import { ConfigError, loadTrainConfig } from '../config/load.js';
import { readCheckpoint, loadWeights, readOptimizer, writeCheckpoint } from '../checkpoint/checkpoint.js';
import { bertConfigFromHf, hfConfig, hfArchitecture, assertSameArchitecture } from '../checkpoint/config_json.js';
import { planStrategy, firstTrainableLayer, changesOverTime, type StrategyPlan } from './strategy.js';
import { adamwRanges, type AdamwRange } from './ranges.js';
import { learningRate } from './schedule.js';
import { EarlyStopping, type EarlyStoppingState } from './early_stopping.js';
import { EpochSampler, MixedSampler, type EpochSamplerState, type MixedSamplerState } from './sampler.js';
import { deriveSeed, permutation } from './rng.js';
import { loadRows, tokenizeRows, maskSeed, sourceFiles, type Example } from './data.js';
import { evaluateExamples, majorityBaseline, NonFiniteError, testPredictionLines, TEST_PREDICTIONS_FILE, type EvalResult } from './evaluate.js';
import { writeFileAtomic } from '../checkpoint/atomic.js';
import { finalCostlyMetrics } from './costly.js';
import { embedResampleStage, type EmbedResampleReport } from './embed_resample.js';
import type { MicroBatch, TrainBackend } from './backend.js';
import { ProgressPrinter } from './progress.js';
import { setUpRun, type RunSetup, type TrainCommand } from './run_setup.js';

/**
 * A run's evaluation of `examples`: its eval collator (MLM: masking.evalStrategy), batch size
 * max(B, 8) and per-batch mask seeds from seeds.data. Pretraining's dev / devGeneral and
 * `mlm_eval` (mlm_eval.ts) both score through here, so the same config gives the same masks.
 * unkShare (MLM): also `unk_share`, the share of the text's tokens that are [UNK] — never
 * masked (data/mlm.ts), so never scored: the loss covers only the other tokens.
 */
export async function evaluateRun(s: Pick<RunSetup, 'c' | 'task' | 'model' | 'data' | 'schedule' | 'costly'>, backend: TrainBackend, examples: readonly Example[], opts: { unkShare?: boolean } = {}): Promise<EvalResult> {
  const { c, task, model, data, schedule, costly } = s;
  const batchSize = Math.max(schedule.B, 8);
  const r = await evaluateExamples(backend, data.evalCollator, task, model.labels, examples, batchSize, { evalSeed: c.seeds.data, costly });
  if (opts.unkShare && task === 'mlm') r.metrics.unk_share = unkShare(examples, model.tok.specialIds);
  return r;
}

/** The share of the text tokens ([CLS], [SEP], [PAD] aside) of `examples` that are [UNK]. */
export function unkShare(examples: readonly Example[], ids: { unk: number; cls: number; sep: number; pad: number }): number {
  let n = 0, unk = 0;
  for (const e of examples) {
    for (const id of e.enc.ids) {
      if (id === ids.cls || id === ids.sep || id === ids.pad) continue;
      n++;
      if (id === ids.unk) unk++;
    }
  }
  return n ? unk / n : 0;
}

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
  /** INT8 inference (model/int8.ts): true = quantise the store's linear layers, or these quantised ones; predict only. */
  int8?: boolean | QuantizedLinears;
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
  /**
   * `tunebench score`: the fine-tune's final evaluation of model.init, nothing trained (no step,
   * no EWC estimate, no embedding resampling, no checkpoint). A decision rule (task.decision) or
   * another scoring setting applied to a model a finetune phase already trained gives the metrics
   * that finetune would have given with that setting, bit for bit: training never reads them.
   */
  scoreOnly?: boolean;
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

/**
 * Train one run: check the run directory, set up data, tokenizer, model and schedule (nothing is
 * written until then, so a bad input leaves no half-made run behind), create the run directory and
 * the backend, estimate the EWC Fisher if asked, then train (TrainingSession).
 */
export async function runTraining(command: TrainCommand, c: TrainRunConfig, opts: RunTrainingOptions): Promise<TrainResult> {
  const started = Date.now();
  if (opts.scoreOnly) {
    if (command !== 'finetune') throw new ConfigError(`scoring without training applies to finetune configs (got ${command})`);
    if (!c.model.init) throw new ConfigError('tunebench score scores model.init: give the checkpoint to score (--init or model.init)');
    if (opts.resume) throw new ConfigError('tunebench score: --resume does not apply (nothing is trained)');
  }
  const runOpts = checkRunDir(command, c, opts);
  const log = deferredProgress(opts.progress ?? true);
  const s = setUpRun(command, c, log.progress);
  if (opts.scoreOnly) assertTrainedHeads(s, c.model.init!);
  const run = new RunDir(c.outputDir, c, runOpts);
  log.attach(run);
  const { config, heads, store, lora } = s.model;
  const backend = await opts.backend({ config, heads, store, lora, loss: s.loss, maxBatch: s.schedule.B, maxLength: c.data.maxLength });
  try {
    backend.setTrainable(s.schedule.plan.trainable);
    if (c.ewc && !opts.scoreOnly) await estimateFisher(s, backend, c.ewc);
    return await new TrainingSession(s, run, backend, opts, started).run();
  } finally {
    backend.destroy();
  }
}

/**
 * Scoring a checkpoint as it is means its heads (and pooler) are the ones scored: a checkpoint
 * without them (a pretrained base) would be scored with freshly initialised heads, a meaningless
 * number, so that is an error naming the missing tensors.
 */
function assertTrainedHeads(s: RunSetup, init: string): void {
  const have = new Set(readCheckpoint(init).weights.keys());
  const missing = s.model.specs.filter((p) => (p.module === 'head' || p.module === 'pooler') && !have.has(p.name)).map((p) => p.name);
  if (missing.length) {
    throw new ConfigError(`tunebench score: ${init} has no ${missing.join(', ')}: it was not trained for this task's heads (score a checkpoint a finetune with the same task wrote)`);
  }
}

type RunDirOptions = ConstructorParameters<typeof RunDir>[2];

/** The options of the run directory, checked before anything is set up (it is created only after). */
function checkRunDir(command: TrainCommand, c: TrainRunConfig, opts: RunTrainingOptions): RunDirOptions {
  // (masking.probability, added later, defaults to the run's task.mlmProbability: a run started
  // before the masking section existed resumes with the rate it had.)
  const defaultSets = ['outputDir=-', 'data.dataset=-', `task.mlmProbability=${c.task.mlmProbability}`];
  const defaults = opts.resume ? loadTrainConfig(command, { sets: defaultSets }) : undefined;
  const runOpts = { resume: opts.resume ?? false, command, defaults };
  RunDir.check(c.outputDir, c, runOpts);
  return runOpts;
}

/** A progress printer whose lines wait in memory until the run directory exists, then go to its log. */
export function deferredProgress(show: boolean): { progress: ProgressPrinter; attach(run: RunDir): void } {
  let target: RunDir | null = null;
  const pending: string[] = [];
  const progress = new ProgressPrinter(show, (l) => (target ? target.log(l) : pending.push(l)));
  return {
    progress,
    attach(run) {
      target = run;
      for (const l of pending.splice(0)) run.log(l);
    },
  };
}

/** EWC: the diagonal Fisher on the base weights (before any resume, so θ* is the base model). */
async function estimateFisher(s: RunSetup, backend: TrainBackend, ewc: NonNullable<TrainRunConfig['ewc']>): Promise<void> {
  const { c, task, model, data } = s;
  const source = ewc.data ?? c.data.general!;
  const examples = source === data.generalSource
    ? data.generalEx
    : tokenizeRows(loadRows(source, 'train', task, c.data.maxTrainRows), model.tok, task, model.labels, c.data.maxLength, { source });
  if (!examples.length) throw new ConfigError(`ewc: ${source} has no rows`);
  const sampler = new EpochSampler(examples.length, deriveSeed(c.seeds.data, 0xe3c));
  backend.beginFisher();
  for (let i = 0; i < ewc.fisherBatches; i++) {
    backend.zeroGrads();
    const batch = data.collator.collate(sampler.batch(s.schedule.B).map((j) => examples[j]), maskSeed(c.seeds.data, 0xfffff, i));
    await backend.accumulate(batch, { dropoutSeed: 0, step: 0 });
    await backend.accumulateFisher(1 / ewc.fisherBatches);
  }
  await backend.readLoss();
  s.progress.line(`EWC: diagonal Fisher from ${ewc.fisherBatches} batches of ${source}, λ = ${ewc.lambda}`);
}

/**
 * Which examples each micro-batch takes: the epoch sampler over the training examples, or over
 * fixed batches, and the mixed-corpus sampler. A frozen prefix (embeddings and maybe lower layers)
 * gives the same output for the same batch every epoch: with fixed batch compositions (order
 * reshuffled per epoch) the model computes it once per batch and caches it on the device (up to
 * PREFIX_CACHE_BYTES).
 */
class BatchFeed {
  readonly fixedBatches: number[][] | null;
  readonly maxCached: number;
  readonly sampler: EpochSampler;
  readonly mixed: MixedSampler | null;

  constructor(private readonly s: RunSetup, private readonly noCacheKeys: boolean) {
    const { c, data, schedule } = s;
    const B = schedule.B;
    const frozenPrefix = !changesOverTime(schedule.strategy) && firstTrainableLayer(s.model.specs, schedule.plan) >= 0;
    const cacheable = s.task !== 'mlm' && data.generalEx.length === 0 && c.training.cachePrefix && frozenPrefix;
    this.fixedBatches = cacheable ? chunk(Array.from(permutation(c.seeds.data, 0, data.trainEx.length)), B) : null;
    this.maxCached = Math.floor(PREFIX_CACHE_BYTES / (B * c.data.maxLength * s.model.config.hiddenSize * 4));
    this.sampler = new EpochSampler(this.fixedBatches ? this.fixedBatches.length : data.trainEx.length, c.seeds.data);
    const ratio = c.data.generalRatio;
    this.mixed = ratio > 0 ? new MixedSampler(data.generalEx.length, data.trainEx.length, ratio, c.seeds.data) : null;
  }

  /** The examples of the next micro-batch, and its cache key when its frozen prefix may be cached. */
  next(): { items: Example[]; cacheKey?: string } {
    const { trainEx } = this.s.data;
    if (!this.fixedBatches) return { items: this.examples(this.s.schedule.B) };
    const bi = this.sampler.next();
    const cacheKey = bi < this.maxCached && !this.noCacheKeys ? `train${bi}` : undefined;
    return { items: this.fixedBatches[bi].map((i) => trainEx[i]), cacheKey };
  }

  private examples(n: number): Example[] {
    const { trainEx, generalEx } = this.s.data;
    const out: Example[] = [];
    for (let i = 0; i < n; i++) {
      if (this.mixed) {
        const d = this.mixed.next();
        out.push(d.source === 'general' ? generalEx[d.index] : trainEx[d.index]);
      } else out.push(trainEx[this.sampler.next()]);
    }
    return out;
  }

  epoch(): number {
    return this.mixed ? this.mixed.domain.state.epoch : this.sampler.state.epoch;
  }
}

/** The training proper, once the backend is ready: restore or start, the step loop, evaluation, checkpoints, the summary. */
class TrainingSession {
  private readonly feed: BatchFeed;
  private readonly es: EarlyStopping | null;
  private plan: StrategyPlan;
  private state: TrainerState;
  /** Wall time of the run before this process (resume), and when this process started training. */
  private resumedElapsed = 0;
  private t0 = 0;
  private tokensSinceLog = 0;
  private tLog = 0;
  private stoppedEarly = false;
  /** Step of the last checkpoint written by this process (null: none yet). */
  private lastSavedStep: number | null = null;

  constructor(
    private readonly s: RunSetup,
    private readonly runDir: RunDir,
    private readonly backend: TrainBackend,
    private readonly opts: RunTrainingOptions,
    private readonly started: number,
  ) {
    this.plan = s.schedule.plan;
    this.feed = new BatchFeed(s, opts.noPrefixCacheKeys ?? false);
    this.es = s.c.training.earlyStopping ? new EarlyStopping(s.c.training.earlyStopping) : null;
    this.state = {
      step: 0, totalSteps: s.schedule.totalSteps, sampler: null, mixed: null, earlyStopping: null,
      history: [], tokens: 0, elapsedS: 0, lastEvalEpoch: 0, firstStep: {},
    };
  }

  async run(): Promise<TrainResult> {
    const { c, progress } = this.s;
    this.restoreOrStart();
    this.resumedElapsed = this.state.elapsedS;
    this.t0 = Date.now();
    this.announce();
    this.tLog = Date.now();
    this.state.firstStep ??= {};
    if (this.opts.scoreOnly) return this.finish();
    while (this.state.step < this.s.schedule.totalSteps) {
      const lr = await this.trainStep();
      await this.logLossIfDue(lr);
      if (this.evalDue()) await this.evaluateDuringTraining();
      if (c.training.saveEvery > 0 && this.state.step % c.training.saveEvery === 0) await this.saveCheckpoint();
      if (this.opts.stopAfterStep !== undefined && this.state.step >= this.opts.stopAfterStep) {
        progress.stop();
        return { runDir: this.runDir.dir, steps: this.state.step, metrics: {}, store: this.s.model.store, plan: this.plan };
      }
      if (this.stoppedEarly) break;
    }
    progress.stop();
    const embedResample = await this.embedResample();
    await this.saveCheckpoint();
    return this.finish(embedResample);
  }

  /** Resume: weights, moments, samplers, early stopping and counters from the run's checkpoint. Otherwise upload the initial weights. */
  private restoreOrStart(): void {
    const { model, progress, schedule } = this.s;
    const { runDir: run, backend, feed } = this;
    if (this.opts.resume && existsSync(join(run.checkpointDir, 'trainer_state.json'))) {
      const ck = readCheckpoint(run.checkpointDir);
      assertSameArchitecture(model.config, bertConfigFromHf(ck.config), run.checkpointDir);
      loadWeights(model.store, ck.weights, { source: run.checkpointDir });
      const o = readOptimizer(run.checkpointDir, model.store, model.store.totalSize);
      backend.load(o.m, o.v);
      this.state = ck.trainerState as unknown as TrainerState;
      if (this.state.sampler) feed.sampler.restore(this.state.sampler);
      if (feed.mixed && this.state.mixed) feed.mixed.restore(this.state.mixed);
      if (this.es && this.state.earlyStopping) this.es.restore(this.state.earlyStopping);
      progress.line(`resumed ${run.dir} at step ${this.state.step}/${schedule.totalSteps}`);
    } else if (this.opts.resume) {
      progress.line(`--resume: no checkpoint in ${run.dir} yet; starting from step 0`);
    } else {
      backend.load();
    }
  }

  /** Start the progress display and log what this run trains. */
  private announce(): void {
    const { command, progress, model, data, schedule } = this.s;
    const { fixedBatches, maxCached } = this.feed;
    if (this.opts.scoreOnly) {
      progress.line(`score: ${this.s.c.model.init} as it is (nothing trained) on ${data.devEx.length} dev / ${data.testEx.length} test examples; device ${this.backend.device}`);
      return;
    }
    progress.start(schedule.totalSteps, this.state.step);
    if (fixedBatches) {
      progress.line(`frozen prefix below layer ${firstTrainableLayer(model.specs, this.plan)}: ${fixedBatches.length} fixed batches, ` +
        `${Math.min(maxCached, fixedBatches.length)} cached on the device after their first use`);
    }
    const p = this.plan;
    progress.line(`${command}: ${data.trainEx.length} train / ${data.devEx.length} dev / ${data.testEx.length} test examples; ` +
      `${schedule.totalSteps} steps of ${schedule.B}×${schedule.accum}; ` +
      `strategy ${p.strategy}: ${p.trainableElements}/${p.totalElements} parameters train; device ${this.backend.device}`);
  }

  /** One optimizer step: unfreeze on schedule, collate the micro-batches, then the backend's step; returns its lr. */
  private async trainStep(): Promise<number> {
    const { c, data, schedule } = this.s;
    const step = this.state.step;
    if (changesOverTime(schedule.strategy)) this.unfreeze(step);
    const micro: MicroBatch[] = [];
    for (let k = 0; k < schedule.accum; k++) {
      const nb = this.feed.next();
      const batch = data.collator.collate(nb.items, maskSeed(c.seeds.data, step, k));
      let real = 0;
      for (let i = 0; i < batch.attentionMask.length; i++) real += batch.attentionMask[i];
      this.tokensSinceLog += real;
      this.state.tokens += real;
      micro.push({ batch, dropoutSeed: deriveSeed(c.seeds.dropout, step * schedule.accum + k), step, cacheKey: nb.cacheKey });
    }
    const lr = learningRate(schedule.sched, step);
    const ranges = this.rangesFor(this.plan, step);
    const hyper = { lr, step: step + 1, gradScale: 1 / schedule.accum };
    await this.backend.trainStep({ micro, ewcLambda: c.ewc ? c.ewc.lambda : null, ranges, hyper, optimizer: c.optimizer });
    this.state.step = step + 1;
    return lr;
  }

  /** Gradual unfreezing / two-stage freezing: the plan for this epoch / step; the backend learns when it grows. */
  private unfreeze(step: number): void {
    const p = planStrategy(this.s.model.specs, this.s.schedule.strategy, { epoch: this.feed.epoch(), step, totalSteps: this.s.schedule.totalSteps });
    if (p.trainable.length === this.plan.trainable.length) return;
    this.plan = p;
    this.backend.setTrainable(p.trainable);
    this.s.progress.line(`step ${step}: unfroze to ${p.trainable.length} tensors (${p.trainableElements} parameters)`);
  }

  /** Adam's step count per parameter: parameters unfrozen later start at 1 (as in PyTorch). */
  private rangesFor(p: StrategyPlan, step: number): AdamwRange[] {
    const first = this.state.firstStep;
    for (const n of p.trainable) first[n] ??= step;
    return adamwRanges(this.s.model.store, p, this.s.c.optimizer.weightDecay, (n) => (first[n] === 0 ? undefined : step + 1 - first[n]));
  }

  /** Every logEvery steps and at the last: read the loss back, record it with lr and tokens/s. */
  private async logLossIfDue(lr: number): Promise<void> {
    const { c, schedule } = this.s;
    const st = this.state;
    if (st.step % c.training.logEvery !== 0 && st.step !== schedule.totalSteps) return;
    const l = await this.backend.readLoss();
    const now = Date.now();
    const tps = this.tokensSinceLog / Math.max(1e-3, (now - this.tLog) / 1000);
    this.tokensSinceLog = 0;
    this.tLog = now;
    st.history.push({ step: st.step, loss: l, lr, tokensPerSecond: tps });
    this.s.progress.update(st.step, { loss: l, lr, tps, epoch: this.feed.epoch() });
    await this.assertFinite(l);
  }

  /**
   * Stop at the first sign of divergence, before any checkpoint holds it: a non-finite loss or a
   * non-finite gradient (read back at each log and save point) or, at a save point, a non-finite
   * weight. The error names the step, the loss and the first such parameter. `loss` null: not read
   * at this point; `weights`: also check the weights (downloaded into the store by sync()).
   */
  private async assertFinite(loss: number | null, weights = false): Promise<void> {
    const { store } = this.s.model;
    const firstBad = (a: ArrayLike<number>) => {
      for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
      return -1;
    };
    const grads = await this.backend.readGradients();
    let what = 'gradient', values: ArrayLike<number> = grads, bad = firstBad(grads);
    if (bad < 0 && weights) {
      what = 'weight';
      values = store.data;
      bad = firstBad(store.data);
    }
    if (bad < 0 && (loss === null || Number.isFinite(loss))) return;
    const param = bad < 0 ? null : store.specs.find((sp) => { const r = store.range(sp.name); return bad >= r.offset && bad < r.offset + r.length; })!;
    const where = param ? `the ${what} of '${param.name}' is ${values[bad]} (element ${bad - store.range(param.name).offset})` : 'every gradient is finite';
    const last = this.lastSavedStep === null ? 'no checkpoint was written' : `the checkpoint of step ${this.lastSavedStep} is the last one written`;
    throw new NonFiniteError(`training diverged at step ${this.state.step}: loss ${loss ?? '(not read)'}; ${where}. ` +
      `Stopped; ${last}. Lower optimizer.lr, keep optimizer.maxGradNorm > 0, or check the data.`);
  }

  /** Dev evaluation every evalEvery steps, or (evalEvery 0) when an epoch has ended. */
  private evalDue(): boolean {
    const every = this.s.c.training.evalEvery;
    return (every > 0 && this.state.step % every === 0) || (every === 0 && this.feed.epoch() > this.state.lastEvalEpoch);
  }

  /** Evaluate on dev, record the metrics, and ask early stopping whether to go on. */
  private async evaluateDuringTraining(): Promise<void> {
    const { c, progress } = this.s;
    const st = this.state;
    st.lastEvalEpoch = this.feed.epoch();
    const m = await this.evaluateDev();
    if (!m) return;
    st.history.push({ step: st.step, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [`dev_${k}`, v])) });
    progress.line(`step ${st.step}: dev ${Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
    if (!this.es) return;
    const rule = c.training.earlyStopping!;
    const value = m[rule.metric];
    if (value === undefined) {
      throw new ConfigError(`training.earlyStopping.metric '${rule.metric}' is not a dev metric (have: ${Object.keys(m).join(', ')})`);
    }
    if (this.es.update(value, st.step).stop) {
      progress.line(`early stopping at step ${st.step}: no improvement of ${rule.metric} for ${rule.patience} evaluations ` +
        `(best ${this.es.state.best} at step ${this.es.state.bestStep})`);
      this.stoppedEarly = true;
    }
  }

  private async evaluateDev(): Promise<Record<string, number> | null> {
    const { devEx } = this.s.data;
    return devEx.length ? this.evaluate(devEx) : null;
  }

  private async evaluate(examples: Example[]): Promise<Record<string, number>> {
    return (await this.evaluateFull(examples)).metrics;
  }

  /** Metrics and, for seq_cls, the labels and probabilities (a costly class decides from them). */
  private async evaluateFull(examples: Example[], opts: { unkShare?: boolean } = {}): Promise<EvalResult> {
    return evaluateRun(this.s, this.backend, examples, opts);
  }

  private elapsed(): number {
    return this.resumedElapsed + (Date.now() - this.t0) / 1000;
  }

  /** Weights, moments, vocabulary, config and trainer state (samplers, counters, history), written atomically. */
  private async saveCheckpoint(): Promise<void> {
    const { command, c, model, data, schedule } = this.s;
    const { heads, labels, lora, store } = model;
    const { m, v } = await this.backend.sync();
    if (this.state.step > 0) await this.assertFinite(null, true);
    const st = this.state;
    st.sampler = { ...this.feed.sampler.state };
    st.mixed = this.feed.mixed ? this.feed.mixed.state : null;
    st.earlyStopping = this.es ? { ...this.es.state } : null;
    st.elapsedS = this.elapsed();
    // The rules of the tokenizer the run used (a base checkpoint's may differ from tokenizer.lowercase).
    const b = model.tok.basic;
    const specials = Object.entries(model.tok.specialTokens).filter(([role, s]) => s !== `[${role.toUpperCase()}]`);
    const tokenizer = {
      lowercase: b.lowercase, stripAccents: b.stripAccents, tokenizeChineseChars: b.tokenizeChineseChars,
      ...(specials.length ? { specialTokens: Object.fromEntries(specials) } : {}),
    };
    const record = { command, heads, labels, task: c.task, ...data.maskingRecord, lora, strategy: schedule.strategy, tokenizer };
    writeCheckpoint(this.runDir.checkpointDir, store, {
      config: hfConfig(model.config, record, hfArchitecture(heads[0].kind)),
      vocab: [...model.tok.vocab.tokens],
      optimizer: { m, v, step: st.step, names: model.specs.map((s) => s.name) },
      trainerState: st as unknown as Record<string, unknown>,
    }, store);
    this.lastSavedStep = st.step;
  }

  /** data.embedResample: SMOTE / Tomek links on the pooled training embeddings, the classifier retrained on them (embed_resample.ts). */
  private async embedResample(): Promise<EmbedResampleReport | null> {
    const { c, model, data, schedule, progress } = this.s;
    return embedResampleStage(this.backend, {
      method: c.data.embedResample, factory: this.opts.backend, config: model.config, heads: model.heads, store: model.store, lora: model.lora,
      collator: data.collator, trainEx: data.trainEx, labels: model.labels, costlyClass: c.task.costlyClass, ratio: c.data.resampleRatio,
      smoteK: c.data.smoteK, steps: c.data.embedHeadSteps, lr: c.data.embedHeadLr, seed: c.seeds.data, batchSize: schedule.B, maxLength: c.data.maxLength,
      log: (l) => progress.line(l),
    });
  }

  /** Final dev / test metrics, metrics.json and the closing log line. */
  private async finish(embedResample: EmbedResampleReport | null = null): Promise<TrainResult> {
    const { command, c, task, progress, model, data, schedule } = this.s;
    const st = this.state;
    // MLM: the final held-out scores also say what share of the text is [UNK] (never scored).
    const unkShare = task === 'mlm';
    const devR = data.devEx.length ? await this.evaluateFull(data.devEx, { unkShare }) : null;
    const testR = data.testEx.length ? await this.evaluateFull(data.testEx) : null;
    // A costly class: the final decision rule (threshold chosen on dev, or minimum expected cost).
    const fin = this.s.costly ? finalCostlyMetrics(this.s.costly, devR?.scored ?? null, testR?.scored ?? null) : null;
    const dev = fin?.dev ? { ...devR!.metrics, ...fin.dev } : devR?.metrics ?? null;
    const test = fin?.test ? { ...testR!.metrics, ...fin.test } : testR?.metrics ?? null;
    const devGeneral = data.generalDevEx.length ? (await this.evaluateFull(data.generalDevEx, { unkShare })).metrics : null;
    const lossHistory = st.history.filter((h) => h.loss !== undefined);
    const metrics = {
      command,
      ...(this.opts.scoreOnly ? { scoreOnly: true } : {}),
      task,
      strategy: this.plan.strategy,
      dataset: c.data.dataset ?? c.data.train,
      // A dataset directory: the sha256 of every file read and the dev-carving rule, if any.
      datasetFiles: c.data.dataset ? sourceFiles(c.data.dataset) : null,
      seeds: c.seeds,
      steps: st.step,
      totalSteps: schedule.totalSteps,
      stoppedEarly: this.stoppedEarly,
      trainableParams: this.plan.trainableElements,
      totalParams: this.plan.totalElements,
      trainLossFirst: lossHistory[0]?.loss ?? null,
      trainLossLast: lossHistory[lossHistory.length - 1]?.loss ?? null,
      dev,
      test,
      devGeneral,
      main_score: (test ?? dev)?.main_score ?? null,
      mainMetric: this.s.costly ? 'expected_cost' : undefined,
      costly: fin?.details ?? null,
      embedResample,
      majorityBaseline: task === 'seq_cls' ? { dev: majorityBaseline(data.devEx), test: majorityBaseline(data.testEx) } : null,
      tokens: st.tokens,
      wallTimeS: this.elapsed(),
      tokensPerSecond: st.tokens / Math.max(1e-3, this.elapsed()),
      device: this.backend.device,
      labels: model.labels,
      vocabSize: model.tok.vocabSize,
      tokenizer: data.fertility,
      augmentedRows: data.augmentedRows,
      modelConfig: model.config,
      history: st.history,
      setupS: (this.t0 - this.started) / 1000,
    };
    // Per-example test predictions beside the metrics (before metrics.json, which marks the phase finished),
    // so a leaderboard can pair two strategies example by example.
    const lines = testR ? testPredictionLines(task, model.labels, data.testEx, testR, fin?.testDecisions ?? null) : null;
    if (lines) writeFileAtomic(join(this.runDir.dir, TEST_PREDICTIONS_FILE), lines);
    this.runDir.writeMetrics(metrics);
    const devScore = dev ? `dev main_score ${dev.main_score?.toFixed(4)}` : '';
    const testScore = test ? `, test main_score ${test.main_score?.toFixed(4)}` : '';
    progress.line(`done: ${st.step} steps in ${this.elapsed().toFixed(1)} s; ${devScore}${testScore}; run directory ${this.runDir.dir}`);
    return { runDir: this.runDir.dir, steps: st.step, metrics, store: model.store, plan: this.plan };
  }
}
