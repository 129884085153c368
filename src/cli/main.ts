#!/usr/bin/env node
// The `byzpaxos` command. Exit codes are a contract: 0 ok, 1 the run found a problem (safety
// violation, evidence against an honest node, failed demo), 2 bad command line (one line on
// stderr), 3 internal error.
import { inspect } from 'node:util';
import { oneLine, UsageError } from './args.ts';

const USAGE = `usage: byzpaxos <command> [options]

commands:
  sim          run seeds through the deterministic simulator
    --mode MODE            crash (default), byzantine, or commit-reveal (byzantine, with
                           acceptors bit-committing to their votes before revealing them)
    --f N                  faults tolerated (default 1): crash n = 2f+1, f in 0..7;
                           byzantine and commit-reveal n = 3f+1, f in 1..3
    --nodes N --q1 A --q2 B  crash mode, flexible quorums: N members, phase-1 quorums of A
                           and phase-2 quorums of B (each default a majority), A + B > N
    --cheap                crash mode, Cheap Paxos: of the 2f+1 members the last f are
                           auxiliary acceptors, asked only while a main one is unresponsive
    --seeds N              number of seeds to run (1..100000, default 100)
    --seed-start S         first seed (0..2^31, default 1)
    --commands N           client commands per run (1..10000, default 50)
    --faults LIST          e.g. drop=0.1,dup=0.05,reorder,partition,crash (default none);
                           churn: members added, removed and replaced through
                           the log during the fault phase, each effective α slots later
    --eager-slots N        the leader opens a slot per command while fewer than N of its
                           slots are undecided, then batches (default: the whole window;
                           deployed members use 1)
    --json                 print one JSON object instead of a summary
    --trace                print the readable trace first (needs --seeds 1)
    (byzantine and commit-reveal modes only)
    --adversary LIST       built-in strategies, e.g. equivocating-leader,silent: silent,
                           equivocating-acceptor, equivocating-leader, lying-promise,
                           bad-signature, replay, slow, twins, forger; and, touching only
                           commit-reveal messages: reveal-mismatch, withhold-reveal,
                           withhold-commitment, commit-equivocation, late-reveal; and,
                           acting only against an app that refuses ops (the patch ledger):
                           skips-validation
    --adversary-module P   also run the strategy a module default-exports (an Adversary;
                           see experiments/adversary-example); may be repeated
    --byzantine IDS        e.g. 0,3: these nodes are Byzantine, dealt the strategies in
                           turn (default: each seed picks one node per strategy)
    --beyond-bound         allow more than f Byzantine nodes, to see what breaks; where
                           honest learners disagree, forensics names f+1 or more culprits
                           with proofs (--json: culprits)
    --evidence-out DIR     write each distinct proof of misbehaviour (culprits' too) to
                           DIR/<id>.json (an evidence file for 'evidence verify'); DIR is
                           created if missing
    (one run only, --seeds 1)
    --html FILE            write the run's message-flow diagram: a self-contained page, one
                           lane per node, arrows by message type, faults, view changes and
                           evidence marked (click one for its messages), filter by slot/type
    --trace-json FILE      write the run's message flow as JSON, for other tools and 'flow'
  flow TRACE.json --html FILE
               draw the message-flow diagram of a trace file written by 'sim --trace-json'
  flow N0.json N1.json … --html FILE
               draw a deployed run: the traces its members wrote ('start --trace-json'),
               merged; a frame one member sent and another received is one arrow (paired by
               link and digest of its bytes); a send no trace received is lost (its receiver
               was recording) or in flight (a client, or no trace says); a receipt whose
               send no trace holds is drawn at the moment it arrived. Traces of different
               clusters, or one member's twice, are refused
  demo         tell the story of a small crash-mode cluster: election, crash, failover, catch-up
    --json                 print one JSON object instead: ok, failure (null if none), story (its lines)
  experiment NAME [--seeds N] [--out DIR] [--json]
               run one experiment, print its table (--json: its rows) and write DIR (default
               results/NAME-TIME): rows.csv, rows.json, SVG plots, summary.md, metadata.json;
               a progress line on stderr when it is a terminal (none with --json)
    scaling                cost per slot and simulated throughput vs n, per mode (--seeds, default 2)
    attack                 throughput under each adversary / fault-free, time to detection and
                           proof (--seeds, default 2)
    faults                 simulated throughput vs drop rate and partitions; liveness after
                           healing (--seeds, default 2)
    load                   deployed (libp2p on 127.0.0.1) throughput and latency vs clients
                           C = 1,4,16,64, per mode; wall-clock, about 2-4 minutes
    overhead               messages, bytes and delays per decision in failure-free steady state
    detection              per adversary and mode, over N seeds (--seeds, default 50): runs
                           with a provable act, a verified proof, a suspicion; false proofs;
                           delays from act to proof
  evidence verify FILE [--config CLUSTER.json] [--json]
               check a proof of misbehaviour (a byzpaxos-evidence/1 file): genuine, it names
               the culprit (exit 0); tampered, malformed or honest, it is rejected (exit 1)
    --config CLUSTER.json  the cluster the evidence must be for, shaped like the file's
                           "cluster" field (or a deployment's cluster.json); without it the
                           file's own cluster is used, and the verdict says it was not checked.
                           A pretty-printed file (jq .) is read in its canonical layout
  init         create a deployment: a key per node and client, and DIR/cluster.json
    --nodes N              members: 2f+1 in crash mode (3, 5, …), 3f+1 otherwise (4, 7, …)
    --spares K             crash mode: a reconfigurable cluster, its N members the first
                           configuration and K more nodes (ids N..N+K-1, each with its key,
                           address and member file) that 'member add' can bring in
    --mode MODE            crash, byzantine or commit-reveal
    --dir DIR              where to write cluster.json, node-I.key, client-C.key and
                           node-I.json (member I's file: 'start DIR/node-I.json' runs it)
                           (key files mode 0600); created if missing
    --base-port P          member I listens on port P+I (default 7000)
    --host H               address in every member's multiaddr (default 127.0.0.1);
                           edit cluster.json to spread the cluster over machines
    --clients C            client keys to generate, ids 1..C (default 1)
    --app APP              the replicated application: kv (default) or patch-ledger (see
                           'ledger'); cluster.json says which, so every member runs the same
    --force                overwrite an existing cluster.json and key files, and remove
                           DIR/data (the previous cluster's stores and evidence)
    --json                 print one JSON object (paths, mode, f, n, start commands)
  start [MEMBER.json]
               run one member of a deployment until SIGINT/SIGTERM (log lines on stderr);
               MEMBER.json holds its options, e.g. {"config": "cluster.json", "id": 0} (paths
               relative to the file); the command line and BYZPAXOS_* override it
    --config PATH          the deployment's cluster.json
    --id I                 the member to run
    --data DIR             where its store node-I.db lives (default: data/ next to cluster.json)
    --key FILE             its key (default: node-I.key next to cluster.json)
    --log-level L          error, warn, info (default) or debug
    --log-format F         text (default on a terminal) or json (default otherwise: one
                           object a line)
    --metrics-port P       serve Prometheus metrics on HOST:P/metrics, and /healthz (200 while
                           it runs) and /readyz (200 while it follows a ballot with a leader)
    --metrics-host HOST    the interface for --metrics-port (default 127.0.0.1)
    (each option's default may come from BYZPAXOS_CONFIG, BYZPAXOS_ID, BYZPAXOS_DATA,
    BYZPAXOS_KEY, BYZPAXOS_LOG_LEVEL, BYZPAXOS_METRICS_PORT, BYZPAXOS_METRICS_HOST)
    --adversary NAME       run a built-in Byzantine strategy instead of the protocol (experiments)
                           proofs this member gathers go to DATA/evidence/ID.json
    --trace-json FILE      record every message it sends and receives (peers' and clients'),
                           its decisions, the ballots it comes to lead and its proofs, for
                           'flow'; at most 200,000 records, then the file says truncated. FILE
                           is written at start, every 5 s while it changes (a large one less
                           often: writing it takes at most 2% of the time) and when it stops
                           (SIGINT/SIGTERM); a member killed with -9 loses what came after the
                           last write
  up           init a local cluster and run every member as a child process until Ctrl-C
    --nodes N --mode MODE  as for init
    --dir DIR              default: a new temporary directory, removed when up stops; an
                           existing one is reused only if its cluster.json has the same mode
                           and size
    --base-port P          member I listens on port P+I (default 7000)
    --spares K             as for init; the spares run too, as non-members
    --app APP              as for init: kv (default) or patch-ledger; a reused --dir must
                           run the same one
    --json                 once every member runs, print one JSON line (cluster.json path,
                           mode, f, n, each member's id, pid, addrs and trace file); logs
                           stay on stderr
    --trace-json FILE      every member runs with 'start --trace-json', member I writing FILE
                           with -nI before its extension (run.json: run-n0.json, …); Ctrl-C
                           stops them gracefully, so each writes its file; then 'flow' them
  put KEY VALUE  set KEY (prints ok); each run is its own client session, so concurrent runs
               with one client key are all executed once. KEY at most 256 bytes, VALUE at
               most 1024 bytes (UTF-8)
  get KEY      print KEY's value; a missing key prints nothing (--json: "found": false)
  cas KEY VALUE --expect OLD | --absent
               set KEY to VALUE only if it holds OLD (or nothing); prints ok, else exit 1
               naming what it holds
  delete KEY   remove KEY (prints ok)
    --config PATH          the deployment's cluster.json (default: $BYZPAXOS_CONFIG)
    --client C             client id (default 1); its key: client-C.key next to cluster.json
    --key FILE             the client key file
    --timeout-ms T         give up T ms after starting (default 10000; exit 1, saying whether
                           the command left, so may still take effect); with every member
                           unreachable it fails as soon as their dials do
    --json                 print one JSON object
    (each option's default may come from BYZPAXOS_CONFIG, BYZPAXOS_CLIENT, BYZPAXOS_KEY,
    BYZPAXOS_TIMEOUT_MS)
  ledger SUB   the patch ledger of a cluster made with 'init --app patch-ledger': a tree of text
               files every member keeps, changed only by the patches the cluster decides
    propose PATCH --message M  apply a unified diff (as 'git diff' writes it; - reads stdin);
                           prints the new history head. Refused (exit 1): a conflict with the
                           tree, or what the acceptors' check refuses (a line it adds holding
                           TODO-BREAK), refused here before it is sent unless --force
    log                    the history head, its length and its latest patches
    cat PATH               print one file of the tree
    checkout DIR           write the whole tree into DIR (missing or empty)
    (these four take put's --config, --client, --key, --timeout-ms and --json)
    replica --config C --id I [--data D] [--out DIR] [--json]
                           a stopped member's own repository, rebuilt from its store: its
                           head, history and tree (--out: the files, written into DIR)
  backup OUT   copy a stopped member's store to OUT: consistent, compacted, synced
  restore FILE install a backup as a member's store, where none is (checked first: its
               cluster, node and mode); only the latest backup of a member that has not run
               since, as when moving it to a new disk: an older one would make it forget what
               it promised and voted
  compact      rewrite a stopped member's store as its live records
    --config PATH --id I   the member (default: $BYZPAXOS_CONFIG, $BYZPAXOS_ID)
    --data DIR             its data directory (default: data/ next to cluster.json)
    --json                 print one JSON object
  status       each member: reachable, leader, ballot, last decided slot
    --config PATH --client C --key FILE as for put; --timeout-ms T (default 2000); --json
  member SUB   the membership of a reconfigurable cluster (crash mode, made with 'init --spares');
               a change is decided in a slot c like any command and takes effect at slot c+8
    list                   the members at the first undecided slot, the pending changes (the
                           slots they were decided in and take effect at), and each node:
                           member or not, reachable, last decided slot (--timeout-ms: each
                           node's time to answer, default 2000)
    add ID                 make node ID (listed in cluster.json, running) a member: waits up
                           to --wait-ms W (default 10000) for it to answer status first, then
                           prints the slot the change was decided in and the one it takes
                           effect at, with the members from then on
    remove ID              stop counting member ID (its process keeps running: stop it once
                           'member list' no longer shows it); removing the leader is fine
    replace OUT IN         one member out and another in, in one slot
    (these take put's --config, --client, --key, --timeout-ms and --json; a static or
    Byzantine-mode cluster, an id not in cluster.json, a non-member removed, a member added
    or the last member removed is refused in one line)
  bench        throughput and latency of a local cluster over libp2p on 127.0.0.1 (members
               in this process, or with --processes each its own process); stops by itself
    --mode MODE --nodes N  as for init (default: f=1, n=3 crash, 4 otherwise)
    --clients C[,C…]       closed-loop clients, one put at a time each (default 8); a list
                           gives one row per count, each on a fresh cluster
    --ops N                measured puts (default 1000) after --warmup W (default 200);
                           --max-seconds S caps the warm-up and the measured puts (default 120)
    --runs R               R runs per client count, each figure their median (default 1)
    --payload B            value bytes per put (default 100); --batch K: max batch (default 64)
    --storage S            sqlite (default; one fsync per group commit of steps) or memory
    --json                 one JSON object: {"rows": [...]}
    --threads              each member on its own worker thread (own event loop)
    --processes            each member its own \`byzpaxos start\` process (SQLite, deployed
                           defaults); reports member CPU (from /proc) and RSS
  live-demo    what 'npm start' runs: a 4-node commit-reveal cluster over libp2p with one
               malicious acceptor (n0, reveal-mismatch), a short workload, the evidence
               against it verified, then a clean shutdown ('demo' is the simulator story)
    --json                 print one JSON object instead: ok, failure (null if none), story (its lines)
  help [CMD]   show this help, or only CMD's (also: CMD --help)
  --version    print the version

exit status: 0 ok, 1 safety violation, evidence against an honest node, failed demo or rejected
evidence, a node or client refusing to run (bad config, key or store, port in use, timeout),
2 bad usage, 3 internal error
(set BYZPAXOS_DEBUG=1 to see the stack trace of an internal error)
`;

