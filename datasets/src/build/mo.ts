// A small reader for GNU gettext .mo catalogues (binary message catalogues).
// Layout (gettext manual, "The Format of GNU MO Files"): magic 0x950412de in the file's byte
// order; revision; N strings; offset O of the original-string table; offset T of the
// translation table; each table has N (length, offset) pairs of uint32. msgid may carry a
// context ("ctx\x04id") and a plural ("singular\0plural"); msgstr plurals are NUL-separated.

export interface MoEntry {
  context: string | null;
  msgid: string;
  msgidPlural: string | null;
  /** msgstr forms; one unless the entry has plurals. */
  msgstr: string[];
}

const MAGIC = 0x950412de;

export function readMo(buf: Uint8Array, name = '<mo>'): MoEntry[] {
  if (buf.byteLength < 28) throw new Error(`${name}: too short for a .mo file (${buf.byteLength} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let little: boolean;
  if (view.getUint32(0, true) === MAGIC) little = true;
  else if (view.getUint32(0, false) === MAGIC) little = false;
  else throw new Error(`${name}: not a .mo file (magic 0x${view.getUint32(0, true).toString(16)})`);
  const u32 = (off: number): number => view.getUint32(off, little);
  const revision = u32(4);
  if (revision >> 16 > 1) throw new Error(`${name}: unsupported .mo major revision ${revision >> 16}`);
  const n = u32(8);
  const origTable = u32(12);
  const transTable = u32(16);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const str = (table: number, i: number): string => {
    const len = u32(table + 8 * i);
    const off = u32(table + 8 * i + 4);
    if (off + len > buf.byteLength) throw new Error(`${name}: string ${i} runs past the end of the file`);
    return decoder.decode(buf.subarray(off, off + len));
  };
  const out: MoEntry[] = [];
  for (let i = 0; i < n; i++) {
    let id = str(origTable, i);
    let context: string | null = null;
    const eot = id.indexOf('\x04');
    if (eot >= 0) {
      context = id.slice(0, eot);
      id = id.slice(eot + 1);
    }
    const [msgid, plural] = id.split('\0');
    out.push({ context, msgid: msgid!, msgidPlural: plural ?? null, msgstr: str(transTable, i).split('\0') });
  }
  return out;
}

/** Writes a .mo file (little-endian, no hash table) — used by the tests to check readMo. */
export function writeMo(entries: { msgid: string; msgstr: string }[]): Uint8Array {
  const enc = new TextEncoder();
  const sorted = [...entries].sort((a, b) => (a.msgid < b.msgid ? -1 : a.msgid > b.msgid ? 1 : 0));
  const ids = sorted.map((e) => enc.encode(e.msgid));
  const strs = sorted.map((e) => enc.encode(e.msgstr));
  const n = sorted.length;
  const O = 28;
  const T = O + 8 * n;
  let data = T + 8 * n;
  const total = data + [...ids, ...strs].reduce((s, b) => s + b.length + 1, 0);
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, 0, true);
  view.setUint32(8, n, true);
  view.setUint32(12, O, true);
  view.setUint32(16, T, true);
  const put = (table: number, i: number, bytes: Uint8Array): void => {
    view.setUint32(table + 8 * i, bytes.length, true);
    view.setUint32(table + 8 * i + 4, data, true);
    buf.set(bytes, data);
    data += bytes.length + 1; // NUL terminator
  };
  ids.forEach((b, i) => put(O, i, b));
  strs.forEach((b, i) => put(T, i, b));
  return buf;
}
