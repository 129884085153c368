import { describe, expect, it } from 'vitest';
import { encodeFrames, FrameDecoder, varintBytes, writeVarint } from '../../src/transport/frames.ts';

function decodeAll(decoder: FrameDecoder, chunks: readonly Uint8Array[]): { frames: number[][]; error: string | undefined } {
  const frames: number[][] = [];
  for (const chunk of chunks) {
    const error = decoder.push(chunk, (frame) => frames.push([...frame]));
    if (error !== undefined) return { frames, error };
  }
  return { frames, error: decoder.end() };
}

describe('frames', () => {
  it('varints are minimal LEB128', () => {
    const cases: Array<[number, number[]]> = [
      [0, [0x00]],
      [1, [0x01]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [300, [0xac, 0x02]],
      [16_384, [0x80, 0x80, 0x01]],
    ];
    for (const [value, encoded] of cases) {
      const out = new Uint8Array(varintBytes(value));
      expect(writeVarint(out, 0, value)).toBe(encoded.length);
      expect([...out]).toEqual(encoded);
    }
  });

  it('many messages in one chunk come out one by one, split at any byte', () => {
    const messages = [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(200).fill(7), new Uint8Array(130).fill(9)];
    const wire = encodeFrames(messages);
    const expected = messages.map((m) => [...m]);
    expect(decodeAll(new FrameDecoder(1024), [wire])).toEqual({ frames: expected, error: undefined });
    for (let cut = 0; cut <= wire.length; cut += 1) {
      const result = decodeAll(new FrameDecoder(1024), [wire.subarray(0, cut), wire.subarray(cut)]);
      expect(result).toEqual({ frames: expected, error: undefined });
    }
    const byteByByte = [...wire].map((b) => new Uint8Array([b]));
    expect(decodeAll(new FrameDecoder(1024), byteByByte)).toEqual({ frames: expected, error: undefined });
  });

  it('a frame of exactly the maximum passes; one byte more is oversize before any body is read', () => {
    expect(decodeAll(new FrameDecoder(300), [encodeFrames([new Uint8Array(300)])]).error).toBeUndefined();
    const decoder = new FrameDecoder(300);
    expect(decoder.push(new Uint8Array([0xad, 0x02]), () => {})).toBe('oversize'); // 301
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.push(new Uint8Array([0x01, 0x00]), () => {})).toBe('oversize'); // stays failed
  });

  it('a huge prefix is oversize as soon as its value passes the maximum', () => {
    expect(new FrameDecoder(4 << 20).push(new Uint8Array([0xff, 0xff, 0xff, 0xff]), () => {})).toBe('oversize');
  });

  it('non-minimal and overlong prefixes are malformed', () => {
    expect(new FrameDecoder(1024).push(new Uint8Array([0x81, 0x00]), () => {})).toBe('malformed-prefix');
    expect(new FrameDecoder(1024).push(new Uint8Array([0x80, 0x80, 0x80]), () => {})).toBe('malformed-prefix');
  });

  it('an end in the middle of a prefix or a body is truncated; frames before it were delivered', () => {
    const wire = encodeFrames([new Uint8Array([1, 2]), new Uint8Array(200)]);
    expect(decodeAll(new FrameDecoder(1024), [wire.subarray(0, wire.length - 1)])).toEqual({
      frames: [[1, 2]],
      error: 'truncated',
    });
    expect(decodeAll(new FrameDecoder(1024), [wire.subarray(0, 4)]).error).toBe('truncated'); // mid prefix
    expect(decodeAll(new FrameDecoder(1024), [wire.subarray(0, 3)]).error).toBeUndefined(); // clean boundary
  });

  it('never holds more than one partial frame', () => {
    const decoder = new FrameDecoder(1000);
    const wire = encodeFrames([new Uint8Array(1000), new Uint8Array(1000)]);
    let maxBuffered = 0;
    for (const b of wire) {
      decoder.push(new Uint8Array([b]), () => {});
      maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
    }
    expect(maxBuffered).toBeLessThanOrEqual(1000 + varintBytes(1000));
  });
});
