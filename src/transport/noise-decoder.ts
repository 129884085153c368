// Noise's frame decoder without an exception per received chunk. @libp2p/utils' LengthPrefixedDecoder
// (noise 17 splits its 2-byte-length-prefixed ciphertext frames with it) reads frames until its
// length decoder throws a RangeError for "too few bytes", and noise's constructs a new one each
// time: every chunk that ends on a frame boundary, nearly all of them, pays for a throw and an
// Error with its stack trace (2 % of a Byzantine member's samples at C = 64 in our profiles).
//
// The package exports the class but no option for this, so `decode` is replaced on its prototype,
// once, when the transport module loads. It is the package's loop, with the same bounds and the
// same errors, that stops before asking the length decoder about an empty buffer; a partial
// length prefix still reaches the length decoder, which throws as before. `applied` lets a test
// prove the override is in force.
import { InvalidParametersError } from '@libp2p/interface';
import { InvalidMessageLengthError, LengthPrefixedDecoder } from '@libp2p/utils';

/** The parts of a Uint8ArrayList the loop uses. */
interface Buffered {
  readonly byteLength: number;
  append(buf: unknown): void;
  sublist(start: number, end: number): { readonly byteLength: number };
  consume(bytes: number): void;
}

/** The fields of LengthPrefixedDecoder the loop reads (public in its types, not documented). */
interface DecoderFields {
  readonly buffer: Buffered;
  readonly maxBufferSize: number;
  readonly maxDataLength: number;
  readonly lengthDecoder: (data: Buffered) => number;
  readonly encodingLength: (length: number) => number;
}

function* decode(this: DecoderFields, buf: unknown): Generator<unknown> {
  this.buffer.append(buf);
  if (this.buffer.byteLength > this.maxBufferSize) {
    throw new InvalidParametersError(`Buffer length limit exceeded - ${this.buffer.byteLength}/${this.maxBufferSize}`);
  }
  // The one change: an empty buffer holds no length to decode.
  while (this.buffer.byteLength > 0) {
    let dataLength: number;
    try {
      dataLength = this.lengthDecoder(this.buffer);
    } catch (err) {
      // Not enough bytes for the length prefix yet.
      if (err instanceof RangeError) break;
      throw err;
    }
    if (dataLength < 0 || dataLength > this.maxDataLength) throw new InvalidMessageLengthError('Invalid message length');
    const lengthLength = this.encodingLength(dataLength);
    const chunkLength = lengthLength + dataLength;
    if (this.buffer.byteLength < chunkLength) break;
    const frame = this.buffer.sublist(lengthLength, chunkLength);
    this.buffer.consume(chunkLength);
    if (frame.byteLength > 0) yield frame;
  }
}

const proto = LengthPrefixedDecoder.prototype as unknown as { decode: unknown };
proto.decode = decode;

export const applied = proto.decode === decode;
