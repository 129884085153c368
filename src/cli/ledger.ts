// `byzpaxos ledger …`: the patch ledger (src/app/patch-ledger.ts) of a deployment made with
// `init --app patch-ledger`. Through the cluster (one client command each, f+1 matching answers):
//   ledger propose PATCH --message M [--force]   a unified diff (git diff); prints the new head
//   ledger log | ledger cat PATH | ledger checkout DIR
// and, from a stopped member's own store, what that member's repository holds:
//   ledger replica --id I [--out DIR]
// propose checks the patch as the acceptors will before it sends it, so a broken one is one line
// and exit 1 at once; --force sends it anyway (what a rogue developer does: honest members then
// never propose it, and honest acceptors refuse to Verify a Byzantine leader's batch holding it).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  decodeLedgerResult,
  encodeLedgerOp,
  LEDGER_MESSAGE_BYTES_MAX,
  LEDGER_PATCH_BYTES_MAX,
  judgePatch,
  PatchLedger,
  type LedgerOp,
  type LedgerResult,
} from '../app/patch-ledger.ts';
import { pathDefect } from '../app/patch.ts';
import { SeededRng } from '../core/rng.ts';
import { makeNode } from '../modes/build.ts';
import { buildDeployment } from '../node/build.ts';
import { OPERATION_TIMEOUT_MS_DEFAULT } from '../node/cluster-client.ts';
import { domainDigest, toHex } from '../../crypto/digest.ts';
import { systemEntropy } from '../../crypto/entropy.ts';
import { parseOptions, UsageError, withEnvDefaults } from './args.ts';
import { clientArgs, COMMON, printResult, submit, withClient } from './client-commands.ts';
import { loadDeployment, RefusalError, reportRefusals, type LoadedDeployment } from './deployment.ts';
import type { SqliteStorageOptions } from '../storage/sqlite.ts';
import { memberStore, withStore } from './store-commands.ts';

const PROPOSE_OPTIONS = { ...COMMON, message: { type: 'string' }, force: { type: 'boolean' } } as const;
const REPLICA_OPTIONS = { config: { type: 'string' }, id: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } } as const;
const SUBCOMMANDS = ['propose', 'log', 'cat', 'checkout', 'replica'];
/** Most files checkout fetches (one command each). */
const CHECKOUT_FILES_MAX = 1000;

export function runLedger(argv: readonly string[]): Promise<number> | number {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'propose':
      return propose(rest);
    case 'log':
      return log(rest);
    case 'cat':
      return cat(rest);
    case 'checkout':
      return checkout(rest);
    case 'replica':
      return replica(rest);
    default:
      throw new UsageError(`ledger: expected one of ${SUBCOMMANDS.join(', ')}${sub === undefined ? '' : `, got '${sub}'`}`);
  }
}

/** A ledger command's answer; one that is no ledger result means the cluster does not run the ledger. */
async function ask(client: Parameters<typeof submit>[0], op: LedgerOp, what: string, timeoutMs: number): Promise<LedgerResult> {
  const bytes = await submit(client, encodeLedgerOp(op), what, timeoutMs);
  try {
    return decodeLedgerResult(bytes);
  } catch {
    throw new RefusalError(`${what}: the answer is no ledger result; does cluster.json say "app": "patch-ledger"?`);
  }
}

