// Replica: executes decided batches in slot order against the application, exactly once per
// (clientId, session, seq) thanks to client sessions (seed 001, "Clients"): a duplicate of a
// session's last executed command gets the cached reply; an older one is ignored.
//
// Each client process has its own session, so processes sharing a client id never make each
// other's seqs stale. A client keeps at most CLIENT_SESSIONS_PER_CLIENT_MAX sessions, the least
// recently used evicted first; the table is replicated state (checkpoints carry it, in eviction
// order), so every replica evicts the same session at the same command. A session's first seq is
// 1: a command of an unknown session with a later seq belongs to an evicted one and is answered
// `evicted` instead of being executed again. A part of the table holds at most 238 sessions (all
// its clients'), so that it fits a frame; a client's new session in a full part evicts that
// client's least recently used one, and a client without one in a full part is not executed.
//
// The state is kept in parts (the session table's SESSION_PARTS by client id, then the
// application's), so a checkpoint re-encodes and rehashes only what changed and state transfer
// ships it part by part.
import { CLIENT_SESSIONS_MAX, CLIENT_SESSIONS_PER_CLIENT_MAX, SESSION_PARTS, STATE_PART_BYTES_MAX, STATE_PARTS_MAX } from '../base/limits.ts';
import type { Batch, ClientId, Command, SessionId, Slot } from '../base/types.ts';
import type { StateMachine } from './state-machine.ts';
import { isMembershipOp, type ConfigurationHistory } from './configuration.ts';
import { bytesEqual } from '../../crypto/digest.ts';
import { decodeSessionPart, encodeSessionPart, SESSION_BYTES_MAX, stateDigestOf, statePartDigest, type ClientSessions } from '../messages/codec.ts';

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

/** The seq every session starts at. */
const FIRST_SEQ = 1;
/** Sessions one part holds at most: even with maximal results it stays within STATE_PART_BYTES_MAX. */
const SESSIONS_PER_PART_MAX = Math.floor((STATE_PART_BYTES_MAX - 3) / SESSION_BYTES_MAX);

/** One part of the session table: its clients, each with its sessions least recently used first. */
interface SessionPart {
  readonly clients: Map<ClientId, Map<SessionId, Session>>;
  sessions: number;
}

export class Replica {
  private readonly app: StateMachine;
  /** The session table in SESSION_PARTS parts (clientId mod SESSION_PARTS); a part is made on first use. */
  private parts: (SessionPart | undefined)[] = new Array(SESSION_PARTS);
  private sessionCount = 0;
  private nextSlot: Slot = 0;
  /**
   * Each part's encoding and digest as of the last snapshot (none before the first: crash mode
   * never takes one), and the session parts changed since.
   */
  private encoded: Uint8Array[] = [];
  private digests: Uint8Array[] = [];
  /** The part refresh hashed last, and its digest. */
  private lastHashed: { readonly part: Uint8Array; readonly digest: Uint8Array } | null = null;
  private changedSessions = new Set<number>();
  /** A reconfigurable cluster's configuration history: its state at a snapshot is the last part. */
  private readonly configuration: ConfigurationHistory | null;

  constructor(app: StateMachine, configuration: ConfigurationHistory | null = null) {
    const parts = SESSION_PARTS + app.partCount + (configuration === null ? 0 : 1);
    if (parts > STATE_PARTS_MAX) throw new Error(`replica: ${parts} state parts > STATE_PARTS_MAX ${STATE_PARTS_MAX}`);
    this.app = app;
    this.configuration = configuration;
  }

  /** First slot not yet executed. */
  get executedUpTo(): Slot {
    return this.nextSlot;
  }

  /** Parts of the state: the session table's, then the application's, then (reconfigurable) the configuration's. */
  get partCount(): number {
    return SESSION_PARTS + this.app.partCount + (this.configuration === null ? 0 : 1);
  }

  /**
   * What a request finds. An unknown session is 'new' even past seq 1: this replica may lag
   * behind the slot that opened it, so only execution, in log order, may call it evicted.
   */
  lookup(clientId: ClientId, session: SessionId, seq: number): SessionLookup {
    const known = this.parts[clientId % SESSION_PARTS]?.clients.get(clientId)?.get(session);
    if (known === undefined || seq > known.seq) return { kind: 'new' };
    if (seq === known.seq) return { kind: 'done', result: known.result };
    return { kind: 'stale' };
  }

  /**
   * Whether `command` may be decided: the application's op if it lets it (StateMachine.validate),
   * a membership command in a reconfigurable cluster only (whose configuration judges it at
   * execution); a static cluster's membership never changes, so it refuses them.
   */
  valid(command: Command): boolean {
    return this.refusal(command) === null;
  }

  /** Why `command` may not be decided (one line, for the client), or null if it may. */
  refusal(command: Command): string | null {
    if (isMembershipOp(command.op)) return this.configuration === null ? 'a membership change, but this cluster is static (not reconfigurable)' : null;
    return (this.app.validate?.(command.op) ?? true) ? null : 'the application refuses this op';
  }

