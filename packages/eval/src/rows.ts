// Model outputs usually arrive flat (a Float32Array of rows × cols read back from the GPU); the
// metrics take one array per row. toRows makes views, not copies.

export function toRows(flat: Float32Array | Float64Array, cols: number): Array<Float32Array | Float64Array> {
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`toRows: 'cols' = ${String(cols)} must be a positive integer`);
  if (flat.length % cols !== 0) throw new Error(`toRows: 'flat' has ${flat.length} values, not a multiple of cols = ${cols}`);
  const rows: Array<Float32Array | Float64Array> = [];
  for (let o = 0; o < flat.length; o += cols) rows.push(flat.subarray(o, o + cols));
  return rows;
}
