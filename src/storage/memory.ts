// In-memory Storage: survives a simulated crash (the simulator keeps the object), not a process exit.
import type { PersistRecord } from '../core/effects.ts';
import { StateAccumulator, type PersistentState, type Storage } from '../core/storage.ts';

export class MemoryStorage implements Storage {
  private readonly state = new StateAccumulator();
  /** Records applied so far; the overhead experiment counts them. */
  writes = 0;

  load(): PersistentState {
    return this.state.snapshot();
  }

  apply(records: readonly PersistRecord[]): void {
    for (const r of records) this.state.applyRecord(r);
    this.writes += records.length;
  }
}
