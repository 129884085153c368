// Helpers of the SqliteStorage tests, and the child process of the durability test:
//   node test/storage/store-child.ts PATH BATCHES
// opens the store at PATH and applies batches 1..BATCHES (durabilityBatch), printing each batch
// number on its own line once apply() has returned, i.e. once the batch is acknowledged. With
// 'unsynced', apply skips its fsync: a killed process must lose nothing all the same.
import type { Ballot, Batch } from '../../src/base/types.ts';
import type { PersistRecord } from '../../src/core/effects.ts';
import { SeededRng } from '../../src/core/rng.ts';
import type { SignedEnvelope } from '../../src/messages/types.ts';
import { SqliteStorage } from '../../src/storage/sqlite.ts';

export const TEST_CLUSTER_ID = new Uint8Array(32).fill(0x3f);
export const TEST_NODE_ID = 1;

const bytesOf = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill & 0xff);

function commandBatch(tag: number, opBytes = 16): Batch {
  return { commands: [{ clientId: 7, session: 1, seq: tag, op: bytesOf(opBytes, tag), signature: new Uint8Array(0) }] };
}

/** Batch i of the durability test: supersedes the last promise and round, accepts slot i. */
export function durabilityBatch(i: number): PersistRecord[] {
  return [
    { type: 'promised', ballot: { round: i, leader: TEST_NODE_ID } },
    { type: 'round', round: i },
    { type: 'accepted', pvalue: { ballot: { round: i, leader: TEST_NODE_ID }, slot: i, batch: commandBatch(i) } },
  ];
}

/**
 * `count` records of every variant, drawn from small slot and round ranges so they overwrite
 * each other, with checkpoints that prune: a workload whose log is mostly garbage.
 */
export function mixedRecords(seed: number, count: number): PersistRecord[] {
  const rng = new SeededRng(seed);
  const slots = 24;
  const ballot = (): Ballot => ({ round: 1 + rng.int(6), leader: rng.int(4) });
  const envelope = (): SignedEnvelope => ({
    type: 'signed',
    signer: rng.int(4),
    payload: bytesOf(1 + rng.int(40), rng.int(256)),
    signature: bytesOf(64, rng.int(256)),
  });
  const envelopes = (): SignedEnvelope[] => Array.from({ length: rng.int(4) }, envelope);
  const out: PersistRecord[] = [];
  let checkpointSlot = 0;
  for (let i = 0; i < count; i++) {
    const slot = rng.int(slots);
    const batch = commandBatch(rng.int(256), rng.int(32));
    switch (rng.int(10)) {
      case 0: out.push({ type: 'promised', ballot: ballot() }); break;
      case 1: out.push({ type: 'accepted', pvalue: { ballot: ballot(), slot, batch } }); break;
      case 2: out.push({ type: 'round', round: rng.int(10) }); break;
      case 3: out.push({ type: 'decided', slot, batch }); break;
      case 4: out.push({ type: 'joined', round: rng.int(8), by: rng.int(2) === 0 ? null : envelope() }); break;
      case 5: out.push({ type: 'verified', ballot: ballot(), slot, digest: bytesOf(32, rng.int(256)) }); break;
      case 6: out.push({ type: 'prepared', certificate: { ballot: ballot(), slot, batch, verifies: envelopes() } }); break;
      case 7: out.push({ type: 'committed', ballot: ballot(), slot, key: bytesOf(32, rng.int(256)) }); break;
      case 8: out.push({ type: 'certified', entry: { slot, batch, accepteds: envelopes() } }); break;
      default: {
        // Mostly rising checkpoints, sometimes a stale one (the accumulator ignores it).
        checkpointSlot = rng.int(4) === 0 ? rng.int(checkpointSlot + 1) : Math.min(slots, checkpointSlot + rng.int(4));
        const certificate = { slot: checkpointSlot, stateDigest: bytesOf(32, rng.int(256)), signatures: envelopes() };
        out.push({ type: 'state-part', index: 0, part: bytesOf(rng.int(64), rng.int(256)) });
        out.push({ type: 'checkpoint', certificate, executedUpTo: checkpointSlot, partCount: 1 });
      }
    }
  }
  return out;
}

function main(args: readonly string[]): void {
  const [path, batchesText, syncText = 'sync'] = args;
  const batches = Number(batchesText);
  if (path === undefined || !Number.isSafeInteger(batches) || batches < 1 || !['sync', 'unsynced'].includes(syncText)) {
    throw new Error('usage: store-child.ts PATH BATCHES [sync|unsynced]');
  }
  const storage = SqliteStorage.open({ path, clusterId: TEST_CLUSTER_ID, nodeId: TEST_NODE_ID, mode: 'crash' });
  for (let i = 1; i <= batches; i++) {
    storage.apply(durabilityBatch(i), syncText === 'sync');
    process.stdout.write(`${i}\n`);
  }
  storage.close();
}

if (import.meta.main) main(process.argv.slice(2));
