// The deployment's cluster.json: mode, f, every member's public key and the multiaddrs it listens
// on and is dialled at, and the clients' public keys. People edit this file (to spread a cluster
// over machines), so every field is checked and every mistake is reported as ONE line naming the
// file and the field, e.g. `cluster.json: members[2].publicKey: expected 64 hex characters`.
//
// Format (version 1):
//   { "version": 1, "mode": "byzantine", "f": 1,
//     "members": [ { "id": 0, "publicKey": "<64 hex>", "addrs": ["/ip4/127.0.0.1/tcp/7000"] }, … ],
//     "clients": [ { "id": 1, "publicKey": "<64 hex>" } ] }
// and optionally "app": "patch-ledger", the replicated application every member runs (absent: the
// key-value store, "kv"; only another app is written, so key-value clusters' files are unchanged).
// Members are listed in id order 0..n-1, n = 2f+1 in crash mode and 3f+1 otherwise. A
// reconfigurable cluster (docs/PROTOCOL.md, "Reconfiguration through the log") lists its whole
// universe there instead, spares included (each with its key and address, so that every node can
// reach it), and marks its first configuration with "firstMembers": [0, 1, 2], 2f+1 (3f+1) ids;
// `byzpaxos member …` changes the configuration afterwards, never this file. Every member
// has an ed25519 key in every mode: crash mode does not sign messages, but the key is also the
// node's libp2p identity.
import { MODES, type Mode } from '../base/mode.ts';
import { membersFor } from '../core/quorum.ts';
import { readFileSync } from 'node:fs';
import { multiaddr } from '@multiformats/multiaddr';
import { checkPublicKey, PUBLIC_KEY_BYTES } from '../../crypto/ed25519.ts';
import { fromHex, toHex } from '../../crypto/digest.ts';
import { CLIENT_ID_MAX, CONFIGURATION_MEMBERS_MAX, NODE_ID_MAX } from '../base/limits.ts';
import type { ClientId, NodeId } from '../base/types.ts';
import { validateCluster, type ClientKey, type ClusterConfig } from '../modes/byzantine/cluster.ts';
import { APP_NAMES, type AppName } from '../app/apps.ts';

export const CLUSTER_FILE_VERSION = 1;
export const CLUSTER_FILE_NAME = 'cluster.json';
/** Members' default data directory (stores, evidence), beside cluster.json. */
export const DATA_DIR_NAME = 'data';
/** Largest cluster.json read, in bytes: thousands of clients fit. */
export const CLUSTER_FILE_BYTES_MAX = 1 << 20;
/** Most addresses one member may list. */
export const MEMBER_ADDRS_MAX = 8;
/** Most clients one cluster may list. */
export const CLUSTER_CLIENTS_MAX = 4096;
/** Largest f per mode: member ids must fit NODE_ID_MAX. Byzantine modes need f >= 1 to mean anything. */
export const F_MIN: Readonly<Record<Mode, number>> = { crash: 0, byzantine: 1, 'commit-reveal': 1 };
export const F_MAX: Readonly<Record<Mode, number>> = {
  crash: Math.floor(NODE_ID_MAX / 2),
  byzantine: Math.floor(NODE_ID_MAX / 3),
  'commit-reveal': Math.floor(NODE_ID_MAX / 3),
};
/** Modes whose clusters may be reconfigurable ("firstMembers"); the Byzantine modes are not yet. */
export const RECONFIGURABLE_MODES: readonly Mode[] = ['crash'];
/** Most node ids a reconfigurable cluster's universe holds: every one may be a member. */
export const UNIVERSE_MAX = CONFIGURATION_MEMBERS_MAX;
/** The protocols a member address may use: a host part, then TCP (the libp2p transport). */
const HOST_PROTOCOLS: ReadonlySet<string> = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6']);
const UNSPECIFIED_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::']);
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** Longest value quoted in an error message. */
const SHOWN_CHARS_MAX = 80;

