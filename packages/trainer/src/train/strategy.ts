// Fine-tuning strategies: which parameters train, and at what learning-rate scale.
//
// A strategy is a pure function of the model's parameter list (ParamSpec[], from src/model) and
// its own config. It never looks at values, only at names, layers and modules, so the same plan
// can be printed, tested and saved without a GPU. The optimizer turns a plan into AdamW ranges
// (see ranges.ts); frozen parameters are simply not in any range, so they stay bit-identical.
//
// What counts as the "head": every parameter with module 'head' or 'pooler' (layer L). The
// pooler is trained with the head because our base models are pretrained with MLM only, so the
// pooler is still at its random initialisation (Hugging Face's BertForSequenceClassification
// would load it from an NSP-trained checkpoint; we have none).
//
// Embeddings: `embeddings: 'frozen' | 'trained'` overrides the strategy's own default — trained
// for full, bottom_k, layerwise_lr_decay and (at the last stage) gradual_unfreezing; frozen for
// the others. The MLM decoder is tied to the word embeddings, so freezing the embeddings also
// freezes the decoder matrix (its bias, cls.predictions.bias, is part of the head).
//
// Sub-layer strategies (ffn_only, attention_only) train the linear weights and biases of that
// sub-layer (modules 'ffn', or 'attention' + 'attention_output') in every layer, plus the head.
// LayerNorms stay frozen in both: they are shared normalisation, not part of the sub-layer's
// parameters in the papers these strategies come from.

/** The part of src/model's ParamSpec a strategy reads (structural: ParamSpec satisfies it). */
export interface ParamInfo {
  name: string;
  shape: number[];
  /** -1 embeddings, 0..L-1 encoder layers, L heads (and pooler). */
  layer: number;
  module: 'embeddings' | 'attention' | 'attention_output' | 'ffn' | 'layernorm' | 'pooler' | 'head' | 'lora';
  noDecay: boolean;
}

export const STRATEGY_NAMES = [
  'full',
  'head_only',
  'top_k',
  'bottom_k',
  'ffn_only',
  'attention_only',
  'lora',
  'gradual_unfreezing',
  'layerwise_lr_decay',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface StrategyConfig {
  name: StrategyName;
  /** Layers for top_k / bottom_k (0..L). */
  k?: number;
  /** Override the strategy's default for the embedding parameters. */
  embeddings?: 'default' | 'frozen' | 'trained';
  /**
   * Layer-wise learning-rate decay factor in (0, 1]: lrScale = decay^(L − layer), head (layer L)
   * at 1, embeddings (layer −1) at decay^(L+1). Required meaning for layerwise_lr_decay (default
   * 0.9 there); optional on every other strategy (then applied to whatever trains).
   */
  lrDecay?: number;
  /** gradual_unfreezing: unfreeze one more layer every `unfreezeEvery` units (default 1). */
  unfreezeEvery?: number;
  /** gradual_unfreezing: the unit of the schedule (default 'epoch'). */
  unfreezeUnit?: 'epoch' | 'step';
  /**
   * Two-stage freezing (vocabulary extension, Q140): from step ceil(unfreezeAllAt · totalSteps)
   * on, every parameter trains (the embeddings unless they are frozen explicitly); before it, the
   * strategy's own plan. 0 (default) = never. Not for lora.
   */
  unfreezeAllAt?: number;
}

/** Training progress, for strategies that change over time (gradual unfreezing). */
export interface TrainingProgress {
  epoch: number;
  step: number;
  /** The run's optimizer steps (needed by unfreezeAllAt). */
  totalSteps?: number;
}

export interface ParamPlan {
  name: string;
  trainable: boolean;
  /** Multiplies the scheduled learning rate (1 unless layer-wise decay applies). */
  lrScale: number;
  /** Whether AdamW's decoupled weight decay applies (false for biases and LayerNorms). */
  decay: boolean;
  elements: number;
}

export interface StrategyPlan {
  strategy: StrategyName;
  params: ParamPlan[];
  /** Names of the trainable parameters, in store order. */
  trainable: string[];
  trainableElements: number;
  totalElements: number;
}

export class StrategyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrategyError';
  }
}

