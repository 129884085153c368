// Clients and the progress watchdog. A replica checks a client's signature once, keeps the
// command until it executes, and answers if the client asked it or it is one of the command's
// designated repliers (the client takes a result once f+1 agree). Every command waiting here must
// execute within a period, or the replica suspects the leader (view-change.ts).
import { CLIENT_SESSIONS_MAX, PROGRESS_UNPROPOSED_STALLS_MAX, UNHEARD_LEADER_STALLS_MAX } from '../../base/limits.ts';
import { commandKey, sessionKey, type Batch, type Command, type NodeId, type Slot } from '../../base/types.ts';
import type { Outbox } from '../../core/outbox.ts';
import type { Replica } from '../../core/replica.ts';
import type { ClientRequest } from '../../messages/types.ts';
import { EMPTY, type ReplicaContext } from './context.ts';
import type { Leader } from './leader.ts';
import { designatedReplier } from './repliers.ts';
import type { ViewChange } from './view-change.ts';

export interface ClientsParts {
  readonly ctx: ReplicaContext;
  readonly view: ViewChange;
  readonly leader: Leader;
  readonly replica: Replica;
  /** Batches our acceptor verified in this ballot: what the leader has proposed. */
  readonly proposed: () => Iterable<[Slot, { readonly batch: Batch }]>;
  readonly isDecided: (slot: Slot) => boolean;
}

export class Clients {
  readonly #p: ClientsParts;
  /** Client commands this replica knows of and has not executed, by client session (sessionKey). */
  readonly #pending = new Map<string, Command>();
  /** Commands that were waiting when the progress timer was armed; null when it is not armed. */
  #watched: Set<string> | null = null;
  /** Execution's position when the progress timer was armed: whether the period saw progress. */
  #watchedFrom: Slot = 0;
  /** Consecutive periods in which a watched command was still not proposed (the leader may not have it yet). */
  #unproposedStalls = 0;
  /** Members that spoke to us since this incarnation started (bounded by n). */
  readonly #heard = new Set<NodeId>();
  /** Progress periods that stalled while our leader had not yet been heard from. */
  #unheardStalls = 0;

  constructor(parts: ClientsParts) {
    this.#p = parts;
  }

  get waiting(): number {
    return this.#pending.size;
  }

  heard(from: NodeId): void {
    this.#heard.add(from);
  }