export interface DeploymentMember {
  readonly id: NodeId;
  readonly publicKey: Uint8Array;
  /** Canonical multiaddr strings, e.g. `/ip4/127.0.0.1/tcp/7000`: where the member listens and is dialled. */
  readonly addrs: readonly string[];
}

export interface DeploymentConfig {
  readonly mode: Mode;
  /** Of the first configuration, in a reconfigurable cluster. */
  readonly f: number;
  /** members.length: 2f+1 in crash mode, 3f+1 otherwise; in a reconfigurable cluster, its universe. */
  readonly n: number;
  /** In id order: members[i].id === i. A reconfigurable cluster's every node, spares included. */
  readonly members: readonly DeploymentMember[];
  /** A reconfigurable cluster's first configuration, ascending; absent: a static cluster, every member for good. */
  readonly firstMembers?: readonly NodeId[];
  readonly clients: readonly ClientKey[];
  /** The replicated application; absent: 'kv'. */
  readonly app?: AppName;
}

/** A deployment file (cluster.json or a key file) cannot be used; `message` is one line naming the file and field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}


/** Reads and checks a cluster file; errors name `path` as given. */
export function loadClusterFile(path: string): DeploymentConfig {
  return parseClusterFile(readBounded(path, CLUSTER_FILE_BYTES_MAX), path);
}

/** Reads a small text file, refusing anything larger than `bytesMax`; a ConfigError naming `path` on failure. */
export function readBounded(path: string, bytesMax: number): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ConfigError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (bytes.length > bytesMax) throw new ConfigError(`${path}: ${bytes.length} bytes, more than ${bytesMax}`);
  return bytes.toString('utf8');
}

/** Checks the text of a cluster file; `source` (usually its path) starts every error message. */
export function parseClusterFile(text: string, source: string): DeploymentConfig {
  const at: FieldReader = new FieldReader(source);
  const top = at.record(at.json(text), '', ['version', 'mode', 'f', 'members', 'clients'], ['app', 'firstMembers']);
  if (top.version !== CLUSTER_FILE_VERSION) at.fail('version', `expected ${CLUSTER_FILE_VERSION}, got ${show(top.version)}`);
  const mode = MODES.find((m) => m === top.mode);
  if (mode === undefined) at.fail('mode', `expected one of ${MODES.map((m) => JSON.stringify(m)).join(', ')}, got ${show(top.mode)}`);
  const f = at.integer(top.f, 'f', F_MIN[mode], F_MAX[mode], ` in ${mode} mode`);
  const memberList = at.array(top.members, 'members');
  const firstMembers = Object.hasOwn(top, 'firstMembers') ? at.firstMembers(top.firstMembers, mode, f, memberList.length) : undefined;
  const n = firstMembers === undefined ? membersFor(mode, f) : memberList.length;
  if (memberList.length !== n) at.fail('', `f=${f} needs ${n} members in ${mode} mode, got ${memberList.length}`);
  const clientList = at.array(top.clients, 'clients');
  if (clientList.length > CLUSTER_CLIENTS_MAX) at.fail('clients', `${clientList.length} clients, more than ${CLUSTER_CLIENTS_MAX}`);

  const keys = new Map<string, string>(); // public key hex -> field path of its first use
  const addrs = new Map<string, string>(); // canonical multiaddr -> field path of its first use
  const members = memberList.map((value, i): DeploymentMember => {
    const path = `members[${i}]`;
    const m = at.record(value, path, ['id', 'publicKey', 'addrs']);
    const id = at.integer(m.id, `${path}.id`, 0, NODE_ID_MAX);
    if (id !== i) at.fail(`${path}.id`, `expected ${i} (members are listed in id order 0..${n - 1}), got ${id}`);
    const publicKey = at.publicKey(m.publicKey, `${path}.publicKey`, keys);
    const list = at.array(m.addrs, `${path}.addrs`);
    if (list.length === 0) at.fail(`${path}.addrs`, 'expected at least one multiaddr');
    if (list.length > MEMBER_ADDRS_MAX) at.fail(`${path}.addrs`, `${list.length} addresses, more than ${MEMBER_ADDRS_MAX}`);
    return { id, publicKey, addrs: list.map((a, j) => at.addr(a, `${path}.addrs[${j}]`, addrs)) };
  });
  const clientIds = new Map<ClientId, string>();
  const clients = clientList.map((value, i): ClientKey => {
    const path = `clients[${i}]`;
    const c = at.record(value, path, ['id', 'publicKey']);
    const id = at.integer(c.id, `${path}.id`, 0, CLIENT_ID_MAX);
    const first = clientIds.get(id);
    if (first !== undefined) at.fail(`${path}.id`, `client id ${id} already used by ${first}`);
    clientIds.set(id, path);
    return { id, publicKey: at.publicKey(c.publicKey, `${path}.publicKey`, keys) };
  });
  const reconfigurable = firstMembers === undefined ? {} : { firstMembers };
  if (!Object.hasOwn(top, 'app')) return { mode, f, n, members, clients, ...reconfigurable };
  const app = APP_NAMES.find((a) => a === top.app);
  if (app === undefined) at.fail('app', `expected one of ${APP_NAMES.map((a) => JSON.stringify(a)).join(', ')}, got ${show(top.app)}`);
  return { mode, f, n, members, clients, ...reconfigurable, app };
}

