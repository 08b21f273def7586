#!/usr/bin/env node
// Entry point of the `tunebench` command: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
register();
const { main } = await import('../packages/bench/src/cli.ts');
try {
  await main(process.argv.slice(2));
} catch (e) {
  // Expected failures (bad input, no adapter) print their message, not a stack trace.
  console.error(`tunebench: ${e instanceof Error ? e.message : String(e)}`);
  if (process.env.TUNEBENCH_DEBUG) console.error(e);
  process.exitCode = 1;
}