function numLayersOf(specs: readonly ParamInfo[]): number {
  // Heads sit at layer L; encoder layers are 0..L-1.
  let maxEncoder = -1;
  let headLayer = -1;
  for (const s of specs) {
    if (s.module === 'head' || s.module === 'pooler') headLayer = Math.max(headLayer, s.layer);
    else if (s.layer >= 0) maxEncoder = Math.max(maxEncoder, s.layer);
  }
  if (headLayer >= 0) return headLayer;
  return maxEncoder + 1;
}

const isHead = (s: ParamInfo) => s.module === 'head' || s.module === 'pooler';
const isEmbedding = (s: ParamInfo) => s.layer === -1 || s.module === 'embeddings';
const elementsOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Throws a StrategyError naming the bad field; returns the config with defaults filled in. */
export function validateStrategy(cfg: StrategyConfig, numLayers: number): Required<StrategyConfig> {
  if (!cfg || typeof cfg !== 'object') throw new StrategyError('strategy: expected an object with a "name"');
  if (!(STRATEGY_NAMES as readonly string[]).includes(cfg.name)) {
    throw new StrategyError(
      `unknown strategy '${String(cfg.name)}'; valid strategies: ${STRATEGY_NAMES.join(', ')}`,
    );
  }
  const needsK = cfg.name === 'top_k' || cfg.name === 'bottom_k';
  if (needsK) {
    if (cfg.k === undefined) throw new StrategyError(`strategy '${cfg.name}' needs k (number of layers, 0..${numLayers})`);
    if (!Number.isInteger(cfg.k) || cfg.k < 0 || cfg.k > numLayers) {
      throw new StrategyError(`strategy.k=${cfg.k} must be an integer in 0..${numLayers} (the model has ${numLayers} layers)`);
    }
  } else if (cfg.k !== undefined) {
    throw new StrategyError(`strategy.k only applies to top_k and bottom_k, not '${cfg.name}'`);
  }
  const lrDecay = cfg.lrDecay ?? (cfg.name === 'layerwise_lr_decay' ? 0.9 : 1);
  if (!(lrDecay > 0 && lrDecay <= 1)) throw new StrategyError(`strategy.lrDecay=${cfg.lrDecay} must be in (0, 1]`);
  const every = cfg.unfreezeEvery ?? 1;
  if (!Number.isInteger(every) || every < 1) {
    throw new StrategyError(`strategy.unfreezeEvery=${cfg.unfreezeEvery} must be a positive integer`);
  }
  const unit = cfg.unfreezeUnit ?? 'epoch';
  if (unit !== 'epoch' && unit !== 'step') throw new StrategyError(`strategy.unfreezeUnit='${unit}' must be 'epoch' or 'step'`);
  const emb = cfg.embeddings ?? 'default';
  if (emb !== 'default' && emb !== 'frozen' && emb !== 'trained') {
    throw new StrategyError(`strategy.embeddings='${emb}' must be 'default', 'frozen' or 'trained'`);
  }
  const allAt = cfg.unfreezeAllAt ?? 0;
  if (!(allAt >= 0 && allAt <= 1)) throw new StrategyError(`strategy.unfreezeAllAt=${cfg.unfreezeAllAt} must be in [0, 1]`);
  if (allAt > 0 && cfg.name === 'lora') throw new StrategyError("strategy.unfreezeAllAt does not apply to 'lora' (the base weights are not parameters of the run)");
  return { name: cfg.name, k: cfg.k ?? 0, embeddings: emb, lrDecay, unfreezeEvery: every, unfreezeUnit: unit, unfreezeAllAt: allAt };
}

/** True when the plan changes while training (the loop re-plans every step). */
export function changesOverTime(cfg: StrategyConfig): boolean {
  return cfg.name === 'gradual_unfreezing' || (cfg.unfreezeAllAt ?? 0) > 0;
}

/** Two-stage freezing: has the run reached its second stage (everything trains)? */
export function inSecondStage(cfg: Required<StrategyConfig>, progress: TrainingProgress): boolean {
  if (!(cfg.unfreezeAllAt > 0)) return false;
  if (progress.totalSteps === undefined) throw new StrategyError('strategy.unfreezeAllAt needs the run\'s total steps in the training progress');
  return progress.step >= Math.ceil(cfg.unfreezeAllAt * progress.totalSteps);
}

