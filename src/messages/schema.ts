// Field types of the wire format, each declared once with all three passes: a validating size
// pass, an unchecked write into an exactly sized buffer, and a strict read that rejects anything
// the write could not have produced. Composites (struct, list) are built from fields, so a
// message layout is just a struct and the codec needs no per-message code.
//
// A Field is bound to its place in a message once, at load time: the binding fixes the path its
// errors name (`accept.batch.commands.op`), so no string is built unless encoding or decoding fails.
import { DIGEST_BYTES } from '../../crypto/index.ts';
import { NODE_ID_MAX } from '../base/limits.ts';

export class CodecError extends Error {
  override readonly name = 'CodecError';
}

export function fail(path: string, detail: string): never {
  throw new CodecError(`${path}: ${detail}`);
}

/** An upper bound on an integer, named for error messages. */
export interface Bound {
  readonly max: number;
  readonly name: string;
  readonly what: 'value' | 'count' | 'length';
}

/** A field bound to its path. */
export interface FieldCodec<T> {
  /** Validates everything `write` relies on; returns the encoded length. */
  readonly size: (value: T) => number;
  /** Unchecked: `size` has validated the value and sized the buffer. */
  readonly write: (w: Writer, value: T) => void;
  readonly read: (r: Reader) => T;
}

export type Field<T> = (path: string) => FieldCodec<T>;

/** A struct's fields in wire order, which is also the decoded objects' key order. */
export type Fields<T> = { readonly [K in keyof T]-?: Field<T[K]> };

/** ceil(53 / 7): a safe integer never needs more varint bytes. */
const VARINT_BYTES_MAX = 8;

function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function uintSize(value: number, bound: Bound, path: string): number {
  if (!Number.isSafeInteger(value) || value < 0) fail(path, `${value} is not a non-negative safe integer`);
  if (value > bound.max) fail(path, `${bound.what} ${value} exceeds ${bound.name} ${bound.max}`);
  return varintSize(value);
}

export class Writer {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  byte(value: number): void {
    this.buf[this.pos++] = value;
  }

