export {};
export * from './model/index.js';
export * from './train/index.js';
export * from './checkpoint/index.js';
export * from './tokenizer/index.js';
export * from './data/index.js';
export * from './config/index.js';
export * from './cli/index.js';
