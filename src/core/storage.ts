// What a node keeps across a crash. The core emits PersistRecords; a Storage applies them
// (durably, before the dependent messages leave) and loads the state on restart.
import type { Ballot, Batch, PValue, Slot } from '../base/types.ts';
import { BOTTOM, compareBallots } from '../base/ballot.ts';
import type { PersistRecord } from './effects.ts';
import type { CertifiedEntry, CheckpointCertificate, PreparedCertificate, SignedEnvelope } from '../messages/types.ts';

export interface PersistentState {
  readonly promised: Ballot;
  readonly accepted: ReadonlyMap<Slot, PValue>;
  /** Highest round this node has used as a proposer: never reuse a ballot after restart. */
  readonly round: number;
  readonly decided: ReadonlyMap<Slot, Batch>;
  /** Crash mode: the latest local snapshot; `accepted` and `decided` hold only slots from its `logFrom`. */
  readonly snapshot: LocalSnapshot | null;
  readonly byzantine: ByzantineState;
}

/** A crash-mode snapshot: the executed state at `executedUpTo`, and where the kept log starts. */
export interface LocalSnapshot {
  readonly executedUpTo: Slot;
  /** Every slot below this is decided, executed into the snapshot, and forgotten (log and acceptor). */
  readonly logFrom: Slot;
  readonly parts: readonly Uint8Array[];
}

/** What a Byzantine-mode node keeps; everything below the stable checkpoint is dropped. */
export interface ByzantineState {
  /** The latest round and what justified it: a NewBallot (joined), or our own promise (still changing). */
  readonly joined: { readonly round: number; readonly by: SignedEnvelope | null } | null;
  /** Digest signed in Verify, by `${round}/${slot}`. */
  readonly verified: ReadonlyMap<string, Uint8Array>;
  /** Commitment keys, by `${round}/${slot}` (commit-reveal mode). */
  readonly committed: ReadonlyMap<string, Uint8Array>;
  readonly prepared: ReadonlyMap<Slot, PreparedCertificate>;
  readonly certified: ReadonlyMap<Slot, CertifiedEntry>;
  readonly checkpoint: StableCheckpoint | null;
}

/** A stable checkpoint's certificate and the state it vouches for. */
export interface StableCheckpoint {
  readonly certificate: CheckpointCertificate;
  readonly executedUpTo: Slot;
  readonly parts: readonly Uint8Array[];
}

export function verifiedKey(round: number, slot: Slot): string {
  return `${round}/${slot}`;
}

/** The (round, slot) of a verifiedKey; throws on a key it did not make (a damaged store). */
export function roundSlotOf(key: string): { readonly round: number; readonly slot: Slot } {
  const parts = key.split('/');
  const round = Number(parts[0]);
  const slot = Number(parts[1]);
  if (parts.length !== 2 || !Number.isSafeInteger(round) || !Number.isSafeInteger(slot)) {
    throw new Error(`storage: malformed round/slot key ${JSON.stringify(key)}`);
  }
  return { round, slot };
}

export interface Storage {
  load(): PersistentState;
  /**
   * Makes the records durable: on disk and synced when `sync` (the default), else written so a
   * killed process keeps them but a power cut may lose them up to the next synced apply (the
   * runtime passes mustSync of the records, effects.ts).
   */
  apply(records: readonly PersistRecord[], sync?: boolean): void;
}

export function emptyState(): PersistentState {
  return new StateAccumulator().snapshot();
}

/** Folds records into a mutable state; shared by every Storage implementation. */
export class StateAccumulator {
  promised: Ballot = BOTTOM;
  readonly accepted = new Map<Slot, PValue>();
  round = 0;
  readonly decided = new Map<Slot, Batch>();
  joined: ByzantineState['joined'] = null;
  readonly verified = new Map<string, Uint8Array>();
  readonly committed = new Map<string, Uint8Array>();
  readonly prepared = new Map<Slot, PreparedCertificate>();
  readonly certified = new Map<Slot, CertifiedEntry>();
  checkpoint: ByzantineState['checkpoint'] = null;
  localSnapshot: LocalSnapshot | null = null;
  /** The latest part written for each index: the next checkpoint's (or snapshot's) state. */
  readonly parts = new Map<number, Uint8Array>();

  applyRecord(r: PersistRecord): void {
    switch (r.type) {
      case 'promised':
        if (compareBallots(r.ballot, this.promised) > 0) this.promised = r.ballot;
        return;
      case 'accepted':
        this.accepted.set(r.pvalue.slot, r.pvalue);
        return;
      case 'round':
        this.round = Math.max(this.round, r.round);
        return;
      case 'decided':
        this.decided.set(r.slot, r.batch);
        return;
      case 'joined':
        if (this.joined === null || r.round >= this.joined.round) this.joined = { round: r.round, by: r.by };
        return;
      case 'verified':
        this.verified.set(verifiedKey(r.ballot.round, r.slot), r.digest);
        return;
      case 'prepared':
        this.prepared.set(r.certificate.slot, r.certificate);
        return;
      case 'committed':
        this.committed.set(verifiedKey(r.ballot.round, r.slot), r.key);
        return;
      case 'certified':
        this.certified.set(r.entry.slot, r.entry);
        return;
      case 'state-part':
        this.parts.set(r.index, r.part);
        return;
      case 'checkpoint':
        this.installCheckpoint(r.certificate, r.executedUpTo, r.partCount);
        return;
      case 'snapshot':
        this.installSnapshot(r.executedUpTo, r.partCount, r.logFrom);
        return;
    }
  }

  /** The state of `partCount` parts, from the latest part of each index. */
  private partsOf(partCount: number, at: string): Uint8Array[] {
    return Array.from({ length: partCount }, (_, index) => {
      const part = this.parts.get(index);
      // Parts are written in the same step as their checkpoint, before it: a gap is a damaged log.
      if (part === undefined) throw new Error(`storage: ${at} lacks state part ${index}`);
      return part;
    });
  }

  private installSnapshot(executedUpTo: Slot, partCount: number, logFrom: Slot): void {
    if (this.localSnapshot !== null && this.localSnapshot.executedUpTo >= executedUpTo) return;
    this.localSnapshot = { executedUpTo, logFrom, parts: this.partsOf(partCount, `snapshot at slot ${executedUpTo}`) };
    for (const map of [this.accepted, this.decided]) {
      for (const slot of map.keys()) if (slot < logFrom) map.delete(slot);
    }
  }

  private installCheckpoint(certificate: CheckpointCertificate, executedUpTo: Slot, partCount: number): void {
    if (this.checkpoint !== null && this.checkpoint.certificate.slot >= certificate.slot) return;
    const parts = this.partsOf(partCount, `checkpoint at slot ${certificate.slot}`);
    this.checkpoint = { certificate, executedUpTo, parts };
    const low = certificate.slot;
    for (const slot of this.prepared.keys()) if (slot < low) this.prepared.delete(slot);
    for (const slot of this.certified.keys()) if (slot < low) this.certified.delete(slot);
    for (const map of [this.verified, this.committed]) {
      for (const key of map.keys()) if (roundSlotOf(key).slot < low) map.delete(key);
    }
  }

  snapshot(): PersistentState {
    return {
      promised: this.promised,
      accepted: new Map(this.accepted),
      round: this.round,
      decided: new Map(this.decided),
      snapshot: this.localSnapshot,
      byzantine: {
        joined: this.joined,
        verified: new Map(this.verified),
        committed: new Map(this.committed),
        prepared: new Map(this.prepared),
        certified: new Map(this.certified),
        checkpoint: this.checkpoint,
      },
    };
  }
}
