// The noise frame-decoder override (src/transport/noise-decoder.ts): LengthPrefixedDecoder, as the
// transport loads it, splits 2-byte-length-prefixed frames exactly as before, but a chunk that
// ends on a frame boundary no longer constructs a RangeError.
import { describe, expect, it } from 'vitest';
import { LengthPrefixedDecoder } from '@libp2p/utils';
import '../../src/transport/libp2p.ts';
import { applied } from '../../src/transport/noise-decoder.ts';

/** Noise's own length decoder (@chainsafe/libp2p-noise encoder.ts): a fresh RangeError when short. */
let constructed = 0;
function uint16BEDecode(data: Uint8Array | { readonly length: number; getUint16(at: number): number }): number {
  if (data.length < 2) {
    constructed++;
    throw new RangeError('Could not decode int16BE');
  }
  return data instanceof Uint8Array ? (data[0]! << 8) | data[1]! : data.getUint16(0);
}

const noiseDecoder = () => new LengthPrefixedDecoder({ lengthDecoder: uint16BEDecode, encodingLength: () => 2, maxBufferSize: 1 << 20 });
const frame = (...body: number[]) => [body.length >> 8, body.length & 0xff, ...body];
const frames = (decoder: LengthPrefixedDecoder, bytes: number[]) => [...decoder.decode(Uint8Array.from(bytes))].map((b) => [...b.subarray()]);

describe('noise frame decoder', () => {
  it('the transport installs the override', () => {
    expect(applied).toBe(true);
  });

  it('a chunk of whole frames yields them all and constructs no error', () => {
    constructed = 0;
    const d = noiseDecoder();
    expect(frames(d, [...frame(1, 2, 3), ...frame(4)])).toEqual([[1, 2, 3], [4]]);
    expect(frames(d, frame(5, 6))).toEqual([[5, 6]]);
    expect(constructed).toBe(0);
  });

  it('frames split anywhere, even inside the length prefix, come out whole and in order', () => {
    const d = noiseDecoder();
    const bytes = [...frame(9, 8, 7), ...frame(6), ...frame(...Array.from({ length: 300 }, (_, i) => i & 0xff))];
    const out: number[][] = [];
    for (let i = 0; i < bytes.length; i += 2) out.push(...frames(d, bytes.slice(i, i + 2)));
    expect(out.map((f) => f.length)).toEqual([3, 1, 300]);
    expect(out[0]).toEqual([9, 8, 7]);
    // A lone first byte of a length prefix still goes to the package's decoder, which refuses it.
    constructed = 0;
    expect(frames(d, [0])).toEqual([]);
    expect(constructed).toBe(1);
    expect(frames(d, [1, 42])).toEqual([[42]]);
  });

  it("a length beyond the decoder's bound still throws the package's error", () => {
    const d = new LengthPrefixedDecoder({ lengthDecoder: uint16BEDecode, encodingLength: () => 2, maxDataLength: 4 });
    expect(() => frames(d, frame(1, 2, 3, 4, 5))).toThrow(/Invalid message length/);
  });
});