/**
 * The protocol's view of the cluster (ids and keys). In the Byzantine modes it is checked again by
 * validateCluster, the rule every signature check relies on; its errors are prefixed with `source`.
 */
export function toClusterConfig(d: DeploymentConfig, source = CLUSTER_FILE_NAME): ClusterConfig {
  const config: ClusterConfig = {
    f: d.f,
    members: d.members.map((m) => ({ id: m.id, publicKey: m.publicKey })),
    clients: d.clients.map((c) => ({ id: c.id, publicKey: c.publicKey })),
  };
  if (d.mode !== 'crash') {
    try {
      validateCluster(config);
    } catch (e) {
      throw new ConfigError(`${source}: ${(e as Error).message}`);
    }
  }
  return config;
}

/** The file text: one member or client per line, so a person can edit the addresses. */
export function formatClusterFile(d: DeploymentConfig): string {
  const member = (m: DeploymentMember) =>
    `    { "id": ${m.id}, "publicKey": "${toHex(m.publicKey)}", "addrs": [${m.addrs.map((a) => JSON.stringify(a)).join(', ')}] }`;
  const client = (c: ClientKey) => `    { "id": ${c.id}, "publicKey": "${toHex(c.publicKey)}" }`;
  const list = (lines: string[]) => (lines.length === 0 ? '[]' : `[\n${lines.join(',\n')}\n  ]`);
  return [
    '{',
    `  "version": ${CLUSTER_FILE_VERSION},`,
    `  "mode": ${JSON.stringify(d.mode)},`,
    `  "f": ${d.f},`,
    ...(d.firstMembers === undefined ? [] : [`  "firstMembers": [${d.firstMembers.join(', ')}],`]),
    ...(d.app === undefined || d.app === 'kv' ? [] : [`  "app": ${JSON.stringify(d.app)},`]),
    `  "members": ${list(d.members.map(member))},`,
    `  "clients": ${list(d.clients.map(client))}`,
    '}',
    '',
  ].join('\n');
}

/** Why `addr` cannot be a member address (not a multiaddr, not host + TCP port, not dialable), or null. */
export function checkMemberAddr(addr: string): string | null {
  let components;
  try {
    components = multiaddr(addr).getComponents();
  } catch (e) {
    return `not a multiaddr: ${show(addr)} (${oneLine((e as Error).message)})`;
  }
  const [host, tcp] = components;
  if (components.length !== 2 || !HOST_PROTOCOLS.has(host.name) || tcp.name !== 'tcp') {
    return `expected /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT, got ${show(addr)}`;
  }
  if (UNSPECIFIED_HOSTS.has(host.value ?? '')) return `${host.value} is not an address peers can dial: ${show(addr)}`;
  if (tcp.value === '0') return `port 0 is not a port peers can dial: ${show(addr)}`;
  return null;
}

