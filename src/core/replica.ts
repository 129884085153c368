// Replica: executes decided batches in slot order against the application, exactly once per
// (clientId, seq) thanks to client sessions (seed 001, "Clients"): a duplicate of the last
// executed command gets the cached reply; an older one is ignored.
import { CLIENT_SESSIONS_MAX } from './limits.ts';
import type { Batch, ClientId, Command, Slot } from './types.ts';
import type { StateMachine } from '../app/state-machine.ts';
import { decodeReplicaSnapshot, encodeReplicaSnapshot } from '../messages/codec.ts';

interface Session {
  readonly seq: number;
  readonly result: Uint8Array;
}

export interface Execution {
  readonly slot: Slot;
  readonly command: Command;
  readonly result: Uint8Array;
}

export type SessionLookup =
  | { readonly kind: 'new' }
  | { readonly kind: 'done'; readonly result: Uint8Array }
  | { readonly kind: 'stale' };

export class Replica {
  private readonly app: StateMachine;
  private readonly sessions = new Map<ClientId, Session>();
  private nextSlot: Slot = 0;

  constructor(app: StateMachine) {
    this.app = app;
  }

  /** First slot not yet executed. */
  get executedUpTo(): Slot {
    return this.nextSlot;
  }

  lookup(clientId: ClientId, seq: number): SessionLookup {
    const session = this.sessions.get(clientId);
    if (session === undefined || seq > session.seq) return { kind: 'new' };
    if (seq === session.seq) return { kind: 'done', result: session.result };
    return { kind: 'stale' };
  }

  /** Execute every decided slot from the first unexecuted one on, in order. */
  executeReady(decision: (slot: Slot) => Batch | undefined): Execution[] {
    const executed: Execution[] = [];
    for (let batch = decision(this.nextSlot); batch !== undefined; batch = decision(this.nextSlot)) {
      for (const command of batch.commands) {
        const result = this.execute(command);
        if (result !== undefined) executed.push({ slot: this.nextSlot, command, result });
      }
      this.nextSlot++;
    }
    return executed;
  }

  stateDigest(): Uint8Array {
    return this.app.stateDigest();
  }

  /** Canonical bytes of everything execution determines: position, sessions, application state. */
  snapshot(): Uint8Array {
    const sessions = [...this.sessions]
      .sort(([a], [b]) => a - b)
      .map(([clientId, { seq, result }]) => ({ clientId, seq, result }));
    return encodeReplicaSnapshot({ executedUpTo: this.nextSlot, sessions, app: this.app.snapshot() });
  }

  /** Install a snapshot (state transfer); throws, changing nothing, if it is malformed. */
  restore(bytes: Uint8Array): void {
    const snapshot = decodeReplicaSnapshot(bytes);
    this.app.restore(snapshot.app);
    this.sessions.clear();
    for (const { clientId, seq, result } of snapshot.sessions) this.sessions.set(clientId, { seq, result });
    this.nextSlot = snapshot.executedUpTo;
  }

  private execute(command: Command): Uint8Array | undefined {
    if (this.lookup(command.clientId, command.seq).kind !== 'new') return undefined;
    if (!this.sessions.has(command.clientId) && this.sessions.size >= CLIENT_SESSIONS_MAX) {
      // Deterministic on every replica: the same decided log reaches the same verdict.
      return undefined;
    }
    const result = this.app.apply(command.op);
    this.sessions.set(command.clientId, { seq: command.seq, result });
    return result;
  }
}
