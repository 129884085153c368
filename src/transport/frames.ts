// Length-prefixed frames: an unsigned LEB128 varint (multiformats unsigned-varint: minimal
// encoding only) followed by that many bytes. Pure: no I/O, no timers.
//
// The encoder packs many messages into one chunk (the transport coalesces everything queued for
// a peer in one event-loop turn). The decoder is incremental and strict: it keeps at most one
// partial frame (never more than `frameBytesMax` bytes of body, plus a few prefix bytes), and it
// stops for good at the first invalid prefix, so a stream that misbehaves is aborted, not parsed
// further.

export type FrameError = 'oversize' | 'malformed-prefix' | 'truncated';

/** Largest frame size a decoder may be configured with (keeps varint arithmetic exact). */
export const FRAME_BYTES_MAX_LIMIT = 2 ** 31 - 1;

/** Bytes of the minimal unsigned varint for `value`. */
export function varintBytes(value: number): number {
  assertLength(value);
  let bytes = 1;
  let rest = value;
  while (rest >= 0x80) {
    rest = Math.floor(rest / 128);
    bytes += 1;
  }
  return bytes;
}

/** Writes the minimal varint of `value` at `offset`; returns the offset after it. */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  assertLength(value);
  let rest = value;
  let at = offset;
  while (rest >= 0x80) {
    target[at] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
    at += 1;
  }
  target[at] = rest;
  return at + 1;
}

/** Bytes that `encodeFrames` needs for messages[start, end). */
export function framesBytes(messages: readonly Uint8Array[], start: number, end: number): number {
  let total = 0;
  for (let i = start; i < end; i += 1) {
    const length = messages[i]!.length;
    total += varintBytes(length) + length;
  }
  return total;
}

/** messages[start, end) as length-prefixed frames, back to back, in one buffer. */
export function encodeFrames(messages: readonly Uint8Array[], start = 0, end = messages.length): Uint8Array {
  if (!(start >= 0 && start <= end && end <= messages.length)) {
    throw new RangeError(`encodeFrames: bad range [${start}, ${end}) of ${messages.length}`);
  }
  const out = new Uint8Array(framesBytes(messages, start, end));
  let offset = 0;
  for (let i = start; i < end; i += 1) {
    const message = messages[i]!;
    offset = writeVarint(out, offset, message.length);
    out.set(message, offset);
    offset += message.length;
  }
  if (offset !== out.length) throw new Error('encodeFrames: length mismatch');
  return out;
}

/**
 * Incremental decoder for one stream. `push` calls `onFrame` for each complete frame, in order,
 * and returns an error the first time the input is invalid; after an error (or `end`) it
 * accepts nothing more. Every frame handed out is a fresh copy the caller may keep.
 */
export class FrameDecoder {
  readonly frameBytesMax: number;
  readonly #prefixBytesMax: number;
  // Prefix being read.
  #prefixValue = 0;
  #prefixBytes = 0;
  // Body being read: `#bodyLength` is -1 while reading a prefix.
  #bodyLength = -1;
  #bodyParts: Uint8Array[] = [];
  #bodyReceived = 0;
  #failed: FrameError | undefined = undefined;
  #ended = false;

  constructor(frameBytesMax: number) {
    if (!Number.isSafeInteger(frameBytesMax) || frameBytesMax < 1 || frameBytesMax > FRAME_BYTES_MAX_LIMIT) {
      throw new RangeError(`FrameDecoder: frameBytesMax must be in [1, ${FRAME_BYTES_MAX_LIMIT}], got ${frameBytesMax}`);
    }
    this.frameBytesMax = frameBytesMax;
    this.#prefixBytesMax = varintBytes(frameBytesMax);
  }

  /** Bytes held for a partial frame (prefix and body); never above frameBytesMax + prefix bytes. */
  get bufferedBytes(): number {
    return this.#prefixBytes + this.#bodyReceived;
  }

  /** True between the first byte of a frame and its last. */
  get midFrame(): boolean {
    return this.#prefixBytes > 0 || this.#bodyLength >= 0;
  }

  get failed(): FrameError | undefined {
    return this.#failed;
  }

  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): FrameError | undefined {
    if (this.#failed !== undefined) return this.#failed;
    if (this.#ended) throw new Error('FrameDecoder: push after end');
    let at = 0;
    while (at < chunk.length) {
      if (this.#bodyLength < 0) {
        const error = this.#readPrefixByte(chunk[at]!);
        at += 1;
        if (error !== undefined) return this.#fail(error);
        if (this.#bodyLength === 0) this.#emitBody(onFrame);
        continue;
      }
      const wanted = this.#bodyLength - this.#bodyReceived;
      const take = Math.min(wanted, chunk.length - at);
      this.#bodyParts.push(chunk.slice(at, at + take));
      this.#bodyReceived += take;
      at += take;
      if (this.#bodyReceived === this.#bodyLength) this.#emitBody(onFrame);
    }
    return undefined;
  }

  /** The stream ended: 'truncated' if a frame was cut off. */
  end(): FrameError | undefined {
    if (this.#failed !== undefined) return undefined; // already reported
    this.#ended = true;
    if (this.midFrame) return this.#fail('truncated');
    return undefined;
  }

  #readPrefixByte(byte: number): FrameError | undefined {
    this.#prefixValue += (byte & 0x7f) * 2 ** (7 * this.#prefixBytes);
    this.#prefixBytes += 1;
    if (this.#prefixValue > this.frameBytesMax) return 'oversize';
    const last = (byte & 0x80) === 0;
    if (!last) {
      // A minimal varint of a value <= frameBytesMax never needs more bytes than this.
      return this.#prefixBytes >= this.#prefixBytesMax ? 'malformed-prefix' : undefined;
    }
    if (byte === 0 && this.#prefixBytes > 1) return 'malformed-prefix'; // non-minimal
    this.#bodyLength = this.#prefixValue;
    return undefined;
  }

  #emitBody(onFrame: (frame: Uint8Array) => void): void {
    const frame = this.#bodyParts.length === 1 ? this.#bodyParts[0]! : concat(this.#bodyParts, this.#bodyLength);
    this.#prefixValue = 0;
    this.#prefixBytes = 0;
    this.#bodyLength = -1;
    this.#bodyParts = [];
    this.#bodyReceived = 0;
    onFrame(frame);
  }

  #fail(error: FrameError): FrameError {
    this.#failed = error;
    this.#bodyParts = [];
    this.#bodyReceived = 0;
    this.#prefixBytes = 0;
    this.#bodyLength = -1;
    return error;
  }
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  if (offset !== length) throw new Error('FrameDecoder: body length mismatch');
  return out;
}

function assertLength(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > FRAME_BYTES_MAX_LIMIT) {
    throw new RangeError(`frame length must be an integer in [0, ${FRAME_BYTES_MAX_LIMIT}], got ${value}`);
  }
}
