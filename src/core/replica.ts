// Replica: executes decided batches in slot order against the application, exactly once per
// (clientId, session, seq) thanks to client sessions (seed 001, "Clients"): a duplicate of a
// session's last executed command gets the cached reply; an older one is ignored.
//
// Each client process has its own session, so processes sharing a client id never make each
// other's seqs stale. A client keeps at most CLIENT_SESSIONS_PER_CLIENT_MAX sessions, the least
// recently used evicted first; the table is replicated state (snapshots carry it, in eviction
// order), so every replica evicts the same session at the same command. A session's first seq is
// 1: a command of an unknown session with a later seq belongs to an evicted one and is answered
// `evicted` instead of being executed again.
import { CLIENT_SESSIONS_MAX, CLIENT_SESSIONS_PER_CLIENT_MAX } from './limits.ts';
import type { Batch, ClientId, Command, SessionId, Slot } from './types.ts';
import type { StateMachine } from '../app/state-machine.ts';
import { decodeReplicaSnapshot, encodeReplicaSnapshot } from '../messages/codec.ts';

interface Session {
  readonly seq: number;
  readonly result: Uint8Array;
}

export interface Execution {
  readonly slot: Slot;
  readonly command: Command;
  /** The application's answer; null if the command's session had been evicted, so it did not run. */
  readonly result: Uint8Array | null;
}

export type SessionLookup =
  | { readonly kind: 'new' }
  | { readonly kind: 'done'; readonly result: Uint8Array }
  | { readonly kind: 'stale' };

/** The seq every session starts at. */
const FIRST_SEQ = 1;

export class Replica {
  private readonly app: StateMachine;
  /** Per client, its sessions least recently used first (a Map keeps insertion order). */
  private readonly clients = new Map<ClientId, Map<SessionId, Session>>();
  private sessionCount = 0;
  private nextSlot: Slot = 0;

  constructor(app: StateMachine) {
    this.app = app;
  }

  /** First slot not yet executed. */
  get executedUpTo(): Slot {
    return this.nextSlot;
  }

  /**
   * What a request finds. An unknown session is 'new' even past seq 1: this replica may lag
   * behind the slot that opened it, so only execution, in log order, may call it evicted.
   */
  lookup(clientId: ClientId, session: SessionId, seq: number): SessionLookup {
    const known = this.clients.get(clientId)?.get(session);
    if (known === undefined || seq > known.seq) return { kind: 'new' };
    if (seq === known.seq) return { kind: 'done', result: known.result };
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
    const clients = [...this.clients]
      .sort(([a], [b]) => a - b)
      .map(([clientId, sessions]) => ({ clientId, sessions: [...sessions].map(([session, { seq, result }]) => ({ session, seq, result })) }));
    return encodeReplicaSnapshot({ executedUpTo: this.nextSlot, clients, app: this.app.snapshot() });
  }

  /** Install a snapshot (state transfer); throws, changing nothing, if it is malformed. */
  restore(bytes: Uint8Array): void {
    const snapshot = decodeReplicaSnapshot(bytes);
    this.app.restore(snapshot.app);
    this.clients.clear();
    this.sessionCount = 0;
    for (const { clientId, sessions } of snapshot.clients) {
      this.clients.set(clientId, new Map(sessions.map(({ session, seq, result }) => [session, { seq, result }])));
      this.sessionCount += sessions.length;
    }
    this.nextSlot = snapshot.executedUpTo;
  }

  /** The result, null if the session was evicted, undefined if the command is a duplicate or cannot be tracked. */
  private execute(command: Command): Uint8Array | null | undefined {
    const sessions = this.clients.get(command.clientId);
    const known = sessions?.get(command.session);
    if (known !== undefined && command.seq <= known.seq) return undefined;
    if (known === undefined) {
      if (command.seq !== FIRST_SEQ) return null;
      if (!this.admit(sessions)) return undefined;
    }
    const result = this.app.apply(command.op);
    const own = sessions ?? new Map<SessionId, Session>();
    if (sessions === undefined) this.clients.set(command.clientId, own);
    else own.delete(command.session); // re-inserted last: the most recently used
    if (known === undefined) this.sessionCount++;
    own.set(command.session, { seq: command.seq, result });
    return result;
  }

  /**
   * Room for one more session of a client: its least recently used one goes if it is at its
   * bound, or if the whole table is full (then only a client that has a session can open another).
   * Deterministic on every replica: the same decided log reaches the same verdict.
   */
  private admit(sessions: Map<SessionId, Session> | undefined): boolean {
    const own = sessions?.size ?? 0;
    if (own < CLIENT_SESSIONS_PER_CLIENT_MAX && this.sessionCount < CLIENT_SESSIONS_MAX) return true;
    if (own === 0) return false;
    sessions!.delete(sessions!.keys().next().value!);
    this.sessionCount--;
    return true;
  }
}
