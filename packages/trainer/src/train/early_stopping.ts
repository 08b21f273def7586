// Early stopping on a dev metric (as transformers' EarlyStoppingCallback): stop after
// `patience` evaluations in a row without an improvement larger than `minDelta`.
// The state is plain JSON so a resumed run continues the same count.

export interface EarlyStoppingConfig {
  /** Evaluations without improvement before stopping (≥ 1). */
  patience: number;
  /** 'max' for accuracy / F1, 'min' for loss. */
  mode: 'max' | 'min';
  /** An improvement must exceed this (absolute) to reset the count. */
  minDelta?: number;
}

export interface EarlyStoppingState {
  best: number | null;
  bestStep: number | null;
  badEvals: number;
  stopped: boolean;
}

export class EarlyStopping {
  state: EarlyStoppingState = { best: null, bestStep: null, badEvals: 0, stopped: false };

  constructor(readonly config: EarlyStoppingConfig) {
    if (!Number.isInteger(config.patience) || config.patience < 1) {
      throw new Error(`earlyStopping.patience=${config.patience} must be an integer ≥ 1`);
    }
    if (config.mode !== 'max' && config.mode !== 'min') throw new Error(`earlyStopping.mode='${config.mode}' must be 'max' or 'min'`);
    if (config.minDelta !== undefined && !(config.minDelta >= 0)) throw new Error(`earlyStopping.minDelta=${config.minDelta} must be ≥ 0`);
  }

  /** Record one evaluation; returns whether it is a new best and whether to stop now. */
  update(value: number, step: number): { improved: boolean; stop: boolean } {
    if (!Number.isFinite(value)) {
      // A NaN metric never improves (a diverged run should stop, not be kept as best).
      this.state.badEvals++;
    } else {
      const d = this.config.minDelta ?? 0;
      const best = this.state.best;
      const improved = best === null || (this.config.mode === 'max' ? value > best + d : value < best - d);
      if (improved) {
        this.state = { best: value, bestStep: step, badEvals: 0, stopped: false };
        return { improved: true, stop: false };
      }
      this.state.badEvals++;
    }
    if (this.state.badEvals >= this.config.patience) this.state.stopped = true;
    return { improved: false, stop: this.state.stopped };
  }

  restore(state: EarlyStoppingState): void {
    this.state = { ...state };
  }
}