/** A value quoted for an error message: JSON, one line, cut short. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= SHOWN_CHARS_MAX ? text : `${text.slice(0, SHOWN_CHARS_MAX)}…`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Field checks that throw one-line ConfigErrors `<source>: <path>: <problem>`. */
export class FieldReader {
  readonly #source: string;

  constructor(source: string) {
    this.#source = source;
  }

  fail(path: string, problem: string): never {
    throw new ConfigError(`${this.#source}: ${path === '' ? '' : `${path}: `}${problem}`);
  }

  /** `quote`: whether the parser's message, which quotes the text, may appear (never for secrets). */
  json(text: string, quote = true): unknown {
    try {
      return JSON.parse(text);
    } catch (e) {
      return this.fail('', quote ? `not JSON (${oneLine((e as Error).message)})` : 'not JSON');
    }
  }

  /** A plain object with exactly `fields`: an unknown field is most likely a typo. */
  /** An object with every one of `fields` and perhaps some of `optional`, nothing else. */
  record(value: unknown, path: string, fields: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'expected an object');
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!fields.includes(key) && !optional.includes(key)) this.fail(path, `unknown field ${show(key)} (expected ${[...fields, ...optional].join(', ')})`);
    }
    for (const key of fields) if (!Object.hasOwn(obj, key)) this.fail(path, `missing field ${JSON.stringify(key)}`);
    return obj;
  }

  /** A reconfigurable cluster's first configuration: 2f+1 (3f+1) distinct ids of its `universe` listed members, ascending. */
  firstMembers(value: unknown, mode: Mode, f: number, universe: number): readonly NodeId[] {
    if (!RECONFIGURABLE_MODES.includes(mode)) this.fail('firstMembers', `${mode} mode is not reconfigurable yet (only ${RECONFIGURABLE_MODES.join(', ')} mode is); remove the field`);
    if (universe > UNIVERSE_MAX) this.fail('members', `${universe} members, more than a reconfigurable cluster's ${UNIVERSE_MAX}`);
    const list = this.array(value, 'firstMembers');
    const size = membersFor(mode, f);
    if (list.length !== size) this.fail('firstMembers', `f=${f} needs ${size} first members in ${mode} mode, got ${list.length}`);
    const ids = list.map((id, i) => this.integer(id, `firstMembers[${i}]`, 0, universe - 1, ` (the ids members lists)`));
    for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) this.fail(`firstMembers[${i}]`, `expected distinct ids in ascending order, got ${ids[i]} after ${ids[i - 1]}`);
    return ids;
  }

  array(value: unknown, path: string): readonly unknown[] {
    return Array.isArray(value) ? value : this.fail(path, 'expected an array');
  }

  integer(value: unknown, path: string, min: number, max: number, where = ''): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `expected an integer in ${min}..${max}${where}, got ${show(value)}`);
    }
    return value;
  }

  /** A usable ed25519 key no other participant uses; `seen` maps key hex to the path that used it first. */
  publicKey(value: unknown, path: string, seen: Map<string, string>): Uint8Array {
    if (typeof value !== 'string' || !HEX_KEY.test(value)) this.fail(path, `expected ${2 * PUBLIC_KEY_BYTES} hex characters`);
    const key = fromHex(value);
    const reason = checkPublicKey(key);
    if (reason !== null) this.fail(path, reason);
    const hex = toHex(key);
    const first = seen.get(hex);
    if (first !== undefined) this.fail(path, `same key as ${first}; every member and client needs its own`);
    seen.set(hex, path);
    return key;
  }

  /** A member address, canonical; `seen` maps canonical addresses to the path that used it first. */
  addr(value: unknown, path: string, seen: Map<string, string>): string {
    if (typeof value !== 'string') this.fail(path, `expected a multiaddr string, got ${show(value)}`);
    const reason = checkMemberAddr(value);
    if (reason !== null) this.fail(path, reason);
    const canonical = multiaddr(value).toString();
    const first = seen.get(canonical);
    if (first !== undefined) this.fail(path, `${canonical} already used by ${first}`);
    seen.set(canonical, path);
    return canonical;
  }
}
