// The dataset card (dataset.json / dataset.yaml) of a dataset directory, and of every shipped
// dataset (datasets/<name>/dataset.json: the registry reads them, registry.ts). No imports of the
// loader, so the registry can use it.

export type DirTaskKind = 'seq_cls' | 'token_cls' | 'pairs' | 'corpus';
export const DIR_KINDS: readonly DirTaskKind[] = ['seq_cls', 'token_cls', 'pairs', 'corpus'];

export const CARD_SCHEMA = {
  $id: 'tunebench/dataset-card',
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
    kind: { enum: [...DIR_KINDS] },
    fields: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(['id', 'text', 'text_pair', 'label', 'tokens', 'tags'].map((f) => [f, { type: 'string', minLength: 1 }])),
    },
    labels: { type: 'array', minItems: 2, uniqueItems: true, items: { type: 'string', minLength: 1 } },
    costlyClass: { type: 'string', minLength: 1 },
    language: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    devFraction: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    devSeed: { type: 'integer', minimum: 0 },
    // Shipped datasets only (read by the registry; a directory of your own does not need them).
    corpusFrom: { type: 'string', pattern: '^(train|dev|test)\\.jsonl$', description: 'shipped: the corpus is this split file\'s text (not stored twice)' },
    onDemand: {
      type: 'object', additionalProperties: false, required: ['build'], properties: { build: { type: 'string', minLength: 1 } },
      description: 'shipped: built on demand by this command, not committed',
    },
  },
};
