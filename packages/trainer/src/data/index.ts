export * from './rng.js';
export * from './pad.js';
export * from './mlm.js';
export * from './chinese.js';
export * from './align.js';
export * from './eda.js';
export * from './samplers.js';
export * from './batches.js';
