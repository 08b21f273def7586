// A variant's `set: { 'a.b.c': value }` overrides applied to a phase config (fewshot and edge plans).

/** o[a][b][c] = a deep copy of value for key 'a.b.c', creating the objects on the way. */
export function setDotted(o: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === undefined || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = structuredClone(value);
}