  uint(value: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (value > 0x7f) {
      // `& 0x7f` is exact above 2^32 too: ToInt32 reduces modulo 2^32, keeping the low bits.
      buf[pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

export class Reader {
  readonly bytes: Uint8Array;
  pos: number;

  constructor(bytes: Uint8Array, pos: number) {
    this.bytes = bytes;
    this.pos = pos;
  }

  byte(path: string): number {
    if (this.pos >= this.bytes.length) fail(path, 'truncated');
    return this.bytes[this.pos++];
  }

  uint(bound: Bound, path: string): number {
    const value = this.varint(path);
    if (value > bound.max) fail(path, `${bound.what} ${value} exceeds ${bound.name} ${bound.max}`);
    return value;
  }

  varint(path: string): number {
    const bytes = this.bytes;
    const end = bytes.length;
    let pos = this.pos;
    if (pos >= end) fail(path, 'truncated');
    let b = bytes[pos++];
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let value = b & 0x7f;
    let scale = 128;
    for (let i = 1; ; i++) {
      if (i === VARINT_BYTES_MAX) fail(path, `varint longer than ${VARINT_BYTES_MAX} bytes`);
      if (pos >= end) fail(path, 'truncated');
      b = bytes[pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0) fail(path, 'non-minimal varint');
        break;
      }
      scale *= 128;
    }
    // Past 2^53 the sum may round, but never back below 2^53, so this check is exact.
    if (value > Number.MAX_SAFE_INTEGER) fail(path, 'varint exceeds MAX_SAFE_INTEGER');
    this.pos = pos;
    return value;
  }

  /** A copy, so callers may reuse the input buffer. */
  raw(length: number, path: string): Uint8Array {
    const start = this.pos;
    const available = this.bytes.length - start;
    if (length > available) fail(path, `truncated (need ${length} bytes, have ${available})`);
    this.pos = start + length;
    return this.bytes.slice(start, this.pos);
  }
}

// ---------------------------------------------------------------------------------------------
// Field types.

/** A minimal LEB128 varint. */
export function uint(bound: Bound): Field<number> {
  return (path) => ({
    size: (value) => uintSize(value, bound, path),
    write: (w, value) => w.uint(value),
    read: (r) => r.uint(bound, path),
  });
}

/** A node id that may be -1 ("none"), sent as id + 1. */
export const nodeIdOrNone: Field<number> = (path) => ({
  size: (id) => {
    if (!Number.isInteger(id) || id < -1 || id > NODE_ID_MAX) {
      fail(path, `node id ${id} is not an integer in [-1, NODE_ID_MAX ${NODE_ID_MAX}]`);
    }
    return varintSize(id + 1);
  },
  write: (w, id) => w.uint(id + 1),
  read: (r) => {
    const encoded = r.varint(path);
    if (encoded > NODE_ID_MAX + 1) fail(path, `node id ${encoded - 1} exceeds NODE_ID_MAX ${NODE_ID_MAX}`);
    return encoded - 1;
  },
});

/** One byte, 0 or 1. */
export const bool: Field<boolean> = (path) => ({
  size: () => 1,
  write: (w, value) => w.byte(value ? 1 : 0),
  read: (r) => {
    const b = r.byte(path);
    if (b > 1) fail(path, `boolean byte ${b}, expected 0 or 1`);
    return b === 1;
  },
});

/** Raw DIGEST_BYTES bytes, no length prefix. */
/** Exactly `length` raw bytes, no prefix. */
export function fixedBytes(length: number): Field<Uint8Array> {
  return (path) => ({
    size: (value) => {
      if (value.length !== length) fail(path, `length ${value.length}, expected ${length}`);
      return length;
    },
    write: (w, value) => w.raw(value),
    read: (r) => r.raw(length, path),
  });
}

export const digest: Field<Uint8Array> = fixedBytes(DIGEST_BYTES);

/** A presence byte (0 or 1), then the value when present. */
export function nullable<T>(field: Field<T>): Field<T | null> {
  return (path) => {
    const codec = field(path);
    const flag = bool(path);
    return {
      size: (value) => 1 + (value === null ? 0 : codec.size(value)),
      write: (w, value) => {
        flag.write(w, value !== null);
        if (value !== null) codec.write(w, value);
      },
      read: (r) => (flag.read(r) ? codec.read(r) : null),
    };
  };
}

/** A length-prefixed byte string. */
export function bytes(bound: Bound): Field<Uint8Array> {
  return (path) => ({
    size: (value) => uintSize(value.length, bound, path) + value.length,
    write: (w, value) => {
      w.uint(value.length);
      w.raw(value);
    },
    read: (r) => r.raw(r.uint(bound, path), path),
  });
}

/** One of a few strings, sent as its index in one byte: `values` is wire format, so only append. */
export function choice<T extends string>(what: string, values: readonly T[]): Field<T> {
  return (path) => ({
    size: (value) => {
      if (!values.includes(value)) fail(path, `unknown ${what} ${JSON.stringify(value)}`);
      return 1;
    },
    write: (w, value) => w.byte(values.indexOf(value)),
    read: (r) => {
      const index = r.byte(path);
      if (index >= values.length) fail(path, `unknown ${what} tag ${index}`);
      return values[index];
    },
  });
}

/** Not sent: implied by the frame, as a message's type is by its tag. */
export function constant<T>(value: T): Field<T> {
  return () => ({ size: () => 0, write: () => {}, read: () => value });
}

/** A count, then the items. Items share the list's path: errors name the field, not the index. */
export function list<T>(item: Field<T>, bound: Bound): Field<readonly T[]> {
  return (path) => {
    const codec = item(path);
    return {
      size: (items) => {
        let size = uintSize(items.length, bound, path);
        for (let i = 0; i < items.length; i++) size += codec.size(items[i]);
        return size;
      },
      write: (w, items) => {
        w.uint(items.length);
        for (let i = 0; i < items.length; i++) codec.write(w, items[i]);
      },
      read: (r) => {
        const count = r.uint(bound, path);
        const items: T[] = [];
        for (let i = 0; i < count; i++) items.push(codec.read(r));
        return items;
      },
    };
  };
}

/**
 * The fields in order, unframed. `check` validates across fields, after they are sized or read;
 * decoded structs are plain objects with exactly the keys of `fields`, in its order.
 */
export function struct<T extends object>(fields: Fields<T>, check?: (value: T, path: string) => void): Field<T> {
  const keys = Object.keys(fields) as (keyof T & string)[];
  return (path) => {
    // A plain loop, not generated code: the codec parses untrusted bytes, so it stays free of
    // eval-like machinery even though a generated struct would round-trip ~1.8× faster.
    const codecs = keys.map((key) => fields[key](`${path}.${key}`) as FieldCodec<unknown>);
    return {
      size: (value) => {
        let size = 0;
        for (let i = 0; i < keys.length; i++) size += codecs[i]!.size(value[keys[i]!]);
        check?.(value, path);
        return size;
      },
      write: (w, value) => {
        for (let i = 0; i < keys.length; i++) codecs[i]!.write(w, value[keys[i]!]);
      },
      read: (r) => {
        const value = {} as Record<string, unknown>;
        for (let i = 0; i < keys.length; i++) value[keys[i]!] = codecs[i]!.read(r);
        check?.(value as T, path);
        return value as T;
      },
    };
  };
}
