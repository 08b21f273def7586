// Preloaded by run-tests.mjs: every fast-check property in every test file runs from one fixed seed,
// so CI is repeatable. FC_SEED=<n> explores other cases; a failure prints the seed and path to replay.
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261128) });