const HELP_HINT = "run 'byzpaxos help' for usage";

type Command = (argv: readonly string[]) => number | Promise<number>;

// Loaded on demand, so a command's dependencies never slow down or break another command.
const COMMANDS: Record<string, () => Promise<Command>> = {
  sim: async () => (await import('./sim.ts')).runSim,
  demo: async () => (await import('./demo.ts')).runDemo,
  flow: async () => (await import('./flow.ts')).runFlow,
  experiment: async () => (await import('./experiment.ts')).runExperiment,
  evidence: async () => (await import('./evidence.ts')).runEvidence,
  init: async () => (await import('./init.ts')).runInit,
  bench: async () => (await import('./bench.ts')).runBench,
  'live-demo': async () => (await import('./live-demo.ts')).runLiveDemo,
  start: async () => (await import('./start.ts')).runStart,
  up: async () => (await import('./up.ts')).runUp,
  put: async () => (await import('./client-commands.ts')).runPut,
  get: async () => (await import('./client-commands.ts')).runGet,
  cas: async () => (await import('./client-commands.ts')).runCas,
  delete: async () => (await import('./client-commands.ts')).runDelete,
  status: async () => (await import('./client-commands.ts')).runStatus,
  member: async () => (await import('./membership.ts')).runMember,
  ledger: async () => (await import('./ledger.ts')).runLedger,
  backup: async () => (await import('./store-commands.ts')).runBackup,
  restore: async () => (await import('./store-commands.ts')).runRestore,
  compact: async () => (await import('./store-commands.ts')).runCompact,
};

