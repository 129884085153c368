// Noise's frame decoder without an Error per received chunk. @libp2p/utils' LengthPrefixedDecoder
// (noise 17 splits its 2-byte-length-prefixed ciphertext frames with it) reads frames until its
// length decoder throws a RangeError for "too few bytes", and noise's decoder constructs a new one
// each time: every chunk that ends on a frame boundary, nearly all of them, pays for an Error
// with its stack trace (3–4 % of a member's busy time under load in our profiles).
//
// The package exports the class but no option for this, so `decode` is replaced on its prototype,
// once, when the transport module loads: before the package's own loop runs, the instance's
// length decoder is wrapped to throw one preallocated RangeError when the buffer is empty. The
// loop, its bounds and its errors stay the package's; a partial length prefix still reaches the
// original decoder. `applied` lets a test prove the override is in force.
import { LengthPrefixedDecoder } from '@libp2p/utils';

type LengthDecoder = (data: { readonly byteLength: number }) => number;

/** The fields of LengthPrefixedDecoder the override touches (public in its types, not documented). */
interface DecoderFields {
  buffer: { readonly byteLength: number };
  lengthDecoder: LengthDecoder;
}

/** Thrown instead of a fresh RangeError: the package's loop only tests `instanceof RangeError`. */
const EMPTY_BUFFER = new RangeError('no bytes to decode a length from');
const WRAPPED = Symbol('byzpaxos.emptyBufferChecked');

const proto = LengthPrefixedDecoder.prototype as unknown as { decode: (buf: unknown) => Generator<unknown> };
const original = proto.decode;

function decode(this: DecoderFields & { [WRAPPED]?: true }, buf: unknown): Generator<unknown> {
  if (this[WRAPPED] !== true) {
    const inner = this.lengthDecoder;
    this.lengthDecoder = (data) => {
      if (data.byteLength === 0) throw EMPTY_BUFFER;
      return inner(data);
    };
    this[WRAPPED] = true;
  }
  return original.call(this, buf);
}

proto.decode = decode as (buf: unknown) => Generator<unknown>;

export const applied = proto.decode === decode;
