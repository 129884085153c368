// The client commands of a deployed cluster, each one ClusterClient over libp2p for one command:
//   byzpaxos put KEY VALUE --config DIR/cluster.json   prints `ok`
//   byzpaxos get KEY --config DIR/cluster.json         prints the value; nothing for a missing key
//   byzpaxos cas KEY VALUE (--expect OLD | --absent)   prints `ok`; exit 1 if KEY held something else
//   byzpaxos delete KEY                                prints `ok`
//   byzpaxos status --config DIR/cluster.json [--json] one row per member
// Each takes --json (one object on stdout). --config, --client, --key and --timeout-ms default to
// BYZPAXOS_CONFIG, BYZPAXOS_CLIENT, BYZPAXOS_KEY and BYZPAXOS_TIMEOUT_MS.
// The client key defaults to client-<C>.key next to cluster.json (C = --client, default 1). An
// operation that gets no accepted result within --timeout-ms is one line on stderr and exit 1
// (it may still take effect later, which the line says only if the command left this process);
// with no member reachable the line says so, naming each and why, as soon as every dial failed.
// put and get's --timeout-ms bounds the whole command, from the process's start (status's is each
// member's time to answer). Bad files are one line and exit 1; bad usage exit 2.
import { KV_KEY_BYTES_MAX, KV_VALUE_BYTES_MAX, type KvOp } from '../app/kv.ts';
import { CLIENT_ID_MAX } from '../base/limits.ts';
import { ClusterClient, ClusterTimeoutError, CommandRefusedError, SessionEvictedError, OPERATION_TIMEOUT_MS_DEFAULT, STATUS_TIMEOUT_MS_DEFAULT, type StatusRow } from '../node/cluster-client.ts';
import { createLogger } from '../node/log.ts';
import { integerOption, parseOptions, UsageError, withEnvDefaults } from './args.ts';
import { libp2pTransport, loadDeployment, RefusalError, reportRefusals } from './deployment.ts';

export const COMMON = {
  config: { type: 'string' },
  client: { type: 'string' },
  key: { type: 'string' },
  'timeout-ms': { type: 'string' },
  json: { type: 'boolean' },
} as const;
const CAS_OPTIONS = { ...COMMON, expect: { type: 'string' }, absent: { type: 'boolean' } } as const;
/** Options whose default an environment variable may give (args.ts envName). */
const ENV_OPTIONS = ['config', 'client', 'key', 'timeout-ms'] as const;

const CLIENT_ID_DEFAULT = 1;
/** Longest --timeout-ms accepted: ten minutes. */
const TIMEOUT_MS_MAX = 600_000;

interface ClientArgs {
  readonly configPath: string;
  readonly clientId: number;
  readonly keyPath: string | undefined;
  readonly timeoutMs: number;
}

export function clientArgs(command: string, given: { config?: string; client?: string; key?: string; 'timeout-ms'?: string }, timeoutDefault: number): ClientArgs {
  const values = withEnvDefaults(given, ENV_OPTIONS);
  if (values.config === undefined) throw new UsageError(`${command}: missing --config DIR/cluster.json (or BYZPAXOS_CONFIG)`);
  return {
    configPath: values.config,
    clientId: integerOption('client', values.client, CLIENT_ID_DEFAULT, 0, CLIENT_ID_MAX),
    keyPath: values.key,
    timeoutMs: integerOption('timeout-ms', values['timeout-ms'], timeoutDefault, 1, TIMEOUT_MS_MAX),
  };
}

function checkText(what: string, text: string, bytesMax: number): string {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > bytesMax) throw new UsageError(`${what} is ${bytes} bytes, more than ${bytesMax}`);
  return text;
}

