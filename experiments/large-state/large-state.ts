// Question: does a Byzantine cluster keep serving once its replicated state is far larger than a
// frame, and can a member that lost everything fetch that state by chunked state transfer?
//
// A seeded simulated cluster (f=1, n=4) takes `puts` puts of distinct maximal keys (256 B) and
// maximal values (1 KiB). Half-way, member 3 is wiped (crashed, its storage discarded) and
// restarted empty; at three quarters, member 2 crashes for good, so the last quarter can complete
// only if member 3 signs checkpoints over the very state the others hold: it must have fetched
// it. The script prints the state size, what member 3 fetched, and the time taken:
//
//   npx node experiments/large-state/large-state.ts            # ≥ 50 MB of state (the default)
//   npx node experiments/large-state/large-state.ts 4000       # a smaller run
import type { ProtocolNode } from '../../src/core/protocol.ts';
import type { NodeId } from '../../src/base/types.ts';
import { frameType } from '../../src/messages/codec.ts';
import { ByzantineNode } from '../../src/modes/byzantine/node.ts';
import { simulate, type SimResult } from '../../src/sim/simulator.ts';

const WIPED: NodeId = 3;
const CRASHED: NodeId = 2;
const KEY_BYTES = 256;
const VALUE_BYTES = 1024;
/** Bytes one put adds to the state: key and value, each with its u16 length. */
export const ENTRY_BYTES = 2 + KEY_BYTES + 2 + VALUE_BYTES;

export interface LargeStateRun {
  readonly result: SimResult;
  /** Bytes of the replicated state (every part) at member 0 when the run ended. */
  readonly stateBytes: number;
  /** State-parts replies member 3 received, and the part bytes in them. */
  readonly partReplies: number;
  readonly partBytes: number;
  /** Virtual ms from member 3's restart to the last part it received. */
  readonly transferMs: number;
  /** Member 3's drop counters when the run ended. */
  readonly wipedDropped: ReadonlyMap<string, number>;
  /** Whether member 3 ended with the same state as member 0. */
  readonly sameState: boolean;
  readonly wallMs: number;
}

export function runLargeState(puts: number, seed = 1): LargeStateRun {
  const cores = new Map<NodeId, ProtocolNode>();
  let partReplies = 0;
  let partBytes = 0;
  let restartedAt = 0;
  let lastPartAt = 0;
  let done = 0;
  const started = performance.now();
  const result = simulate({
    mode: 'byzantine',
    seed,
    f: 1,
    commands: puts,
    clients: 256,
    faultPhaseMs: 1,
    thinkMs: 0,
    // Few watermark slots leave room for large batches in a frame: ≈ 30 maximal puts per slot.
    byzantineConfig: { watermarkSlots: 8, checkpointInterval: 4, windowSlots: 4, batchCommandsMax: 36 },
    workload: (clientId, seq) => ({ type: 'put', key: `k${clientId}/${seq}/`.padEnd(KEY_BYTES, 'k'), value: 'v'.repeat(VALUE_BYTES) }),
    hooks: {
      onBoot: (id, core) => void cores.set(id, core),
      onDeliver: (_from, to, msg, sim) => {
        if (to !== WIPED || msg.type !== 'signed' || frameType(msg.payload) !== 'state-parts') return;
        partReplies++;
        partBytes += msg.payload.length;
        lastPartAt = sim.now() - restartedAt;
      },
      onClientComplete: (_op, sim) => {
        done++;
        if (done === Math.floor(puts / 2)) {
          sim.wipe(WIPED);
          sim.restart(WIPED);
          restartedAt = sim.now();
        }
        if (done === Math.floor((3 * puts) / 4)) sim.crash(CRASHED);
      },
    },
  });
  const wallMs = performance.now() - started;
  const node = (id: NodeId) => cores.get(id) as ByzantineNode;
  const reference = node(0).replica.snapshot();
  const wiped = node(WIPED).replica.snapshot();
  return {
    result,
    stateBytes: reference.parts.reduce((sum, part) => sum + part.length, 0),
    partReplies,
    partBytes,
    transferMs: lastPartAt,
    wipedDropped: node(WIPED).stats.dropped,
    sameState: wiped.executedUpTo === reference.executedUpTo && wiped.digest.every((b, i) => b === reference.digest[i]),
    wallMs,
  };
}

if (import.meta.main) {
  const puts = Number(process.argv[2] ?? Math.ceil(50_000_000 / ENTRY_BYTES));
  const run = runLargeState(puts);
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  console.log(`puts: ${puts} of ${ENTRY_BYTES} B entries; completed ${run.result.completed}; liveness: ${run.result.livenessFailure ?? 'ok'}; safety violations: ${run.result.safetyViolations.length}`);
  console.log(`state at member 0: ${mb(run.stateBytes)}; member ${WIPED} ended with the same state: ${run.sameState}`);
  console.log(`member ${WIPED} fetched ${run.partReplies} state-parts replies, ${mb(run.partBytes)}, in ${run.transferMs.toFixed(0)} virtual ms after its restart`);
  console.log(`member ${WIPED} dropped: ${JSON.stringify(Object.fromEntries(run.wipedDropped))}`);
  console.log(`virtual time ${run.result.endTimeMs.toFixed(0)} ms, ${run.result.slotsDecided} slots, wall ${(run.wallMs / 1000).toFixed(1)} s`);
}
