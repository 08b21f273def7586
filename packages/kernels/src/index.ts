export * from './runtime.js';
export * from './check.js';
export * from './matmul.js';
export * from './testing.js';
export * from './doctor.js';
export * from './softmax_cross_entropy.js';
export * from './tune.js';
export * from './gather.js';
