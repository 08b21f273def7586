export {};
export * from './model/index.js';
