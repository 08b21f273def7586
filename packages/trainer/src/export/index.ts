// Deployable artifacts: ONNX export (onnx.ts) and ONNX Runtime on it (ort.ts). Imported as
// '@tunebench/trainer/export' so that only its users load onnxruntime-node's native library.
export * from './onnx.js';
export * from './ort.js';
