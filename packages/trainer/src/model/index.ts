export * from './config.js';
export * from './heads.js';
export * from './params.js';
export * from './batch.js';
export * from './reference.js';
export * from './bert.js';
export * from './head_kernels.js';
export * from './lora.js';
