export * from './cli.js';
export * from './record.js';
export * from './plan.js';
export * from './runner.js';
export * from './leaderboard.js';
export * from './merge.js';
export * from './report/index.js';
export * from './suites/index.js';
