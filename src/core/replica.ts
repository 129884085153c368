// Replica: executes decided batches in slot order against the application, exactly once per
// (clientId, seq) thanks to client sessions (seed 001, "Clients"): a duplicate of the last
// executed command gets the cached reply; an older one is ignored.
import { CLIENT_SESSIONS_MAX, SESSION_PARTS, STATE_PART_BYTES_MAX, STATE_PARTS_MAX } from './limits.ts';
import type { Batch, ClientId, Command, Slot } from './types.ts';
import type { StateMachine } from '../app/state-machine.ts';
import { decodeSessionPart, encodeSessionPart, SESSION_BYTES_MAX, stateDigestOf, statePartDigest } from '../messages/codec.ts';

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

/**
 * Everything execution determines, as checkpoints sign it and state transfer ships it: the
 * position, and the parts (the session table's SESSION_PARTS, then the application's) with
 * their digests. Immutable: snapshots of successive checkpoints share the parts that did not change.
 */
export interface StateSnapshot {
  /** Every slot below this one has been executed. */
  readonly executedUpTo: Slot;
  readonly parts: readonly Uint8Array[];
  readonly digests: readonly Uint8Array[];
  /** stateDigestOf(executedUpTo, digests): what a Checkpoint signs. */
  readonly digest: Uint8Array;
}

/** A snapshot of these parts, every digest computed (state loaded from storage). */
export function snapshotOf(executedUpTo: Slot, parts: readonly Uint8Array[]): StateSnapshot {
  const digests = parts.map(statePartDigest);
  return { executedUpTo, parts, digests, digest: stateDigestOf({ executedUpTo, digests }) };
}

/** Sessions one part holds at most: even with maximal results it stays within STATE_PART_BYTES_MAX. */
const SESSIONS_PER_PART_MAX = Math.floor((STATE_PART_BYTES_MAX - 3) / SESSION_BYTES_MAX);

export class Replica {
  private readonly app: StateMachine;
  /** Sessions by client id, in SESSION_PARTS parts (clientId mod SESSION_PARTS); a part's map is made on first use. */
  private sessions: (Map<ClientId, Session> | undefined)[] = new Array(SESSION_PARTS);
  private sessionCount = 0;
  private nextSlot: Slot = 0;
  /**
   * Each part's encoding and digest as of the last snapshot (none before the first: crash mode
   * never takes one), and the session parts changed since.
   */
  private encoded: Uint8Array[] = [];
  private digests: Uint8Array[] = [];
  private changedSessions = new Set<number>();

  constructor(app: StateMachine) {
    if (SESSION_PARTS + app.partCount > STATE_PARTS_MAX) throw new Error(`replica: ${SESSION_PARTS + app.partCount} state parts > STATE_PARTS_MAX ${STATE_PARTS_MAX}`);
    this.app = app;
  }

  /** First slot not yet executed. */
  get executedUpTo(): Slot {
    return this.nextSlot;
  }

  /** Parts of the state: the session table's, then the application's. */
  get partCount(): number {
    return SESSION_PARTS + this.app.partCount;
  }

  lookup(clientId: ClientId, seq: number): SessionLookup {
    const session = this.sessions[clientId % SESSION_PARTS]?.get(clientId);
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

  /** The state now; re-encodes and rehashes only the parts changed since the last snapshot. */
  snapshot(): StateSnapshot {
    const first = this.encoded.length === 0;
    const appChanged = this.app.takeChangedParts();
    for (const index of first ? Array.from({ length: SESSION_PARTS }, (_, i) => i) : this.changedSessions) this.refresh(index, encodeSessionPart(this.sessionsOf(index)));
    this.changedSessions.clear();
    for (const index of first ? Array.from({ length: this.app.partCount }, (_, i) => i) : appChanged) this.refresh(SESSION_PARTS + index, this.app.part(index));
    const executedUpTo = this.nextSlot;
    const digests = this.digests.slice();
    return { executedUpTo, parts: this.encoded.slice(), digests, digest: stateDigestOf({ executedUpTo, digests }) };
  }

  /** Install a snapshot whose digests have been checked (state transfer, restart); throws, changing nothing, if it is malformed. */
  restore(snapshot: StateSnapshot): void {
    if (snapshot.parts.length !== this.partCount) throw new Error(`replica: snapshot of ${snapshot.parts.length} parts, expected ${this.partCount}`);
    const sessions = snapshot.parts.slice(0, SESSION_PARTS).map((bytes, index) => {
      const entries = decodeSessionPart(bytes, index);
      if (entries.length > SESSIONS_PER_PART_MAX) throw new Error(`replica: session part ${index} holds ${entries.length} sessions > ${SESSIONS_PER_PART_MAX}`);
      return new Map(entries.map(({ clientId, seq, result }) => [clientId, { seq, result }]));
    });
    const sessionCount = sessions.reduce((sum, part) => sum + part.size, 0);
    if (sessionCount > CLIENT_SESSIONS_MAX) throw new Error(`replica: ${sessionCount} sessions > CLIENT_SESSIONS_MAX ${CLIENT_SESSIONS_MAX}`);
    this.app.restore(snapshot.parts.slice(SESSION_PARTS));
    this.sessions = sessions;
    this.sessionCount = sessionCount;
    this.changedSessions = new Set();
    this.encoded = snapshot.parts.slice();
    this.digests = snapshot.digests.slice();
    this.nextSlot = snapshot.executedUpTo;
  }

  private refresh(index: number, part: Uint8Array): void {
    this.encoded[index] = part;
    this.digests[index] = statePartDigest(part);
  }

  private sessionsOf(index: number): { clientId: ClientId; seq: number; result: Uint8Array }[] {
    return [...(this.sessions[index] ?? [])]
      .sort(([a], [b]) => a - b)
      .map(([clientId, { seq, result }]) => ({ clientId, seq, result }));
  }

  private execute(command: Command): Uint8Array | undefined {
    if (this.lookup(command.clientId, command.seq).kind !== 'new') return undefined;
    const index = command.clientId % SESSION_PARTS;
    const part = (this.sessions[index] ??= new Map());
    // Deterministic on every replica: the same decided log reaches the same verdict.
    if (!part.has(command.clientId) && (this.sessionCount >= CLIENT_SESSIONS_MAX || part.size >= SESSIONS_PER_PART_MAX)) return undefined;
    const result = this.app.apply(command.op);
    if (!part.has(command.clientId)) this.sessionCount++;
    part.set(command.clientId, { seq: command.seq, result });
    this.changedSessions.add(index);
    return result;
  }
}
