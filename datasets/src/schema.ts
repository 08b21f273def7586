// JSON schemas for the four row kinds, and the checks a schema cannot express (BIO order,
// tokens/tags length). Every row of every file goes through validateRow before use.
import { Ajv, type ValidateFunction } from 'ajv';
import { NER_TAGS } from './registry.js';

export type RowKind = 'classification' | 'ner' | 'pairs' | 'corpus';
export interface ClassificationRow { id: string; text: string; label: string }
export interface NerRow { id: string; tokens: string[]; tags: string[] }
export interface PairRow { id: string; en: string; zh: string }
export interface CorpusRow { id: string; text: string }
export interface RowOf { classification: ClassificationRow; ner: NerRow; pairs: PairRow; corpus: CorpusRow }
export const ROW_KINDS: readonly RowKind[] = ['classification', 'ner', 'pairs', 'corpus'];

const id = { type: 'string', minLength: 1, maxLength: 120, pattern: '^[\x21-\x7e]+$' }; // printable ASCII, no spaces
const nonEmpty = { type: 'string', minLength: 1, pattern: '\\S' };

export const SCHEMAS: Record<RowKind, object> = {
  classification: {
    $id: 'tunebench/classification-row', type: 'object', additionalProperties: false,
    required: ['id', 'text', 'label'],
    properties: { id, text: nonEmpty, label: nonEmpty },
  },
  ner: {
    $id: 'tunebench/ner-row', type: 'object', additionalProperties: false,
    required: ['id', 'tokens', 'tags'],
    properties: {
      id,
      tokens: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, pattern: '^\\S+$' } },
      tags: { type: 'array', minItems: 1, items: { enum: [...NER_TAGS] } },
    },
  },
  pairs: {
    $id: 'tunebench/pair-row', type: 'object', additionalProperties: false,
    required: ['id', 'en', 'zh'],
    properties: { id, en: nonEmpty, zh: nonEmpty },
  },
  corpus: {
    $id: 'tunebench/corpus-row', type: 'object', additionalProperties: false,
    required: ['id', 'text'],
    properties: { id, text: nonEmpty },
  },
};

const ajv = new Ajv({ allErrors: true, strict: true });
const validators = new Map<string, ValidateFunction>();
/** The label field of each kind: optional in unlabelled rows (text to predict on). */
const LABEL_FIELD: Partial<Record<RowKind, string>> = { classification: 'label', ner: 'tags' };
function validator(kind: RowKind, unlabelled = false): ValidateFunction {
  const key = `${kind}${unlabelled ? '/unlabelled' : ''}`;
  let v = validators.get(key);
  if (!v) {
    if (!Object.hasOwn(SCHEMAS, kind)) throw new Error(`unknown row kind ${JSON.stringify(kind)} (expected ${ROW_KINDS.join(', ')})`);
    const schema = SCHEMAS[kind] as { $id: string; required: string[] };
    v = ajv.compile(unlabelled
      ? { ...schema, $id: `${schema.$id}-unlabelled`, required: schema.required.filter((f) => f !== LABEL_FIELD[kind]) }
      : schema);
    validators.set(key, v);
  }
  return v;
}

/** Returns null when `row` is a valid row of `kind`, else one readable sentence saying what is
 * wrong (field named). `labels`, when given, is the closed label set of a classification file. */
export function rowProblem(row: unknown, kind: RowKind, labels?: readonly string[], unlabelled = false): string | null {
  const v = validator(kind, unlabelled);
  if (!v(row)) {
    const e = v.errors![0]!;
    const field = e.instancePath ? `field ${e.instancePath.slice(1).replace(/\//g, '.')}` : 'row';
    if (e.keyword === 'additionalProperties') {
      return `unexpected field ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)} in a ${kind} row`;
    }
    if (e.keyword === 'required') {
      return `missing field ${JSON.stringify((e.params as { missingProperty: string }).missingProperty)} in a ${kind} row`;
    }
    if (e.keyword === 'enum') return `${field} must be one of ${NER_TAGS.join(', ')} (got ${JSON.stringify(valueAt(row, e.instancePath))})`;
    return `${field} ${e.message ?? 'is invalid'} (got ${JSON.stringify(valueAt(row, e.instancePath))?.slice(0, 60)})`;
  }
  if (kind === 'ner' && (row as NerRow).tags !== undefined) {
    const r = row as NerRow;
    if (r.tokens.length !== r.tags.length) return `tokens has ${r.tokens.length} items but tags has ${r.tags.length}`;
    for (let i = 0; i < r.tags.length; i++) {
      const t = r.tags[i]!;
      if (t.startsWith('I-')) {
        const prev = i > 0 ? r.tags[i - 1]! : 'O';
        if (prev === 'O' || prev.slice(2) !== t.slice(2)) return `tags.${i} is ${t} but follows ${prev} (BIO: I-X must follow B-X or I-X)`;
      }
    }
  }
  const label = (row as ClassificationRow).label;
  if (kind === 'classification' && labels && label !== undefined && !labels.includes(label)) {
    return `field label ${JSON.stringify((row as ClassificationRow).label)} is not one of ${labels.join(', ')}`;
  }
  return null;
}

function valueAt(row: unknown, pointer: string): unknown {
  let v: unknown = row;
  for (const part of pointer.split('/').slice(1)) v = (v as Record<string, unknown>)?.[part];
  return v;
}
