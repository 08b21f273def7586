export {};
export * from './model/index.js';
export * from './train/index.js';
export * from './checkpoint/index.js';
