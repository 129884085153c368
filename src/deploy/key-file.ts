// A member's or client's ed25519 key pair on disk: `node-<id>.key` / `client-<id>.key`, JSON
//   { "type": "byzpaxos-key", "version": 1, "role": "member", "id": 0,
//     "publicKey": "<64 hex>", "secretKey": "<64 hex: the RFC 8032 seed>" }
// Created with mode 0600 (never written world-readable and then tightened), and, like ssh with
// its private keys, refused when group or others may read or write it. Error messages never quote
// the secret key.
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { bytesEqual, fromHex, toHex } from '../../crypto/digest.ts';
import { keyPairFromSeed, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES } from '../../crypto/ed25519.ts';
import { CLIENT_ID_MAX, NODE_ID_MAX } from '../base/limits.ts';
import { ConfigError, FieldReader, show, type DeploymentConfig } from './cluster-file.ts';

export type KeyRole = 'member' | 'client';

export const KEY_FILE_TYPE = 'byzpaxos-key';
export const KEY_FILE_VERSION = 1;
/** Largest key file read, in bytes (a real one is about 250). */
export const KEY_FILE_BYTES_MAX = 4096;
/** Permission bits a key file must not have: any access by group or others. */
const MODE_OPEN_BITS = 0o077;
const KEY_FILE_MODE = 0o600;
const ROLES: readonly KeyRole[] = ['member', 'client'];
/** Hex digits of a public key shown in a mismatch message. */
const KEY_SHOWN_CHARS = 16;
// POSIX permission bits mean nothing on Windows; there the directory's ACL protects the key.
const CHECK_MODE = process.platform !== 'win32';

export interface KeyFile {
  readonly role: KeyRole;
  readonly id: number;
  readonly publicKey: Uint8Array;
  /** The 32-byte RFC 8032 seed (see crypto/ed25519.ts). */
  readonly secretKey: Uint8Array;
}

export interface LoadKeyOptions {
  readonly expectRole?: KeyRole;
  readonly expectId?: number;
  /** The key must be the one this cluster configures for (role, id). */
  readonly cluster?: DeploymentConfig;
}

/** `node-<id>.key` for a member, `client-<id>.key` for a client. */
export function keyFileName(role: KeyRole, id: number): string {
  return role === 'member' ? `node-${id}.key` : `client-${id}.key`;
}

export function formatKeyFile(key: KeyFile): string {
  const fields = {
    type: KEY_FILE_TYPE,
    version: KEY_FILE_VERSION,
    role: key.role,
    id: key.id,
    publicKey: toHex(key.publicKey),
    secretKey: toHex(key.secretKey),
  };
  return `${JSON.stringify(fields, null, 2)}\n`;
}

/**
 * Creates `path` with mode 0600 and writes `key`, synced to disk. Refuses an existing file unless
 * `replace`, which removes it first (so its old, maybe looser, mode does not carry over).
 */
export function writeKeyFile(path: string, key: KeyFile, options: { readonly replace?: boolean } = {}): void {
  if (options.replace === true) unlinkIfPresent(path);
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, KEY_FILE_MODE);
  try {
    // The umask can only narrow 0600; a file system that ignores modes would leave the key open.
    const mode = fstatSync(fd).mode & 0o777;
    if (CHECK_MODE && (mode & MODE_OPEN_BITS) !== 0) {
      throw new ConfigError(`${path}: created with mode ${octal(mode)}, not 0600; refusing to write a key there`);
    }
    const bytes = Buffer.from(formatKeyFile(key), 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkIfPresent(path);
    throw e;
  }
  closeSync(fd);
}

/**
 * Reads a key file and checks it: private mode, well formed, the public key derived from the
 * secret, the expected role and id, and the key the cluster configures. Throws a one-line ConfigError.
 */
