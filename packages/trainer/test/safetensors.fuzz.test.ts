// Fuzz of the safetensors reader: random bytes, truncations and header edits of a valid file
// either decode to exactly the tensors written or fail with an error naming the file — never a
// stack trace from deep inside, a hang, or a silently wrong value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeSafetensors, encodeSafetensors } from '../src/checkpoint/safetensors.js';

const SRC = '/some/dir/model.safetensors';

function decodeOrMessage(bytes: Uint8Array): ReturnType<typeof decodeSafetensors> | string {
  try {
    return decodeSafetensors(bytes, SRC);
  } catch (e) {
    assert.ok(e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError), `a raw ${(e as Error).name}: ${(e as Error).message}`);
    assert.ok(e.message.startsWith(`${SRC}: `), e.message);
    return e.message;
  }
}

const tensors = fc.dictionary(fc.stringMatching(/^[a-z][a-z.0-9]{0,12}$/),
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }).chain((shape) =>
    fc.float32Array({ minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) }).map((data) => ({ shape, data }))),
  { minKeys: 1, maxKeys: 4 });

test('a valid file round-trips exactly', () => {
  fc.assert(fc.property(tensors, (t) => {
    const dec = decodeOrMessage(encodeSafetensors(t));
    assert.ok(typeof dec !== 'string', String(dec));
    for (const [k, v] of Object.entries(t)) {
      assert.deepEqual(dec.tensors.get(k)!.shape, v.shape);
      assert.deepEqual(new Uint8Array((dec.tensors.get(k)!.data as Float32Array).buffer), new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
    }
  }), { numRuns: 200 });
});

test('random bytes and truncations fail with the file named', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => { decodeOrMessage(b); }), { numRuns: 500 });
  fc.assert(fc.property(tensors, fc.nat(), (t, cut) => {
    const bytes = encodeSafetensors(t);
    const n = cut % bytes.length; // strictly shorter than the file
    const r = decodeOrMessage(bytes.subarray(0, n));
    assert.equal(typeof r, 'string', 'a truncated file decoded');
  }), { numRuns: 300 });
});

test('header edits either decode consistently or fail with the file named', () => {
  const edit = fc.oneof(
    fc.record({ dtype: fc.constantFrom('F32', 'F16', 'I64', 'BOOL', 'toString', 7, null) }),
    fc.record({ shape: fc.oneof(fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 3 }), fc.constant('x'), fc.constant([1.5])) }),
    fc.record({ __metadata__: fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.dictionary(fc.string(), fc.jsonValue())) }),
    fc.record({ data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -4, max: 80 }), fc.integer({ min: -4, max: 80 })), fc.constant([0]), fc.constant('0,4')) }),
  );
  fc.assert(fc.property(tensors, edit, fc.nat(), (t, e, which) => {
    const bytes = encodeSafetensors(t);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const name = names[which % names.length]!;
    if ('__metadata__' in e) header.__metadata__ = e.__metadata__;
    else if (which % 5 === 0) header[name] = [e];
    else header[name] = { ...header[name], ...e };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + bytes.length - 8 - n);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(bytes.subarray(8 + n), 8 + json.length);
    const r = decodeOrMessage(out);
    if (typeof r !== 'string') {
      // Accepted: every tensor's bytes must lie inside the file and match its dtype and shape.
      for (const [k, v] of r.tensors) {
        const size = { F32: 4, I32: 4, I64: 8, F64: 8, U8: 1, I8: 1 }[v.dtype];
        assert.equal(v.data.length * (v.data as Float32Array).BYTES_PER_ELEMENT, v.shape.reduce((a, b) => a * b, 1) * size, k);
      }
    }
  }), { numRuns: 500 });
});