function propose(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions('ledger propose', argv, PROPOSE_OPTIONS, 1);
  if (positionals.length !== 1) throw new UsageError('ledger propose: expected PATCH (a file, or - for stdin)');
  const message = values.message ?? '';
  if (message === '' || /[\n\r]/.test(message) || Buffer.byteLength(message) > LEDGER_MESSAGE_BYTES_MAX) {
    throw new UsageError(`ledger propose: --message must be one non-empty line of at most ${LEDGER_MESSAGE_BYTES_MAX} bytes`);
  }
  const file = positionals[0]!;
  const a = clientArgs('ledger propose', values, OPERATION_TIMEOUT_MS_DEFAULT);
  return reportRefusals(async () => {
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      throw new RefusalError(`ledger propose: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (Buffer.byteLength(text) > LEDGER_PATCH_BYTES_MAX) throw new RefusalError(`ledger propose: ${file} is ${Buffer.byteLength(text)} bytes, more than ${LEDGER_PATCH_BYTES_MAX}`);
    const judged = judgePatch(text);
    if (values.force !== true && judged.patch === null) throw new RefusalError(`ledger propose: the acceptors would refuse it: ${judged.reason}`);
    const op: LedgerOp = { type: 'patch', message, patch: text };
    return withClient(a, async (client) => {
      const result = await ask(client, op, `ledger propose ${file}`, a.timeoutMs);
      if (result.type === 'refused') throw new RefusalError(`ledger propose: refused: ${result.reason}`);
      if (result.type !== 'applied') throw new RefusalError(`ledger propose: unexpected answer ${result.type}`);
      const head = toHex(result.head);
      printResult(values.json, `applied as patch ${result.count}, head ${head.slice(0, 16)}`, { applied: true, count: result.count, head });
      return 0;
    });
  });
}

function log(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions('ledger log', argv, COMMON);
  const a = clientArgs('ledger log', values, OPERATION_TIMEOUT_MS_DEFAULT);
  return reportRefusals(() =>
    withClient(a, async (client) => {
      const result = await ask(client, { type: 'log' }, 'ledger log', a.timeoutMs);
      if (result.type !== 'log') throw new RefusalError(`ledger log: unexpected answer ${result.type}`);
      const entries = result.entries.map((e) => ({ index: e.index, patch: toHex(e.patchDigest), message: e.message }));
      const lines = [`head ${toHex(result.head).slice(0, 16)}, ${result.count} patches`, ...entries.map((e) => `  ${e.index}  ${e.patch.slice(0, 12)}  ${e.message}`)];
      printResult(values.json, lines.join('\n'), { head: toHex(result.head), count: result.count, entries });
      return 0;
    }),
  );
}

function cat(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions('ledger cat', argv, COMMON, 1);
  if (positionals.length !== 1) throw new UsageError('ledger cat: expected PATH');
  const path = positionals[0]!;
  const defect = pathDefect(path);
  if (defect !== null) throw new UsageError(`ledger cat: path '${path}' ${defect}`);
  const a = clientArgs('ledger cat', values, OPERATION_TIMEOUT_MS_DEFAULT);
  return reportRefusals(() =>
    withClient(a, async (client) => {
      const result = await ask(client, { type: 'cat', path }, `ledger cat ${path}`, a.timeoutMs);
      if (result.type === 'refused') throw new RefusalError(`ledger cat ${path}: ${result.reason}`);
      if (result.type !== 'file') throw new RefusalError(`ledger cat: unexpected answer ${result.type}`);
      if (result.content === null) throw new RefusalError(`ledger cat: no file ${path} in the tree`);
      if (values.json === true) printResult(true, null, { path, content: result.content });
      else process.stdout.write(result.content);
      return 0;
    }),
  );
}

function checkout(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions('ledger checkout', argv, COMMON, 1);
  if (positionals.length !== 1) throw new UsageError('ledger checkout: expected DIR');
  const dir = positionals[0]!;
  const a = clientArgs('ledger checkout', values, OPERATION_TIMEOUT_MS_DEFAULT);
  return reportRefusals(async () => {
    requireEmptyDir('ledger checkout', dir);
    return withClient(a, async (client) => {
      const listed = await ask(client, { type: 'files' }, 'ledger checkout', a.timeoutMs);
      if (listed.type !== 'files') throw new RefusalError(`ledger checkout: unexpected answer ${listed.type}`);
      if (listed.truncated || listed.paths.length > CHECKOUT_FILES_MAX) throw new RefusalError('ledger checkout: the tree holds more files than one answer lists');
      const tree: [string, string][] = [];
      for (const path of listed.paths) {
        const file = await ask(client, { type: 'cat', path }, `ledger cat ${path}`, a.timeoutMs);
        if (file.type !== 'file' || file.content === null) throw new RefusalError(`ledger checkout: ${path}: ${file.type === 'refused' ? file.reason : 'gone meanwhile'}`);
        tree.push([path, file.content]);
      }
      writeTree(dir, tree);
      printResult(values.json, `checked out ${tree.length} files into ${dir}, tree ${treeDigest(tree).slice(0, 16)}`, { dir, files: tree.length, tree: treeDigest(tree) });
      return 0;
    });
  });
}

/** A stopped member's repository, rebuilt from its own store as its restart would: its history head and tree. */
function replica(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions('ledger replica', argv, REPLICA_OPTIONS);
  const given = withEnvDefaults(values, ['config', 'id', 'data']);
  const store = memberStore('ledger replica', given);
  const loaded = loadDeployment(given.config!, 'member', store.nodeId);
  if (loaded.config.app !== 'patch-ledger') throw new UsageError(`ledger replica: ${given.config} does not say "app": "patch-ledger"`);
  return reportRefusals(async () => {
    if (values.out !== undefined) requireEmptyDir('ledger replica', values.out);
    const ledger = memberLedger(store, loaded);
    const tree = ledger.tree();
    if (values.out !== undefined) writeTree(values.out, tree);
    const head = toHex(ledger.head);
    const text = [`n${store.nodeId}: head ${head.slice(0, 16)}, ${ledger.count} patches, ${tree.length} files, tree ${treeDigest(tree).slice(0, 16)}`];
    for (const e of ledger.entries()) text.push(`  ${e.index}  ${toHex(e.patchDigest).slice(0, 12)}  ${e.message}`);
    printResult(values.json, text.join('\n'), { node: store.nodeId, head, count: ledger.count, files: tree.length, tree: treeDigest(tree) });
    return 0;
  });
}

/**
 * What member `store.nodeId` holds, rebuilt from its stopped store: the node it would restart as,
 * whose start executes every decided slot the store holds. Nothing that node emits is acted on.
 */
export function memberLedger(store: SqliteStorageOptions, loaded: LoadedDeployment): PatchLedger {
  const ledger = new PatchLedger();
  withStore(store, (storage) => {
    const build = { ...buildDeployment(loaded.config), app: () => ledger };
    makeNode(build, store.nodeId, loaded.key.secretKey, storage.load(), new SeededRng(0, store.nodeId), systemEntropy).node.start();
  });
  return ledger;
}

/** One digest over a tree's paths and contents: equal trees, equal digests. */
export function treeDigest(tree: readonly (readonly [string, string])[]): string {
  const encoder = new TextEncoder();
  return toHex(domainDigest('byzpaxos/ledger-tree/v1', ...tree.flatMap(([p, c]) => [encoder.encode(p), encoder.encode(c)])));
}

function requireEmptyDir(command: string, dir: string): void {
  let entries: string[];
  try {
    entries = existsSync(dir) ? readdirSync(dir) : [];
  } catch (e) {
    throw new RefusalError(`${command}: cannot use ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (entries.length > 0) throw new RefusalError(`${command}: ${dir} is not empty`);
}

/** The tree's files under `dir`; its paths are checked (relative, no '..'), so nothing lands outside it. */
function writeTree(dir: string, tree: readonly (readonly [string, string])[]): void {
  try {
    mkdirSync(dir, { recursive: true });
    for (const [path, content] of tree) {
      if (pathDefect(path) !== null) throw new RefusalError(`the tree holds a path no file may have: ${JSON.stringify(path)}`);
      const file = join(dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
  } catch (e) {
    if (e instanceof RefusalError) throw e;
    throw new RefusalError(`cannot write the tree into ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
