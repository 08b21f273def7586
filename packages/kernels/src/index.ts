export * from './runtime.js';
export * from './check.js';
export * from './matmul.js';
export * from './testing.js';
export * from './doctor.js';