/** One command's part of USAGE: its block (lines from "  NAME" to the next command), or null. */
function commandUsage(name: string): string | null {
  const group = USAGE_GROUPS.find((g) => g.includes(name)) ?? [name];
  const blocks: string[] = [];
  let inBlock = false;
  for (const line of USAGE.split('\n')) {
    if (/^ {2}\S/.test(line)) inBlock = group.includes(line.slice(2).split(/\s/)[0]!);
    else if (!/^ {3}/.test(line)) inBlock = false;
    if (inBlock) blocks.push(line);
  }
  return blocks.length === 0 ? null : `usage: byzpaxos ${name} [options]\n\n${blocks.join('\n')}\n`;
}

/** Commands whose usage blocks share one list of options, so their help shows them together. */
const USAGE_GROUPS: readonly (readonly string[])[] = [['put', 'get', 'cas', 'delete'], ['backup', 'restore', 'compact']];

function printHelp(name: string | undefined): number {
  if (name === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  const usage = commandUsage(name);
  if (usage === null) throw new UsageError(`help: unknown command '${name}' (one of ${Object.keys(COMMANDS).join(', ')}, help)`);
  process.stdout.write(usage);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError(`missing command (one of ${Object.keys(COMMANDS).join(', ')}, help)`);
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${(await import('./version.ts')).packageVersion()}\n`);
    return 0;
  }
  if (name === 'help' || name === '--help' || name === '-h') return printHelp(rest[0]);
  if (rest.includes('--help') || rest.includes('-h')) return printHelp(name);
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) throw new UsageError(`unknown command '${name}' (one of ${Object.keys(COMMANDS).join(', ')}, help)`);
  return (await load())(rest);
}

function report(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`byzpaxos: ${oneLine(e.message)}\n${HELP_HINT}\n`);
    return 2;
  }
  process.stderr.write(`byzpaxos: internal error: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
  if (process.env.BYZPAXOS_DEBUG === '1') process.stderr.write(`${inspect(e)}\n`);
  return 3;
}

// A reader that stops early (`byzpaxos sim | head`) closes the pipe: that is not a crash.
process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : 3));

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.exitCode = report(e);
}
