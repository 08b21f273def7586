export * from './config.js';
export * from './heads.js';
export * from './params.js';
export * from './batch.js';
export * from './reference.js';