/**
 * Layers unfrozen by gradual unfreezing at `progress` (ULMFiT, top-down): stage s =
 * floor(unit / every); stage 0 trains the head only, stage s adds the top s encoder layers, and
 * the stage after the bottom layer adds the embeddings (unless they are frozen).
 */
export function unfrozenStage(cfg: Required<StrategyConfig>, progress: TrainingProgress): number {
  const t = cfg.unfreezeUnit === 'epoch' ? progress.epoch : progress.step;
  return Math.floor(Math.max(0, t) / cfg.unfreezeEvery);
}

/**
 * The plan for `specs` under `cfg` at `progress` (only gradual_unfreezing depends on it).
 * Pure: same inputs, same plan.
 */
export function planStrategy(
  specs: readonly ParamInfo[],
  cfg: StrategyConfig,
  progress: TrainingProgress = { epoch: 0, step: 0 },
): StrategyPlan {
  if (specs.length === 0) throw new StrategyError('planStrategy: the model has no parameters');
  const L = numLayersOf(specs);
  const c = validateStrategy(cfg, L);
  const hasLora = specs.some((s) => s.module === 'lora');
  if (c.name === 'lora' && !hasLora) {
    throw new StrategyError("strategy 'lora' needs a model built with a LoRA config (no lora_A / lora_B parameters found)");
  }
  if (c.name !== 'lora' && hasLora) {
    throw new StrategyError(`the model has LoRA adapters but the strategy is '${c.name}'; use strategy 'lora' (or build the model without LoRA)`);
  }

  const embDefault = c.name === 'full' || c.name === 'bottom_k' || c.name === 'layerwise_lr_decay' || c.name === 'gradual_unfreezing';
  const embTrain = c.embeddings === 'default' ? embDefault : c.embeddings === 'trained';
  const stage = c.name === 'gradual_unfreezing' ? unfrozenStage(c, progress) : 0;
  const allTrain = inSecondStage(c, progress);

  const trains = (s: ParamInfo): boolean => {
    if (isHead(s)) return true; // every strategy trains the task head
    if (allTrain) return isEmbedding(s) ? c.embeddings !== 'frozen' : s.module !== 'lora';
    if (isEmbedding(s)) {
      if (c.name === 'gradual_unfreezing') return embTrain && stage > L;
      return embTrain;
    }
    switch (c.name) {
      case 'full':
      case 'layerwise_lr_decay':
        return s.module !== 'lora';
      case 'head_only':
        return false;
      case 'top_k':
        return s.layer >= L - c.k;
      case 'bottom_k':
        return s.layer < c.k;
      case 'ffn_only':
        return s.module === 'ffn';
      case 'attention_only':
        return s.module === 'attention' || s.module === 'attention_output';
      case 'lora':
        return s.module === 'lora';
      case 'gradual_unfreezing':
        return s.layer >= L - stage;
    }
  };

  const params: ParamPlan[] = specs.map((s) => {
    const trainable = trains(s);
    const layer = Math.min(Math.max(s.layer, -1), L);
    return {
      name: s.name,
      trainable,
      lrScale: trainable ? c.lrDecay ** (L - layer) : 0,
      decay: !s.noDecay,
      elements: elementsOf(s.shape),
    };
  });
  const trainable = params.filter((p) => p.trainable).map((p) => p.name);
  return {
    strategy: c.name,
    params,
    trainable,
    trainableElements: params.reduce((a, p) => a + (p.trainable ? p.elements : 0), 0),
    totalElements: params.reduce((a, p) => a + p.elements, 0),
  };
}

/**
 * The lowest encoder layer whose parameters train under `plan` (L when only the head trains,
 * −1 when the embeddings train). Everything below it is a frozen prefix: its output can be
 * computed once and cached when the data repeat (head-only training must not rerun the encoder
 * every epoch), and it runs in eval mode (no dropout).
 */
export function firstTrainableLayer(specs: readonly ParamInfo[], plan: StrategyPlan): number {
  const L = numLayersOf(specs);
  const trainable = new Set(plan.trainable);
  let lowest = L;
  for (const s of specs) {
    if (!trainable.has(s.name) || isHead(s)) continue;
    lowest = Math.min(lowest, s.module === 'lora' ? s.layer : Math.max(s.layer, -1));
  }
  return lowest;
}
