// What a node keeps across a crash. The core emits PersistRecords; a Storage applies them
// (durably, before the dependent messages leave) and loads the state on restart.
import { BOTTOM, compareBallots, type Ballot } from '../core/ballot.ts';
import type { PersistRecord } from '../core/effects.ts';
import type { Batch, PValue, Slot } from '../core/types.ts';

export interface PersistentState {
  readonly promised: Ballot;
  readonly accepted: ReadonlyMap<Slot, PValue>;
  /** Highest round this node has used as a proposer: never reuse a ballot after restart. */
  readonly round: number;
  readonly decided: ReadonlyMap<Slot, Batch>;
}

export interface Storage {
  load(): PersistentState;
  apply(records: readonly PersistRecord[]): void;
}

export function emptyState(): PersistentState {
  return { promised: BOTTOM, accepted: new Map(), round: 0, decided: new Map() };
}

/** Folds records into a mutable state; shared by every Storage implementation. */
export class StateAccumulator {
  promised: Ballot = BOTTOM;
  readonly accepted = new Map<Slot, PValue>();
  round = 0;
  readonly decided = new Map<Slot, Batch>();

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
    }
  }

  snapshot(): PersistentState {
    return {
      promised: this.promised,
      accepted: new Map(this.accepted),
      round: this.round,
      decided: new Map(this.decided),
    };
  }
}
