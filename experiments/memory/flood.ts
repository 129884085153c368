// Question: how much can one Byzantine member make an honest one hold, by signing maximal
// messages at every position an honest node keeps? The same seeded cluster (f=1, n=4, no network
// faults) runs twice, with member 3 honest and with member 3 flooding; the script prints each
// honest node's witness (entries, bytes from footprint()) against the per-signer and per-node
// bounds, and the heap after a forced GC when node runs with --expose-gc:
//
//   node --expose-gc experiments/memory/flood.ts
//
// The flooder runs the honest node inside (so the cluster still makes progress) and, each
// retransmit period, also broadcasts FLOOD_PER_PERIOD messages just under FRAME_BYTES_MAX, each
// signed by itself at a fresh position: Accepts in the rounds it leads up to the promise range,
// at slots across the watermark window. (Not maximal promises: an honest node passes those on,
// bundled into evidence shares, and a bundle of them exceeds a frame; sizing built messages is
// separate work.)
import { Tamper, type Adversary } from '../../src/adversary/adversary.ts';
import type { Effect } from '../../src/core/effects.ts';
import { FRAME_BYTES_MAX, OP_BYTES_MAX, ROUNDS_AHEAD_PER_MEMBER, SIGNATURE_BYTES, witnessSignerBytesMax } from '../../src/base/limits.ts';
import type { ProtocolNode } from '../../src/core/protocol.ts';
import type { Batch, NodeId } from '../../src/base/types.ts';
import { leaderOf } from '../../src/modes/byzantine/cluster.ts';
import { defaultByzantineConfig } from '../../src/modes/byzantine/config.ts';
import { ByzantineNode } from '../../src/modes/byzantine/node.ts';
import { simulate } from '../../src/sim/simulator.ts';

const F = 1;
const SEED = 7;
const COMMANDS = 60;
const FLOODER: NodeId = 3;
/** Flood messages per retransmit period, each ≈ 1 MiB. */
const FLOOD_PER_PERIOD = 8;
/** Flood messages in all: well past what the old entry-count bound let a flooder fill (2·W·(4n+1) entries). */
const FLOOD_MESSAGES = 300;
const MIB = 1024 * 1024;

/** Junk commands (nobody checks them before the witness stores the message) just under a frame. */
function maximalBatch(): Batch {
  const count = Math.floor((FRAME_BYTES_MAX - 1024) / (OP_BYTES_MAX + SIGNATURE_BYTES + 8));
  const op = new Uint8Array(OP_BYTES_MAX).fill(0xfe);
  const signature = new Uint8Array(SIGNATURE_BYTES);
  return { commands: Array.from({ length: count }, (_, i) => ({ clientId: 1, session: 1, seq: i + 1, op, signature })) };
}

/** Flood messages sent in the current run. */
let floodSent = 0;

class Flood extends Tamper {
  #sent = 0;
  readonly #batch = maximalBatch();

  protected rewrite(effect: Effect): Effect[] {
    if (effect.type !== 'setTimer' || effect.timer !== 'retransmit') return [effect];
    const burst: Effect[] = [];
    for (let i = 0; i < FLOOD_PER_PERIOD && this.#sent < FLOOD_MESSAGES; i++) burst.push({ type: 'broadcast', msg: this.#next() });
    return [effect, ...burst];
  }

  /** The k-th Accept: the rounds this node leads within reach, in turn, at slots across the window. */
  #next() {
    const k = this.#sent++;
    floodSent++;
    const { n } = this.ctx;
    const reach = this.inner.ballot.round + ROUNDS_AHEAD_PER_MEMBER * n;
    const led = Array.from({ length: reach }, (_, r) => r + 1).filter((r) => leaderOf(r, n) === this.id);
    const slot = this.inner.decidedUpTo + (Math.floor(k / led.length) % this.inner.config.watermarkSlots);
    return this.ctx.auth.seal({ type: 'accept', ballot: ballot(led[k % led.length]!, n), slot, batch: this.#batch, decidedUpTo: 0 });
  }
}

const ballot = (round: number, n: number) => ({ round, leader: leaderOf(round, n) });

const flood: Adversary = {
  name: 'flood',
  description: 'signs maximal messages at every position an honest node keeps',
  create: (ctx) => new Flood(ctx),
};

interface Run {
  readonly label: string;
  readonly completed: string;
  readonly floodSent: number;
  readonly witness: { id: NodeId; entries: number; bytes: number }[];
  readonly heapBytes: number | null;
}

const gc = (globalThis as { gc?: () => void }).gc;

function retainedBytes(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function run(label: string, adversary: Adversary | null): Run {
  const before = gc === undefined ? 0 : retainedBytes();
  floodSent = 0;
  const nodes = new Map<NodeId, ProtocolNode>();
  const result = simulate({
    mode: 'byzantine',
    seed: SEED,
    f: F,
    commands: COMMANDS,
    ...(adversary === null ? {} : { byzantine: { strategies: [adversary], nodes: [FLOODER] } }),
    hooks: { onBoot: (id, core) => void nodes.set(id, core) },
  });
  const honest = [...nodes].filter(([id]) => id !== FLOODER);
  const witness = honest.map(([id, core]) => {
    const fp = (core as ByzantineNode).footprint();
    return { id, entries: fp.witnessEntries!, bytes: fp.witnessBytes! };
  });
  // The simulation is done; what stays reachable is the nodes (and their witnesses).
  const heapBytes = gc === undefined ? null : retainedBytes() - before;
  void result.completed;
  return { label, completed: `${result.completed}/${result.submitted}`, floodSent, witness, heapBytes };
}

const config = defaultByzantineConfig(F);
const n = config.quorums.n;
const signerBound = witnessSignerBytesMax(config.watermarkSlots, config.batchCommandsMax);
const mib = (bytes: number) => `${(bytes / MIB).toFixed(2)} MiB`;

console.log(`witness bound: ${mib(signerBound)} per signer (W=${config.watermarkSlots}, batchCommandsMax=${config.batchCommandsMax}), ${mib((n - 1) * signerBound)} per node (n-1=${n - 1} peers)`);
console.log(`flood: member ${FLOODER} sends up to ${FLOOD_MESSAGES} Accepts of ≈ ${mib(FRAME_BYTES_MAX)} to every peer, ${FLOOD_PER_PERIOD} per retransmit period`);
for (const r of [run('no flood', null), run('flood', flood)]) {
  console.log(`\n${r.label}: commands completed ${r.completed}, flood messages sent ${r.floodSent}`);
  for (const w of r.witness) console.log(`  node ${w.id}: witness ${w.entries} entries, ${mib(w.bytes)} (bound ${mib((n - 1) * signerBound)})`);
  console.log(`  heap + array buffers held after the run, forced GC: ${r.heapBytes === null ? 'n/a (run node with --expose-gc)' : mib(r.heapBytes)}`);
}
