// The byte codec the applications' ops, results and state parts share: exact-size writers,
// bounds-checked readers (integers big-endian; fields as a length prefix, then the bytes), so
// each encoding is canonical and every defect is named, never silently accepted.
const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is content, not a marker; stripping it would break round trips.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 of `s`, checked; lone surrogates are rejected because TextEncoder would silently replace them. */
export function checkedUtf8(s: string, what: string, max: number): Uint8Array {
  if (!s.isWellFormed()) throw new Error(`${what} contains a lone surrogate`);
  const bytes = encoder.encode(s);
  if (bytes.length > max) throw new Error(`${what} too long: ${bytes.length} bytes > ${max}`);
  return bytes;
}

export class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  /** The bytes as they are: a fixed-size field (a digest), or one whose length came before. */
  raw(b: Uint8Array): void {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  /** u16 length prefix, then the bytes. */
  field(b: Uint8Array): void {
    this.u16(b.length);
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  /** A presence byte, then the field if present. */
  optional(b: Uint8Array | null): void {
    this.u8(b === null ? 0 : 1);
    if (b !== null) this.field(b);
  }

  done(): Uint8Array {
    if (this.pos !== this.bytes.length) throw new Error(`encoder wrote ${this.pos} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

export class Reader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** Names the thing being decoded in error messages. */
  private readonly what: string;
  private pos = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.what = what;
  }

  private need(n: number, field: string): void {
    const have = this.bytes.length - this.pos;
    if (have < n) throw new Error(`${this.what}: truncated ${field} at offset ${this.pos}: need ${n} bytes, have ${have}`);
  }

  u8(field: string): number {
    this.need(1, field);
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** A 0/1 byte. */
  flag(field: string): boolean {
    const v = this.u8(field);
    if (v > 1) throw new Error(`${this.what}: ${field} byte must be 0 or 1, got ${v}`);
    return v === 1;
  }

  /** The next `n` bytes (a fixed-size field, or one whose length was read and bounded first). */
  raw(n: number, field: string): Uint8Array {
    this.need(n, field);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** u16 length-prefixed UTF-8, at most `max` bytes; the bound is checked before reading. */
  field(field: string, max: number): Uint8Array {
    const len = this.u16(`${field} length`);
    if (len > max) throw new Error(`${this.what}: ${field} too long: ${len} bytes > ${max}`);
    this.need(len, field);
    const b = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  string(field: string, max: number): string {
    return this.text(this.field(field, max), field);
  }

  /** What Writer.optional wrote: a presence byte, then the string if present. */
  optionalString(field: string, max: number): string | null {
    return this.flag(`${field}-present`) ? this.string(field, max) : null;
  }

  /** Strict UTF-8 decoding of bytes already read. */
  text(b: Uint8Array, field: string): string {
    try {
      return decoder.decode(b);
    } catch {
      throw new Error(`${this.what}: ${field} is not valid UTF-8`);
    }
  }

  end(): void {
    const left = this.bytes.length - this.pos;
    if (left !== 0) throw new Error(`${this.what}: ${left} trailing bytes after offset ${this.pos}`);
  }
}

/** Bytes of a field (length prefix and content) and of an optional one (presence byte first). */
export const fieldBytes = (b: Uint8Array): number => 2 + b.length;
export const optionalBytes = (b: Uint8Array | null): number => 1 + (b === null ? 0 : fieldBytes(b));

/** A tag byte, then each field: the shape of most ops. */
export function taggedFields(tag: number, ...fields: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(1 + fields.reduce((sum, b) => sum + fieldBytes(b), 0));
  w.u8(tag);
  for (const b of fields) w.field(b);
  return w.done();
}

/**
 * Decodes bytes that open with a tag byte: `read` reads the rest for a tag it knows and returns
 * undefined for one it does not. Nothing may follow what it read.
 */
export function decodeTagged<T>(bytes: Uint8Array, what: string, read: (tag: number, r: Reader) => T | undefined): T {
  const r = new Reader(bytes, what);
  const tag = r.u8('tag');
  const value = read(tag, r);
  if (value === undefined) throw new Error(`${what}: unknown tag ${tag}`);
  r.end();
  return value;
}
