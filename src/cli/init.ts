// `byzpaxos init --nodes N --mode M --dir DIR [--spares K]`: a new deployment. Generates an ed25519
// key per member and client, writes DIR/node-<i>.key and DIR/client-<c>.key (mode 0600) and
// DIR/cluster.json (member i on /ip4/HOST/tcp/BASE+i), and prints the commands that start the
// nodes. With --spares K (crash mode) the cluster is reconfigurable: its universe is N+K nodes,
// ids N..N+K-1 spares that `byzpaxos member add` can bring in, the first N its first
// configuration. Refuses to overwrite anything without --force; a bad command line is one line and exit 2.
import { faultsFor, fOf, membersFor } from '../core/quorum.ts';
import type { Mode } from '../base/mode.ts';
import { existsSync, lstatSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { basename, join } from 'node:path';
import { generateKeyPair } from '../../crypto/ed25519.ts';
import { MODES } from '../base/mode.ts';
import { CLUSTER_FILE_NAME, DATA_DIR_NAME, RECONFIGURABLE_MODES, UNIVERSE_MAX, checkMemberAddr, ConfigError, F_MAX, F_MIN, formatClusterFile, parseClusterFile, toClusterConfig, type DeploymentConfig } from '../deploy/cluster-file.ts';
import { keyFileName, writeKeyFile, type KeyFile } from '../deploy/key-file.ts';
import { integerOption, parseOptions, UsageError } from './args.ts';
import { writableDirProblem } from './dirs.ts';
import { APP_NAMES, type AppName } from '../app/apps.ts';

/** What shapes a cluster, for init and for up (which runs init's cluster). */
export const CLUSTER_OPTIONS = {
  nodes: { type: 'string' },
  spares: { type: 'string' },
  mode: { type: 'string' },
  dir: { type: 'string' },
  'base-port': { type: 'string' },
  app: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const OPTIONS = { ...CLUSTER_OPTIONS, host: { type: 'string' }, clients: { type: 'string' }, force: { type: 'boolean' } } as const;

const BASE_PORT_DEFAULT = 7000;
const PORT_MAX = 65535;
const HOST_DEFAULT = '127.0.0.1';
/** Most clients init generates keys for; more can be added to cluster.json by hand. */
const INIT_CLIENTS_MAX = 100;
/** The first client id: ids 1..clients. */
const CLIENT_ID_FIRST = 1;
const KEY_FILE_NAME = /^(node|client)-\d+\.key$/;
const MEMBER_FILE_NAME = /^node-\d+\.json$/;
const DNS_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export interface InitOptions {
  readonly mode: Mode;
  /** Members of the first configuration (of the cluster, if static). */
  readonly nodes: number;
  /** A reconfigurable cluster with this many spare ids after the first members; absent: a static cluster. */
  readonly spares?: number;
  readonly dir: string;
  readonly basePort: number;
  readonly host: string;
  readonly clients: number;
  /** The replicated application (cluster.json "app"); absent: the key-value store. */
  readonly app?: AppName;
  readonly force: boolean;
  /** Print one JSON object instead of the description. */
  readonly json: boolean;
}

export interface InitResult {
  readonly config: DeploymentConfig;
  readonly clusterPath: string;
  /** Member key files in id order, then client key files. */
  readonly keyPaths: readonly string[];
  /** Member files in id order, DIR/node-I.json: `start FILE` runs that member (see member-file.ts). */
  readonly memberPaths: readonly string[];
  /** Names of key files already in the directory that the new cluster does not use (after --force). */
  readonly staleKeyFiles: readonly string[];
  /** The previous cluster's data directory, removed by --force (its stores would be refused), or null. */
  readonly removedData: string | null;
}

export function runInit(argv: readonly string[]): number {
  const options = parseInitArgs(argv);
  const result = initCluster(options);
  process.stdout.write(options.json ? `${JSON.stringify(describeJson(result))}\n` : describe(options, result));
  return 0;
}

export function parseInitArgs(argv: readonly string[]): InitOptions {
  const { values } = parseOptions('init', argv, OPTIONS);
  if (values.nodes === undefined) throw new UsageError('init: missing --nodes N');
  if (values.mode === undefined) throw new UsageError(`init: missing --mode (one of ${MODES.join(', ')})`);
  if (values.dir === undefined) throw new UsageError('init: missing --dir DIR');
  const mode = MODES.find((m) => m === values.mode);
  if (mode === undefined) throw new UsageError(`--mode must be one of ${MODES.join(', ')}; got '${values.mode}'`);
  const nodes = parseNodes(mode, values.nodes);
  const spares = parseSpares(mode, nodes, values.spares);
  const universe = nodes + (spares ?? 0);
  const basePort = integerOption('base-port', values['base-port'], BASE_PORT_DEFAULT, 1, PORT_MAX);
  if (basePort + universe - 1 > PORT_MAX) {
    throw new UsageError(`--base-port ${basePort} with ${universe} nodes runs past port ${PORT_MAX}`);
  }
  const host = values.host ?? HOST_DEFAULT;
  const reason = checkMemberAddr(`${hostPrefix(host)}/tcp/${basePort}`);
  if (reason !== null) throw new UsageError(`--host: ${reason}`);
  const clients = integerOption('clients', values.clients, 1, 0, INIT_CLIENTS_MAX);
  if (values.dir === '') throw new UsageError('--dir must not be empty');
  const app = values.app === undefined ? undefined : APP_NAMES.find((a) => a === values.app);
  if (values.app !== undefined && app === undefined) throw new UsageError(`--app must be one of ${APP_NAMES.join(', ')}; got '${values.app}'`);
  return { mode, nodes, ...(spares === null ? {} : { spares }), dir: values.dir, basePort, host, clients, ...(app === undefined ? {} : { app }), force: values.force === true, json: values.json === true };
}

/** n must be 2f+1 (crash) or 3f+1 (Byzantine modes) for an f the cluster file accepts. */
function parseNodes(mode: Mode, raw: string): number {
  const fMin = F_MIN[mode];
  const fMax = F_MAX[mode];
  const nodes = /^\d+$/.test(raw) ? Number(raw) : NaN;
  const formula = mode === 'crash' ? '2f+1' : '3f+1';
  const allowed = [0, 1, 2].map((i) => membersFor(mode, fMin + i)).join(', ');
  const f = faultsFor(mode, nodes);
  if (f === null || f < fMin || f > fMax) {
    throw new UsageError(`--nodes must be ${formula} in ${mode} mode (${allowed}, …, ${membersFor(mode, fMax)}); got '${raw}'`);
  }
  return nodes;
}

/** --spares K: a reconfigurable cluster (RECONFIGURABLE_MODES only) of at most UNIVERSE_MAX nodes; absent, null (static). */
function parseSpares(mode: Mode, nodes: number, raw: string | undefined): number | null {
  if (raw === undefined) return null;
  if (!RECONFIGURABLE_MODES.includes(mode)) throw new UsageError(`--spares: ${mode} mode is not reconfigurable yet (only ${RECONFIGURABLE_MODES.join(', ')} mode is)`);
  return integerOption('spares', raw, 0, 0, UNIVERSE_MAX - nodes);
}

/** The multiaddr prefix naming `host`: an IPv4 or IPv6 address, or a DNS name. */
function hostPrefix(host: string): string {
  if (isIPv4(host)) return `/ip4/${host}`;
  if (isIPv6(host)) return `/ip6/${host}`;
  if (DNS_NAME.test(host)) return `/dns/${host}`;
  throw new UsageError(`--host must be an IPv4 or IPv6 address or a DNS name; got '${host}'`);
}

/** Generates the keys and writes the files (keys first, cluster.json last); refuses existing files unless `force`. */
export function initCluster(o: InitOptions): InitResult {
  const f = fOf(o.mode, o.nodes);
  const universe = o.nodes + (o.spares ?? 0);
  const members: KeyFile[] = Array.from({ length: universe }, (_, id) => ({ role: 'member', id, ...generateKeyPair() }));
  const clients: KeyFile[] = Array.from({ length: o.clients }, (_, i) => ({ role: 'client', id: CLIENT_ID_FIRST + i, ...generateKeyPair() }));
  const prefix = hostPrefix(o.host);
  const config: DeploymentConfig = {
    mode: o.mode,
    f,
    n: universe,
    ...(o.spares === undefined ? {} : { firstMembers: Array.from({ length: o.nodes }, (_, id) => id) }),
    members: members.map((m) => ({ id: m.id, publicKey: m.publicKey, addrs: [`${prefix}/tcp/${o.basePort + m.id}`] })),
    clients: clients.map((c) => ({ id: c.id, publicKey: c.publicKey })),
    ...(o.app === undefined ? {} : { app: o.app }),
  };
  const text = formatClusterFile(config);
  const clusterPath = join(o.dir, CLUSTER_FILE_NAME);
  // What init writes, start must accept: check it before touching the disk.
  toClusterConfig(parseClusterFile(text, clusterPath), clusterPath);

  const keys = [...members, ...clients];
  const keyPaths = keys.map((k) => join(o.dir, keyFileName(k.role, k.id)));
  const memberPaths = members.map((m) => join(o.dir, memberFileName(m.id)));
  makeDir(o.dir);
  if (!o.force) for (const path of [clusterPath, ...keyPaths, ...memberPaths]) refuseExisting(path);
  try {
    keys.forEach((k, i) => writeKeyFile(keyPaths[i], k, { replace: o.force }));
    // Relative to the file, so the directory can move (or be mounted elsewhere) as a whole.
    members.forEach((m, i) => writeFileSync(memberPaths[i]!, `${JSON.stringify({ config: CLUSTER_FILE_NAME, id: m.id })}\n`, { mode: 0o644 }));
    // Keys first, cluster.json last and atomically: a cluster.json on disk has all its keys.
    const temporary = `${clusterPath}.tmp`;
    writeFileSync(temporary, text, { mode: 0o644 });
    renameSync(temporary, clusterPath);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new UsageError(`--dir: cannot write in '${o.dir}' (${code})`);
    throw e;
  }
  const written = new Set(keyPaths.map((p) => basename(p)));
  const staleKeyFiles = readdirSync(o.dir).filter((name) => KEY_FILE_NAME.test(name) && !written.has(name)).sort();
  // A member file of the old cluster names a member the new one lacks: nothing to keep (no secret).
  const kept = new Set(memberPaths.map((p) => basename(p)));
  if (o.force) for (const name of readdirSync(o.dir)) if (MEMBER_FILE_NAME.test(name) && !kept.has(name)) rmSync(join(o.dir, name), { force: true });
  const dataDir = join(o.dir, DATA_DIR_NAME);
  const removedData = o.force && existsSync(dataDir) ? dataDir : null;
  if (removedData !== null) rmSync(removedData, { recursive: true, force: true });
  return { config, clusterPath, keyPaths, memberPaths, staleKeyFiles, removedData };
}

function makeDir(dir: string): void {
  const problem = writableDirProblem(dir, 0o700);
  if (problem !== null) throw new UsageError(`--dir: '${dir}' ${problem}`);
}

function refuseExisting(path: string): void {
  let exists = true;
  try {
    lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    exists = false;
  }
  if (exists) throw new UsageError(`init: ${path} already exists; pass --force to overwrite it`);
}

/** Commands as printed run as printed: `npx byzpaxos` finds the bin in a checkout and in a project that installed it. */
function startCommands(r: InitResult): string[] {
  return r.memberPaths.map((path) => `npx byzpaxos start ${path}`);
}

function memberFileName(id: number): string {
  return `node-${id}.json`;
}

function describeJson(r: InitResult): Record<string, unknown> {
  const { mode, f, n, firstMembers } = r.config;
  return { clusterPath: r.clusterPath, mode, f, n, firstMembers: firstMembers ?? null, keyFiles: r.keyPaths, memberFiles: r.memberPaths, staleKeyFiles: r.staleKeyFiles, removedData: r.removedData, start: startCommands(r) };
}

function describe(o: InitOptions, r: InitResult): string {
  const { config } = r;
  const names = r.keyPaths.map((p) => basename(p));
  const lastPort = o.basePort + config.n - 1;
  const first = config.firstMembers;
  const shape = first === undefined ? `${config.n} members` : `reconfigurable, ${first.length} first members and ${config.n - first.length} spares (ids ${first.length}..${config.n - 1})`;
  const lines = [
    `wrote ${r.clusterPath}: ${config.mode} mode, f=${config.f}, ${shape} on ${o.host} ports ${o.basePort}..${lastPort}, ${config.clients.length} client${config.clients.length === 1 ? '' : 's'}`,
    `wrote ${names.length} key files (mode 0600) in ${o.dir}: ${names.join(', ')}`,
    `wrote ${r.memberPaths.length} member files (each member's start options) in ${o.dir}: ${r.memberPaths.map((p) => basename(p)).join(', ')}`,
    ...(r.staleKeyFiles.length === 0 ? [] : [`left from before, not in the new cluster: ${r.staleKeyFiles.join(', ')} (delete them)`]),
    ...(r.removedData === null ? [] : [`removed ${r.removedData}: the previous cluster's stores and evidence`]),
    '',
    'start each node (one terminal or machine each):',
    ...startCommands(r).map((command) => `  ${command}`),
    '',
    ...(first === undefined ? [] : [`a spare serves once \`npx byzpaxos member add ID --config ${r.clusterPath}\` makes it a member; start it first.`, '']),
    `node I needs ${CLUSTER_FILE_NAME}, node-I.key and node-I.json only; keep client keys with the clients.`,
    `to run on several machines, edit each member's "addrs" in ${CLUSTER_FILE_NAME} (e.g. "/ip4/10.0.0.5/tcp/${o.basePort}"), then copy the same file to every machine.`,
  ];
  return `${lines.join('\n')}\n`;
}