export function loadKeyFile(path: string, options: LoadKeyOptions = {}): KeyFile {
  const key = parseKeyFile(readPrivate(path), path);
  const { expectRole, expectId, cluster } = options;
  if (expectRole !== undefined && key.role !== expectRole) {
    throw new ConfigError(`${path}: role: expected ${show(expectRole)}, got ${show(key.role)}`);
  }
  if (expectId !== undefined && key.id !== expectId) throw new ConfigError(`${path}: id: expected ${expectId}, got ${key.id}`);
  if (cluster !== undefined) checkConfigured(path, key, cluster);
  return key;
}

/** Checks the text of a key file; `source` (its path) starts every error message. */
export function parseKeyFile(text: string, source: string): KeyFile {
  const at: FieldReader = new FieldReader(source);
  const obj = at.record(at.json(text, false), '', ['type', 'version', 'role', 'id', 'publicKey', 'secretKey']);
  if (obj.type !== KEY_FILE_TYPE) at.fail('type', `expected ${show(KEY_FILE_TYPE)}, got ${show(obj.type)}`);
  if (obj.version !== KEY_FILE_VERSION) at.fail('version', `expected ${KEY_FILE_VERSION}, got ${show(obj.version)}`);
  const role = ROLES.find((r) => r === obj.role);
  if (role === undefined) at.fail('role', `expected ${ROLES.map((r) => show(r)).join(' or ')}, got ${show(obj.role)}`);
  const id = at.integer(obj.id, 'id', 0, role === 'member' ? NODE_ID_MAX : CLIENT_ID_MAX);
  const publicKey = hexBytes(at, obj.publicKey, 'publicKey', PUBLIC_KEY_BYTES);
  const secretKey = hexBytes(at, obj.secretKey, 'secretKey', SECRET_KEY_BYTES);
  if (!bytesEqual(keyPairFromSeed(secretKey).publicKey, publicKey)) at.fail('publicKey', 'does not match secretKey');
  return { role, id, publicKey, secretKey };
}

function hexBytes(at: FieldReader, value: unknown, path: string, bytes: number): Uint8Array {
  // Never quote the value: it may be (part of) a secret.
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-fA-F]{${2 * bytes}}$`).test(value)) {
    at.fail(path, `expected ${2 * bytes} hex characters`);
  }
  return fromHex(value);
}

function checkConfigured(path: string, key: KeyFile, cluster: DeploymentConfig): void {
  const entries = key.role === 'member' ? cluster.members : cluster.clients;
  const configured = entries.find((e) => e.id === key.id);
  if (configured === undefined) throw new ConfigError(`${path}: ${key.role} ${key.id} is not in the cluster`);
  if (!bytesEqual(configured.publicKey, key.publicKey)) {
    throw new ConfigError(
      `${path}: public key ${shortHex(key.publicKey)} is not the key the cluster configures for ${key.role} ${key.id} (${shortHex(configured.publicKey)})`,
    );
  }
}

/** The file's text, after checking (on the open descriptor) that it is a private regular file. */
function readPrivate(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigError(`${path}: not a regular file`);
    const mode = stat.mode & 0o777;
    if (CHECK_MODE && (mode & MODE_OPEN_BITS) !== 0) {
      const access = (mode & 0o044) !== 0 ? 'readable' : (mode & 0o022) !== 0 ? 'writable' : 'accessible';
      throw new ConfigError(`key file ${path} is ${access} by others (mode ${octal(mode)}); chmod 600 it`);
    }
    if (stat.size > KEY_FILE_BYTES_MAX) throw new ConfigError(`${path}: ${stat.size} bytes, more than ${KEY_FILE_BYTES_MAX}`);
    const buffer = Buffer.alloc(KEY_FILE_BYTES_MAX + 1);
    let length = 0;
    while (length < buffer.length) {
      const got = readSync(fd, buffer, length, buffer.length - length, null);
      if (got === 0) break;
      length += got;
    }
    if (length > KEY_FILE_BYTES_MAX) throw new ConfigError(`${path}: more than ${KEY_FILE_BYTES_MAX} bytes`);
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function shortHex(key: Uint8Array): string {
  return `${toHex(key).slice(0, KEY_SHOWN_CHARS)}…`;
}