  onClientRequest(msg: ClientRequest, out: Outbox): void {
    const { ctx, view, replica } = this.#p;
    const { command } = msg;
    const session = replica.lookup(command.clientId, command.session, command.seq);
    if (session.kind === 'stale') return;
    if (!ctx.auth.verifyCommand(command)) return ctx.drop('request', 'bad-client-signature');
    // Not proposed, not watched: acceptors would refuse its batch, and waiting for it would only
    // suspect the leader. Every honest replica says why alike, so the client hears f+1 matching refusals.
    const refusal = replica.refusal(command);
    if (refusal !== null) {
      ctx.drop('request', 'invalid-command');
      return out.answer(command, 'refused', new TextEncoder().encode(refusal), view.leader);
    }
    if (session.kind === 'done') return out.answer(command, 'ok', session.result, view.leader);
    const key = sessionKey(command);
    const known = this.#pending.get(key);
    if (known === undefined && this.#pending.size >= CLIENT_SESSIONS_MAX) return ctx.drop('request', 'too-many-clients');
    if (known !== undefined && known.seq > command.seq) return;
    // Held here, the command is watched: its client asked us, so we answer it and see it done.
    this.#pending.set(key, command);
    this.armProgress(out);
    if (view.isLeader) this.#p.leader.enqueue(command);
    else if (view.status === 'normal') out.answer(command, 'redirect', EMPTY, view.leader);
  }

  /** `command` executed: answer its client if it asked us or we are one of its designated repliers. */
  executed(command: Command, result: Uint8Array | null, out: Outbox): void {
    const { ctx, view } = this.#p;
    const asked = this.#pending.get(sessionKey(command))?.seq === command.seq;
    if (asked) this.#pending.delete(sessionKey(command));
    const leader = view.leader;
    if ((asked && leader !== ctx.id) || designatedReplier(ctx.id, command.clientId, leader, ctx.n, ctx.weak - 1)) {
      out.answer(command, result === null ? 'evicted' : 'ok', result ?? EMPTY, leader);
    }
  }

  /** We lead the ballot we joined: every command waiting here goes into our queue, in a fixed order. */
  enqueueWaiting(): void {
    for (const command of [...this.#pending.values()].sort((a, b) => a.clientId - b.clientId || a.session - b.session)) this.#p.leader.enqueue(command);
  }

  /** Progress watchdog: every client command waiting here must execute within a period. */
  armProgress(out: Outbox): void {
    const { view, replica } = this.#p;
    if (this.#pending.size === 0 || view.status !== 'normal') {
      if (this.#watched !== null) out.clearTimer('progress');
      this.#watched = null;
      // Nothing waits: a command that comes next gets its own period of grace.
      this.#unproposedStalls = 0;
      return;
    }
    if (this.#watched !== null) return;
    this.#watched = new Set([...this.#pending.values()].map(commandKey));
    this.#watchedFrom = replica.executedUpTo;
    out.setTimer('progress', view.backoff.timeout(this.#p.ctx.config.progressTimeoutMs));
  }

  /** We left the ballot: nothing is watched until we join the next. */
  stopWatching(out: Outbox): void {
    out.clearTimer('progress');
    this.#watched = null;
  }

  resetBallot(): void {
    this.#unproposedStalls = 0;
  }

  onProgressTimeout(out: Outbox): void {
    const { ctx, view } = this.#p;
    const watched = this.#watched;
    this.#watched = null;
    if (watched === null || view.status !== 'normal') return;
    const stalled = [...this.#pending.values()].filter((c) => watched.has(commandKey(c)));
    // A period in which every watched command executed: the next unproposed one starts afresh.
    if (stalled.length === 0) this.#unproposedStalls = 0;
    else if (!this.#leaderAtWork(stalled)) {
      // A command that waited a whole period: the leader is faulty, or cut off; replace it.
      // Unless we have not heard from it since we started: our own links may not be up yet,
      // and a change begun alone would strand us above the others. Give them a few periods.
      const leader = view.leader;
      if (leader !== ctx.id && !this.#heard.has(leader) && this.#unheardStalls < UNHEARD_LEADER_STALLS_MAX) {
        this.#unheardStalls++;
        return this.armProgress(out);
      }
      view.suspicions.suspect(out);
    }
    this.armProgress(out);
  }

  /**
   * Whether commands that waited a whole period are only slow, not held back: under load a
   * period can pass before a command's turn comes, and a leader replaced for that would only
   * make the wait longer. The leader is at work when execution advanced in the period and each
   * stalled command sits in an undecided slot we took its Accept for. Slots execute in order, so
   * it cannot keep execution moving while holding such a slot back; a command it has not
   * proposed gets PROGRESS_UNPROPOSED_STALLS_MAX more periods (the client may have reached us
   * before it), then the leader is suspected.
   */
  #leaderAtWork(stalled: readonly Command[]): boolean {
    if (this.#p.replica.executedUpTo <= this.#watchedFrom) return false;
    const proposed = new Set<string>();
    for (const [slot, { batch }] of this.#p.proposed()) {
      if (!this.#p.isDecided(slot)) for (const command of batch.commands) proposed.add(commandKey(command));
    }
    if (stalled.every((c) => proposed.has(commandKey(c)))) {
      this.#unproposedStalls = 0;
      return true;
    }
    return ++this.#unproposedStalls <= PROGRESS_UNPROPOSED_STALLS_MAX;
  }
}
