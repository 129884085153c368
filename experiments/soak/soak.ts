// Question: does a member's memory (and its SQLite store) stay flat under a long, steady load?
// Runs the in-process local cluster (src/node/local-cluster.ts, as `byzpaxos bench` does) with
// SQLite storage, C closed-loop clients over a constant key set, for a bounded time; every
// SAMPLE_MS it samples the process RSS, the V8 heap and the store files' sizes, then prints
// start / minute 2 / end / peak and the decided slots, and the process CPU time per put (the
// machine is shared: wall-clock throughput is noisy, CPU per op much less so).
//
//   node --expose-gc experiments/soak/soak.ts [--mode crash|byzantine|commit-reveal] [--seconds 600] [--clients 16]
//
// All members run in this one process, so RSS is the whole cluster's (n members + clients). With
// --expose-gc each sample first forces a full collection, so `heap` is what is live, not garbage
// V8 has not collected yet (without it, heapUsed swings by hundreds of MiB between collections).
import type { Mode } from '../../src/base/mode.ts';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCluster } from '../../src/node/local-cluster.ts';

const SAMPLE_MS = 10_000;
/** Distinct keys each client cycles through: the application state stays constant. */
const KEYS_PER_CLIENT = 64;
const PAYLOAD_BYTES = 100;
const OPERATION_TIMEOUT_MS = 10_000;
const SECONDS_MAX = 3600;
const MIB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'crash' },
    seconds: { type: 'string', default: '600' },
    clients: { type: 'string', default: '16' },
  },
});
const mode = values.mode as Mode;
if (!['crash', 'byzantine', 'commit-reveal'].includes(mode)) throw new Error(`--mode ${values.mode}: crash, byzantine or commit-reveal`);
const seconds = Math.min(SECONDS_MAX, Number(values.seconds));
const clients = Number(values.clients);
if (!(seconds > 0) || !Number.isInteger(clients) || clients < 1) throw new Error('--seconds and --clients must be positive');

interface Sample {
  readonly atS: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  /** ArrayBuffers (Buffers, Uint8Arrays) outside the V8 heap. */
  readonly buffersMiB: number;
  /** Database files and write-ahead logs together. */
  readonly storeMiB: number;
  readonly walMiB: number;
  readonly decided: number;
}

/** Bytes of every member's store: the database files and, separately, their write-ahead logs. */
function storeBytes(dir: string): { readonly db: number; readonly wal: number } {
  let db = 0;
  let wal = 0;
  for (const name of readdirSync(dir)) {
    if (/\.db$/.test(name)) db += statSync(join(dir, name)).size;
    else if (/\.db-(wal|shm)$/.test(name)) wal += statSync(join(dir, name)).size;
  }
  return { db, wal };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const mib = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;

const cluster = await LocalCluster.start({ mode, nodes: mode === 'crash' ? 3 : 4, clients, storage: 'sqlite', clientTimeoutMs: OPERATION_TIMEOUT_MS });
const samples: Sample[] = [];
const t0 = performance.now();
const sample = async (): Promise<void> => {
  const stats = await cluster.stats();
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const store = storeBytes(cluster.dir);
  const s: Sample = {
    atS: Math.round((performance.now() - t0) / 1000),
    rssMiB: mib(memory.rss),
    heapMiB: mib(memory.heapUsed),
    buffersMiB: mib(memory.arrayBuffers),
    storeMiB: mib(store.db + store.wal),
    walMiB: mib(store.wal),
    decided: stats.decisions,
  };
  samples.push(s);
  console.log(`t=${s.atS}s rss=${s.rssMiB} MiB heap=${s.heapMiB} MiB buffers=${s.buffersMiB} MiB stores=${s.storeMiB} MiB (wal ${s.walMiB}) decided=${s.decided}`);
};

const stop = new AbortController();
const deadline = setTimeout(() => stop.abort(), seconds * 1000);
let ops = 0;
let errors = 0;
const loop = async (client: (typeof cluster.clients)[number]): Promise<void> => {
  for (let i = 0; !stop.signal.aborted; i++) {
    try {
      await client.put(`k${client.id}-${i % KEYS_PER_CLIENT}`, 'v'.repeat(PAYLOAD_BYTES), { signal: stop.signal });
      ops++;
    } catch {
      if (!stop.signal.aborted) errors++;
    }
  }
};
const cpuBefore = process.cpuUsage();
let cpu = cpuBefore;
let stats = await cluster.stats();
try {
  await sample();
  const sampler = setInterval(() => void sample(), SAMPLE_MS);
  try {
    await Promise.all(cluster.clients.map(loop));
  } finally {
    clearInterval(sampler);
    clearTimeout(deadline);
  }
  cpu = process.cpuUsage(cpuBefore);
  stats = await cluster.stats();
  await sample();
} finally {
  await cluster.stop();
}

const at = (s: number) => samples.reduce((best, x) => (Math.abs(x.atS - s) < Math.abs(best.atS - s) ? x : best));
const first = samples[0]!;
const last = samples.at(-1)!;
const peak = samples.reduce((a, b) => (b.rssMiB > a.rssMiB ? b : a));
const peakStore = Math.max(...samples.map((x) => x.storeMiB));
console.log(
  JSON.stringify({
    mode,
    clients,
    seconds: last.atS,
    ops,
    errors,
    decidedSlots: last.decided,
    forcedGc: typeof (globalThis as { gc?: unknown }).gc === 'function',
    signaturesPerOp: { verified: round3(stats.verifies / Math.max(1, ops)), cacheHits: round3(stats.cacheHits / Math.max(1, ops)) },
    cpuMsPerOp: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(1, ops)) * 1000) / 1000,
    rssMiB: { start: first.rssMiB, minute2: at(120).rssMiB, end: last.rssMiB, peak: peak.rssMiB },
    heapMiB: { start: first.heapMiB, minute2: at(120).heapMiB, end: last.heapMiB, peak: Math.max(...samples.map((x) => x.heapMiB)) },
    buffersMiB: { start: first.buffersMiB, end: last.buffersMiB },
    storeMiB: { start: first.storeMiB, minute2: at(120).storeMiB, end: last.storeMiB, peak: peakStore, walEnd: last.walMiB },
  }),
);
