// Checkpoints (PBFT's): every K slots each replica signs the digest of its state; 2f+1 matching
// signatures make the checkpoint stable, which moves the low watermark up (watermarks.ts) and lets
// every role forget what lies below it. A replica whose own state differs, or that has not got
// there, fetches the certified state instead (catch-up.ts).
import type { NodeId, Slot } from '../../base/types.ts';
import type { Outbox } from '../../core/outbox.ts';
import { snapshotOf, type StateSnapshot } from '../../core/replica.ts';
import { SlotMap } from '../../core/slot-window.ts';
import { changedPartRecords } from '../../core/state-transfer.ts';
import type { ByzantineState } from '../../core/storage.ts';
import { isMember } from '../../core/configuration.ts';
import { oneBallot, VoteSet } from '../../core/vote-set.ts';
import type { Checkpoint, CheckpointCertificate, SignedEnvelope } from '../../messages/types.ts';
import { bytesEqual, toHex } from '../../../crypto/digest.ts';
import type { ReplicaContext, Router } from './context.ts';
import type { Watermarks } from './watermarks.ts';

export interface Stable {
  readonly certificate: CheckpointCertificate;
  readonly snapshot: StateSnapshot;
}

export type CheckpointOutcome =
  | { readonly kind: 'none' }
  /** Stable, and our state matches: install it. */
  | { readonly kind: 'install'; readonly stable: Stable }
  /** Stable, but we lack that state: fetch it from a signer. */
  | { readonly kind: 'fetch'; readonly from: NodeId; readonly slot: Slot };

const NONE = { kind: 'none' } as const;

interface Vote {
  readonly digestHex: string;
  readonly envelope: SignedEnvelope;
}

export class Checkpoints {
  readonly #ctx: ReplicaContext;
  readonly #window: Watermarks;
  readonly #router: Router;
  #stable: Stable | null = null;
  readonly #votes = new VoteSet<Vote>(oneBallot((v) => v.digestHex));
  readonly #own = new SlotMap<StateSnapshot>();

  constructor(ctx: ReplicaContext, window: Watermarks, router: Router, state: ByzantineState) {
    this.#ctx = ctx;
    this.#window = window;
    this.#router = router;
    if (state.checkpoint !== null) {
      const snapshot = snapshotOf(state.checkpoint.executedUpTo, state.checkpoint.parts);
      this.#stable = { certificate: state.checkpoint.certificate, snapshot };
    }
  }

  get stable(): Stable | null {
    return this.#stable;
  }

  /** Our state at `slot`: the stable checkpoint's, or one of our own not yet stable. */
  snapshotAt(slot: Slot): StateSnapshot | undefined {
    return this.#stable?.certificate.slot === slot ? this.#stable.snapshot : this.#own.get(slot);
  }

  ownSnapshot(slot: Slot): StateSnapshot | undefined {
    return this.#own.get(slot);
  }

  /** Execution reached checkpoint slot `slot`: sign our state's digest. */
  take(slot: Slot, snapshot: StateSnapshot, out: Outbox): void {
    this.#own.set(slot, snapshot);
    out.broadcast(this.#ctx.auth.seal({ type: 'checkpoint', slot, stateDigest: snapshot.digest }));
  }

  onCheckpoint(from: NodeId, msg: Checkpoint, envelope: SignedEnvelope, out: Outbox): CheckpointOutcome {
    const ctx = this.#ctx;
    if (!this.#window.checkpointInReach(msg.slot)) return drop(ctx, 'out-of-watermarks');
    const digestHex = toHex(msg.stateDigest);
    const added = this.#votes.add(msg.slot, from, { digestHex, envelope });
    if (added.kind === 'conflict') {
      this.#router.report({ kind: 'equivocation', first: added.previous.envelope, second: envelope }, out);
      return drop(ctx, 'equivocation');
    }
    const own = this.#own.get(msg.slot);
    if (own !== undefined && !bytesEqual(own.digest, msg.stateDigest)) this.#router.query(msg.slot, true, out);
    // Reconfigurable: a quorum of the checkpoint slot's configuration, once it is known here (a
    // member that far behind learns the state by catch-up instead).
    const vouchers = ctx.membership(msg.slot);
    if (vouchers === null) return NONE;
    const matching = this.#votes.quorumFor(msg.slot, digestHex, vouchers.phase2, (signer) => isMember(vouchers, signer));
    if (matching === null) return NONE;
    const certificate: CheckpointCertificate = { slot: msg.slot, stateDigest: msg.stateDigest, signatures: matching.map((v) => v.envelope) };
    if (own !== undefined && bytesEqual(own.digest, msg.stateDigest)) return { kind: 'install', stable: { certificate, snapshot: own } };
    // The cluster is past us: fetch the state the certificate vouches for.
    return { kind: 'fetch', from: matching[0]!.envelope.signer, slot: msg.slot };
  }

  /** Makes `stable` the stable checkpoint (storage keeps only the parts that changed) and raises the low watermark. */
  install(stable: Stable, out: Outbox): void {
    const previous = this.#stable?.snapshot;
    const { certificate, snapshot } = stable;
    this.#stable = stable;
    this.#window.raise(certificate.slot);
    const records = changedPartRecords(previous, snapshot);
    records.push({ type: 'checkpoint', certificate, executedUpTo: snapshot.executedUpTo, partCount: snapshot.parts.length });
    out.persist(records);
    this.#own.forgetBelow(certificate.slot);
    this.#votes.forgetBelow(certificate.slot, true);
  }

  footprint(): Record<string, number> {
    return { checkpointVotes: this.#votes.size, snapshots: this.#own.size };
  }
}

function drop(ctx: ReplicaContext, reason: string): CheckpointOutcome {
  ctx.drop('checkpoint', reason);
  return NONE;
}