/** Connects client `clientId`, runs `use`, and always closes the client. */
export async function withClient<T>(a: ClientArgs, use: (client: ClusterClient) => Promise<T>): Promise<T> {
  const loaded = loadDeployment(a.configPath, 'client', a.clientId, a.keyPath);
  const logger = createLogger({ level: 'error' });
  const client = await ClusterClient.connect({
    deployment: loaded.config,
    clientId: a.clientId,
    secretKey: loaded.key.secretKey,
    transport: libp2pTransport(loaded, logger),
    logger,
    timeoutMs: a.timeoutMs,
    failWhenUnreachable: true,
  });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** put/get's --timeout-ms counts from the process's start (performance.now()'s origin): it covers loading and connecting too. */
const PROCESS_START = 0;

/** One KV operation; a timeout, an unreachable cluster or an evicted session is a refusal (exit 1), naming the operation. */
function operate(client: ClusterClient, op: KvOp, timeoutMs: number) {
  return refusingFailures(client.execute(op, { timeoutMs, startedAt: PROCESS_START }));
}

/** One operation of any application: a timeout, an unreachable cluster or an evicted session is a refusal (exit 1). */
export function submit(client: ClusterClient, bytes: Uint8Array, what: string, timeoutMs: number): Promise<Uint8Array> {
  return refusingFailures(client.submit(bytes, what, { timeoutMs, startedAt: PROCESS_START }));
}

async function refusingFailures<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (e) {
    if (e instanceof ClusterTimeoutError || e instanceof SessionEvictedError || e instanceof CommandRefusedError) throw new RefusalError(e.message);
    throw e;
  }
}

/** Prints a command's result: `text` for a terminal, or with --json one object. */
export function printResult(json: boolean | undefined, text: string | null, object: Readonly<Record<string, unknown>>): void {
  if (json === true) process.stdout.write(`${JSON.stringify(object)}\n`);
  else if (text !== null) process.stdout.write(`${text}\n`);
}

export function runPut(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions('put', argv, COMMON, 2);
  if (positionals.length !== 2) throw new UsageError('put: expected KEY VALUE');
  const key = checkText('KEY', positionals[0]!, KV_KEY_BYTES_MAX);
  const value = checkText('VALUE', positionals[1]!, KV_VALUE_BYTES_MAX);
  const a = clientArgs('put', values, OPERATION_TIMEOUT_MS_DEFAULT);
  return reportRefusals(() =>
    withClient(a, async (client) => {
      const result = await operate(client, { type: 'put', key, value }, a.timeoutMs);
      if (!result.ok) throw new RefusalError(`put ${JSON.stringify(key)}: the cluster rejected the command`);
      printResult(values.json, 'ok', { ok: true, key });
      return 0;
    }),
  );
}

/** Prints the value; a missing key prints nothing (`--json`: found false), so a stored "(none)" is never mistaken for one. */
export function runGet(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions('get', argv, COMMON, 1);
  if (positionals.length !== 1) throw new UsageError('get: expected KEY');
  const key = checkText('KEY', positionals[0]!, KV_KEY_BYTES_MAX);
  const a = clientArgs('get', values, OPERATION_TIMEOUT_MS_DEFAULT);
  return reportRefusals(() =>
    withClient(a, async (client) => {
      const result = await operate(client, { type: 'get', key }, a.timeoutMs);
      if (!result.ok) throw new RefusalError(`get ${JSON.stringify(key)}: the cluster rejected the command`);
      printResult(values.json, result.value, { key, found: result.value !== null, value: result.value });
      return 0;
    }),
  );
}

export function runDelete(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions('delete', argv, COMMON, 1);
  if (positionals.length !== 1) throw new UsageError('delete: expected KEY');
  const key = checkText('KEY', positionals[0]!, KV_KEY_BYTES_MAX);
  const a = clientArgs('delete', values, OPERATION_TIMEOUT_MS_DEFAULT);
  return reportRefusals(() =>
    withClient(a, async (client) => {
      const result = await operate(client, { type: 'delete', key }, a.timeoutMs);
      if (!result.ok) throw new RefusalError(`delete ${JSON.stringify(key)}: the cluster rejected the command`);
      printResult(values.json, 'ok', { ok: true, key });
      return 0;
    }),
  );
}

/** Sets KEY to VALUE if it holds --expect OLD (or, with --absent, nothing); exit 1, saying what it holds, if not. */
export function runCas(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions('cas', argv, CAS_OPTIONS, 2);
  if (positionals.length !== 2) throw new UsageError('cas: expected KEY VALUE');
  if ((values.expect === undefined) === (values.absent !== true)) throw new UsageError('cas: give exactly one of --expect OLD and --absent');
  const key = checkText('KEY', positionals[0]!, KV_KEY_BYTES_MAX);
  const value = checkText('VALUE', positionals[1]!, KV_VALUE_BYTES_MAX);
  const expected = values.expect === undefined ? null : checkText('--expect', values.expect, KV_VALUE_BYTES_MAX);
  const a = clientArgs('cas', values, OPERATION_TIMEOUT_MS_DEFAULT);
  return reportRefusals(() =>
    withClient(a, async (client) => {
      const result = await operate(client, { type: 'cas', key, expected, value }, a.timeoutMs);
      printResult(values.json, result.ok ? 'ok' : null, { ok: result.ok, key, value: result.value });
      if (result.ok) return 0;
      const held = result.value === null ? 'nothing' : JSON.stringify(result.value);
      throw new RefusalError(`cas ${JSON.stringify(key)}: not set, it holds ${held}`);
    }),
  );
}

/** Exit 0 if some member answered, 1 if none did (the table is printed either way). */
export function runStatus(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions('status', argv, COMMON);
  const a = clientArgs('status', values, STATUS_TIMEOUT_MS_DEFAULT);
  return reportRefusals(() =>
    withClient(a, async (client) => {
      const rows = await client.status({ timeoutMs: a.timeoutMs });
      process.stdout.write(values.json === true ? `${JSON.stringify({ members: rows })}\n` : formatStatus(rows));
      if (rows.some((r) => r.reachable)) return 0;
      throw new RefusalError(`status: no member answered within ${a.timeoutMs} ms`);
    }),
  );
}

/** The status table: member, reachable, leader?, ballot (round/leader), last decided slot. */
export function formatStatus(rows: readonly StatusRow[]): string {
  const table = [['member', 'reachable', 'leader', 'ballot', 'last decided slot']];
  for (const r of rows) {
    if (!r.reachable) table.push([r.name, 'no', '-', '-', '-']);
    else table.push([r.name, 'yes', r.isLeader ? 'yes' : 'no', r.ballot.leader < 0 ? '-' : `${r.ballot.round}/n${r.ballot.leader}`, String(r.lastDecidedSlot)]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table.map((row) => `${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()}\n`).join('');
}
