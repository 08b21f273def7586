// BERT's vocab.txt: one token per line, the line number (from 0) is the token id, UTF-8, a final
// newline. Reading is strict: an empty line or a duplicate token is an error naming the line,
// because either one silently shifts every later id.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Token ↔ id table. Immutable once built. */
export class Vocab {
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(tokens: readonly string[], source = 'vocabulary') {
    const ids = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (typeof t !== 'string' || t.length === 0) {
        throw new Error(`${source}: token ${i} is empty`);
      }
      if (/[\n\r]/.test(t)) throw new Error(`${source}: token ${i} ${JSON.stringify(t)} contains a line break`);
      const prev = ids.get(t);
      if (prev !== undefined) {
        throw new Error(`${source}: duplicate token ${JSON.stringify(t)} at id ${i} (first at id ${prev})`);
      }
      ids.set(t, i);
    });
    this.tokens = Object.freeze([...tokens]);
    this.ids = ids;
  }

  get size(): number {
    return this.tokens.length;
  }

  id(token: string): number | undefined {
    return this.ids.get(token);
  }

  has(token: string): boolean {
    return this.ids.has(token);
  }

  token(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new Error(`token id ${id} is outside the vocabulary (size ${this.tokens.length})`);
    return t;
  }
}

/**
 * Parse vocab.txt text. `source` names the file in errors. A single trailing newline is allowed
 * (and expected); "\r\n" line ends are accepted. Empty lines and duplicates are errors.
 */
export function parseVocab(text: string, source = 'vocab.txt'): string[] {
  if (text.length === 0) throw new Error(`${source}: the vocabulary file is empty`);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte-order mark
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const seen = new Map<string, number>();
  const tokens: string[] = [];
  lines.forEach((raw, i) => {
    const t = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (t.length === 0) throw new Error(`${source}:${i + 1}: empty line (every line must hold one token; ids are line numbers)`);
    const prev = seen.get(t);
    if (prev !== undefined) {
      throw new Error(`${source}:${i + 1}: duplicate token ${JSON.stringify(t)} (first on line ${prev + 1})`);
    }
    seen.set(t, i);
    tokens.push(t);
  });
  return tokens;
}

export function readVocabFile(path: string): string[] {
  if (!existsSync(path)) throw new Error(`vocabulary file not found: ${path}`);
  return parseVocab(readFileSync(path, 'utf8'), path);
}

export function formatVocab(tokens: readonly string[]): string {
  new Vocab(tokens, 'formatVocab'); // validates: no empty, duplicate or multi-line tokens
  return tokens.join('\n') + '\n';
}

/** Write vocab.txt atomically (temp file, then rename), so a crash never leaves half a file. */
export function writeVocabFile(path: string, tokens: readonly string[]): void {
  const text = formatVocab(tokens);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, 'utf8');
  renameSync(tmp, path);
}
