export * from './basic.js';
export * from './vocab.js';
export * from './wordpiece.js';
export * from './tokenizer.js';
export * from './train.js';
export * from './extend.js';
export * from './embeddings.js';
export * from './fertility.js';
