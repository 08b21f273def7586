export * from './strategy.js';
export * from './ranges.js';
export * from './schedule.js';
export * from './early_stopping.js';
export * from './rng.js';
export * from './sampler.js';
export * from './ewc.js';
export * from './optimizer.js';