  /** Whether every command of `batch` is valid: an acceptor Verifies no other. */
  validBatch(batch: Batch): boolean {
    return batch.commands.every((c) => this.valid(c));
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
    for (const index of first ? Array.from({ length: SESSION_PARTS }, (_, i) => i) : this.changedSessions) this.refresh(index, encodeSessionPart(this.clientsOf(index)));
    this.changedSessions.clear();
    for (const index of first ? Array.from({ length: this.app.partCount }, (_, i) => i) : appChanged) this.refresh(SESSION_PARTS + index, this.app.part(index));
    // A few bytes: encoded afresh every time.
    if (this.configuration !== null) this.refresh(SESSION_PARTS + this.app.partCount, this.configuration.encodeAt(this.nextSlot));
    const executedUpTo = this.nextSlot;
    const digests = this.digests.slice();
    return { executedUpTo, parts: this.encoded.slice(), digests, digest: stateDigestOf({ executedUpTo, digests }) };
  }

  /** Install a snapshot whose digests have been checked (state transfer, restart); throws, changing nothing, if it is malformed. */
  restore(snapshot: StateSnapshot): void {
    if (snapshot.parts.length !== this.partCount) throw new Error(`replica: snapshot of ${snapshot.parts.length} parts, expected ${this.partCount}`);
    const parts = snapshot.parts.slice(0, SESSION_PARTS).map((bytes, index): SessionPart => {
      const clients = decodeSessionPart(bytes, index);
      const sessions = clients.reduce((sum, c) => sum + c.sessions.length, 0);
      if (sessions > SESSIONS_PER_PART_MAX) throw new Error(`replica: session part ${index} holds ${sessions} sessions > ${SESSIONS_PER_PART_MAX}`);
      return {
        clients: new Map(clients.map(({ clientId, sessions }) => [clientId, new Map(sessions.map(({ session, seq, result }) => [session, { seq, result }]))])),
        sessions,
      };
    });
    const sessionCount = parts.reduce((sum, part) => sum + part.sessions, 0);
    if (sessionCount > CLIENT_SESSIONS_MAX) throw new Error(`replica: ${sessionCount} sessions > CLIENT_SESSIONS_MAX ${CLIENT_SESSIONS_MAX}`);
    const appEnd = SESSION_PARTS + this.app.partCount;
    const configuration = this.configuration?.decodePart(snapshot.parts[appEnd]!) ?? null;
    this.app.restore(snapshot.parts.slice(SESSION_PARTS, appEnd));
    if (configuration !== null) this.configuration!.install(configuration, snapshot.executedUpTo);
    this.parts = parts;
    this.sessionCount = sessionCount;
    this.changedSessions = new Set();
    this.encoded = snapshot.parts.slice();
    this.digests = snapshot.digests.slice();
    this.nextSlot = snapshot.executedUpTo;
  }

  private refresh(index: number, part: Uint8Array): void {
    this.encoded[index] = part;
    // Parts nothing was written to encode alike (nearly all of them at the first snapshot): hash that encoding once.
    const last = this.lastHashed;
    const digest = last !== null && bytesEqual(last.part, part) ? last.digest : statePartDigest(part);
    this.lastHashed = { part, digest };
    this.digests[index] = digest;
  }

  private clientsOf(index: number): ClientSessions[] {
    return [...(this.parts[index]?.clients ?? [])]
      .sort(([a], [b]) => a - b)
      .map(([clientId, sessions]) => ({ clientId, sessions: [...sessions].map(([session, { seq, result }]) => ({ session, seq, result })) }));
  }

  /** The result, null if the session was evicted, undefined if the command is a duplicate or cannot be tracked. */
  private execute(command: Command): Uint8Array | null | undefined {
    const index = command.clientId % SESSION_PARTS;
    const part = (this.parts[index] ??= { clients: new Map(), sessions: 0 });
    const sessions = part.clients.get(command.clientId);
    const known = sessions?.get(command.session);
    if (known !== undefined && command.seq <= known.seq) return undefined;
    if (known === undefined) {
      if (command.seq !== FIRST_SEQ) return null;
      if (!this.admit(part, sessions)) return undefined;
    }
    // A membership command acts on the configuration (configuration.ts), never on the application.
    const result = isMembershipOp(command.op) ? this.membershipResult() : this.app.apply(command.op);
    const own = sessions ?? new Map<SessionId, Session>();
    if (sessions === undefined) part.clients.set(command.clientId, own);
    else own.delete(command.session); // re-inserted last: the most recently used
    if (known === undefined) {
      this.sessionCount++;
      part.sessions++;
    }
    own.set(command.session, { seq: command.seq, result });
    this.changedSessions.add(index);
    return result;
  }

  /** A decided membership command's answer; a static cluster (whose replicas refuse them) records no change. */
  private membershipResult(): Uint8Array {
    return this.configuration?.resultAt(this.nextSlot) ?? new Uint8Array(0);
  }

  /**
   * Room for one more session of a client: its least recently used one goes if it is at its
   * bound, or if its part or the whole table is full (then only a client that has a session can
   * open another). Deterministic on every replica: the same decided log reaches the same verdict.
   */
  private admit(part: SessionPart, sessions: Map<SessionId, Session> | undefined): boolean {
    const own = sessions?.size ?? 0;
    if (own < CLIENT_SESSIONS_PER_CLIENT_MAX && this.sessionCount < CLIENT_SESSIONS_MAX && part.sessions < SESSIONS_PER_PART_MAX) return true;
    if (own === 0) return false;
    sessions!.delete(sessions!.keys().next().value!);
    this.sessionCount--;
    part.sessions--;
    return true;
  }
}
