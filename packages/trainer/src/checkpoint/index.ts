export * from './safetensors.js';
export * from './atomic.js';
export * from './checkpoint.js';
export * from './config_json.js';
export * from './hf_import.js';
