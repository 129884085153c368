// One cluster member: proposer, acceptor, learner and replica composed behind a single
// step(input) -> effects function (etcd raft's Step/Ready). Pure: no I/O, no clock, no
// global randomness; time arrives as timer expiries and randomness through `rng`.
//
// Every SNAPSHOT_INTERVAL_SLOTS executed slots the node snapshots its executed state and forgets
// the log and its pvalues more than LOG_RETAIN_SLOTS below it; a peer that needs a forgotten slot
// is sent the snapshot, in parts (docs/PROTOCOL.md, "Snapshots and log truncation").
//
// With Cheap Paxos auxiliaries (cheap.ts) a main member sends Accepted, Heartbeats and catch-up
// traffic to the main members only, and as leader asks the auxiliaries only while it suspects a
// main acceptor.
//
// With reconfiguration (configuration.ts) every node of the universe runs, members or not: a
// non-member accepts and learns (so a new member catches up before it counts) but does not
// campaign, and a leader that finds itself outside the configuration of its next slot steps down.
import type { Ballot } from '../base/types.ts';
import { Acceptor } from './acceptor.ts';
import { ballotEquals, ballotGreater, compareBallots } from '../base/ballot.ts';
import { Engagement, mainsOf } from './cheap.ts';
import type { CoreConfig, Reconfiguration } from './config.ts';
import { ConfigurationHistory, isMember, StaticConfiguration } from './configuration.ts';
import type { Effect, TimerName } from './effects.ts';
import { StepLoop } from './step-loop.ts';
import { Learner } from './learner.ts';
import {
  CATCHUP_ENTRIES_MAX,
  CLIENT_SESSIONS_MAX,
  FRAME_BYTES_MAX,
  LEARNER_WINDOW_SLOTS,
  LOG_RETAIN_SLOTS,
  ROUND_MAX,
  SNAPSHOT_INTERVAL_SLOTS,
} from '../base/limits.ts';
import { Outbox } from './outbox.ts';
import type { ProtocolNode } from './protocol.ts';
import { Proposer } from './proposer.ts';
import { Replica, snapshotOf, type StateSnapshot } from './replica.ts';
import type { Rng } from './rng.ts';
import { changedPartRecords, partsFor, StateTransfer } from './state-transfer.ts';
import { sessionKey, type Batch, type NodeId, type Slot } from '../base/types.ts';
import type { StateMachine } from './state-machine.ts';
import type {
  Accept,
  Accepted,
  CatchupReply,
  CatchupRequest,
  ClientRequest,
  DecidedEntry,
  Heartbeat,
  Nack,
  PeerMessage,
  Prepare,
  Promise1b,
  StateManifest,
  StateParts,
  StateRequest,
} from '../messages/types.ts';
import { batchDigest, stateDigestOf } from '../messages/codec.ts';
import { bytesEqual } from '../../crypto/digest.ts';
import type { PersistentState } from './storage.ts';

const EMPTY = new Uint8Array(0);

export interface NodeOptions {
  readonly id: NodeId;
  readonly config: CoreConfig;
  readonly state: PersistentState;
  readonly rng: Rng;
  readonly app: StateMachine;
  /** Lets tests and adversaries substitute a (mutated) acceptor or proposer. */
  readonly makeAcceptor?: (state: PersistentState) => Acceptor;
  readonly makeProposer?: (id: NodeId, config: CoreConfig, round: number) => Proposer;
  /** Lets mutation tests substitute a configuration history (one that skips the window). */
  readonly makeConfigurations?: (reconfiguration: Reconfiguration) => ConfigurationHistory;
}

export interface NodeStats {
  readonly received: Map<string, number>;
  readonly dropped: Map<string, number>;
}

export class PaxosNode extends StepLoop implements ProtocolNode {
  readonly id: NodeId;
  readonly config: CoreConfig;
  readonly acceptor: Acceptor;
  readonly learner: Learner;
  readonly proposer: Proposer;
  readonly replica: Replica;
  readonly stats: NodeStats = { received: new Map(), dropped: new Map() };
  /** Best guess of the current leader, -1 when unknown; clients are redirected to it. */
  leaderHint: NodeId = -1;
  private readonly rng: Rng;
  /** Node ids that may be members: n in a static cluster, the universe in a reconfigurable one. */
  private readonly n: number;
  /** Members 0..mains-1 lead, learn and execute; the rest (Cheap Paxos auxiliaries) only accept. */
  private readonly mains: number;
  /** Which main acceptors this node, as leader, suspects; null without auxiliaries. */
  private readonly engagement: Engagement | null;
  /** Client sessions that asked this node (by sessionKey), and the seq each waits for. */
  private readonly pendingReplies = new Map<string, number>();
  /** Highest first-undecided slot any peer reported; above ours means we lag. */
  private peerDecidedUpTo: Slot = 0;
  private catchupOutstanding = false;
  /** The latest snapshot, persisted: what a peer below our log is sent. */
  private snapshot: StateSnapshot | null = null;
  private readonly transfer: StateTransfer;

  constructor(options: NodeOptions) {
    super();
    const { id, config, state } = options;
    this.id = id;
    this.config = config;
    const { reconfiguration } = config;
    this.n = reconfiguration?.universe ?? config.quorums.n;
    this.mains = mainsOf(config);
    this.engagement = config.auxiliaries > 0 ? new Engagement(id, this.mains) : null;
    this.rng = options.rng;
    this.acceptor = options.makeAcceptor?.(state) ?? new Acceptor(state.promised, state.accepted);
    const round = Math.max(state.round, state.promised.round);
    this.proposer = options.makeProposer?.(id, config, round) ?? new Proposer(id, config, round);
    const history =
      reconfiguration === null ? null : (options.makeConfigurations?.(reconfiguration) ?? new ConfigurationHistory(reconfiguration.members, reconfiguration.universe));
    this.replica = new Replica(options.app, history);
    this.transfer = new StateTransfer(id, this.mains);
    const logFrom = state.snapshot?.logFrom ?? 0;
    this.learner = new Learner(config.quorums, state.decided, logFrom, history ?? new StaticConfiguration(config.quorums));
    this.acceptor.truncateBelow(logFrom);
    if (state.snapshot !== null) {
      // Our own store: a snapshot that does not restore is a damaged store, and throws.
      this.snapshot = snapshotOf(state.snapshot.executedUpTo, state.snapshot.parts);
      this.replica.restore(this.snapshot);
    }
  }

  get isLeader(): boolean {
    return this.proposer.isLeader;
  }

  get ballot(): Ballot {
    return this.proposer.role === 'follower' ? this.acceptor.promised : this.proposer.ballot;
  }

  /** First effects after (re)start: replay the persisted log into the application, arm the election timer. */
  start(): Effect[] {
    const out = new Outbox(this.id);
    this.executeDecided(out);
    out.setTimer('election', this.electionTimeout());
    return out.effects;
  }

  protected onMessage(from: NodeId, msg: PeerMessage, out: Outbox): void {
    const reason = this.rejectReason(from, msg);
    if (reason !== null) return this.count(this.stats.dropped, `${msg.type}:${reason}`);
    this.count(this.stats.received, msg.type);
    this.handle(from, msg, out);
  }

  protected drain(out: Outbox): void {
    for (;;) {
      while (out.local.length > 0) this.handle(this.id, out.local.shift()!, out);
      for (const slot of this.learner.decideHeld()) this.onDecided(slot, out);
      this.executeDecided(out);
      for (const accept of this.proposer.proposeReady(this.learner)) this.toAcceptors(accept, out);
      if (out.local.length === 0) return;
    }
  }

  private handle(from: NodeId, msg: PeerMessage, out: Outbox): void {
    switch (msg.type) {
      case 'prepare':
        return this.onPrepare(from, msg, out);
      case 'promise':
        return this.onPromise(from, msg, out);
      case 'accept':
        return this.onAccept(from, msg, out);
      case 'accepted':
        return this.onAccepted(from, msg, out);
      case 'nack':
        return this.onNack(msg, out);
      case 'heartbeat':
        return this.onHeartbeat(from, msg, out);
      case 'catchup-request':
        return this.onCatchupRequest(from, msg, out);
      case 'catchup-reply':
        return this.onCatchupReply(from, msg, out);
      case 'state-manifest':
        return this.onStateManifest(from, msg, out);
      case 'state-request':
        return this.onStateRequest(from, msg, out);
      case 'state-parts':
        return this.onStateParts(from, msg, out);
    }
  }

  // --- acceptor side -------------------------------------------------------------------

  private onPrepare(from: NodeId, msg: Prepare, out: Outbox): void {
    this.observe(msg.ballot, out);
    const outcome = this.acceptor.onPrepare(msg, this.learner.firstUndecided);
    if (!outcome.ok) return out.send(from, outcome.reply);
    out.persist(outcome.persist);
    out.send(from, outcome.reply);
    if (from !== this.id) this.followLeader(msg.ballot.leader, out);
  }

  private onAccept(from: NodeId, msg: Accept, out: Outbox): void {
    this.observe(msg.ballot, out);
    if (msg.slot >= this.learner.firstUndecided + LEARNER_WINDOW_SLOTS) {
      this.count(this.stats.dropped, 'accept:out-of-window');
      this.catchUp(from, msg.decidedUpTo, out);
      return;
    }
    if (msg.slot < this.acceptor.logFrom && compareBallots(msg.ballot, this.acceptor.promised) >= 0) {
      // Decided and forgotten here: the leader lags; tell it how far we are, so it catches up.
      this.count(this.stats.dropped, 'accept:truncated');
      out.send(from, { type: 'catchup-reply', entries: [], decidedUpTo: this.learner.firstUndecided });
      return;
    }
    const outcome = this.acceptor.onAccept(msg);
    if (!outcome.ok) return out.send(from, outcome.reply);
    out.persist(outcome.persist);
    const digest = batchDigest(msg.batch);
    this.toMains({ type: 'accepted', ballot: msg.ballot, slot: msg.slot, digest }, out);
    if (this.learner.recordBatch(msg.slot, digest, msg.batch) === 'decided') this.onDecided(msg.slot, out);
    if (from !== this.id) {
      this.followLeader(msg.ballot.leader, out);
      this.catchUp(from, msg.decidedUpTo, out);
    }
  }

  // --- learner side --------------------------------------------------------------------

  private onAccepted(from: NodeId, msg: Accepted, out: Outbox): void {
    this.observe(msg.ballot, out);
    if (this.proposer.isLeader && ballotEquals(msg.ballot, this.proposer.ballot)) this.engagement?.heard(from);
    const outcome = this.learner.onAccepted(from, msg.ballot, msg.slot, msg.digest);
    if (outcome === 'decided') this.onDecided(msg.slot, out);
    else if (outcome === 'missing-batch') this.catchUp(msg.ballot.leader, msg.slot + 1, out);
  }

  private onDecided(slot: Slot, out: Outbox): void {
    const batch = this.learner.decision(slot)!;
    out.persist([{ type: 'decided', slot, batch }]);
    out.push({ type: 'decide', slot, batch });
    this.proposer.onDecided(slot);
  }

  private executeDecided(out: Outbox): void {
    this.executeReady(out);
    const since = this.snapshot?.executedUpTo ?? 0;
    if (this.replica.executedUpTo - since >= SNAPSHOT_INTERVAL_SLOTS) this.takeSnapshot(out);
  }

  private executeReady(out: Outbox): void {
    for (const execution of this.replica.executeReady((slot) => this.learner.decision(slot))) {
      const { command, result } = execution;
      if (result !== null) out.push({ type: 'execute', slot: execution.slot, command, result });
      const key = sessionKey(command);
      if (this.pendingReplies.get(key) === command.seq) {
        this.pendingReplies.delete(key);
        out.answer(command, result === null ? 'evicted' : 'ok', result ?? EMPTY, this.id);
      }
    }
  }

  // --- snapshots and log truncation ----------------------------------------------------

  private takeSnapshot(out: Outbox): void {
    const snapshot = this.replica.snapshot();
    this.installSnapshot(snapshot, Math.max(0, snapshot.executedUpTo - LOG_RETAIN_SLOTS), out);
  }

  /**
   * Persist `snapshot` (only the parts changed since the last one) and forget everything below
   * `logFrom` (<= snapshot.executedUpTo: every slot there is decided and executed here).
   */
  private installSnapshot(snapshot: StateSnapshot, logFrom: Slot, out: Outbox): void {
    const records = changedPartRecords(this.snapshot ?? undefined, snapshot);
    records.push({ type: 'snapshot', executedUpTo: snapshot.executedUpTo, partCount: snapshot.parts.length, logFrom });
    out.persist(records);
    this.snapshot = snapshot;
    this.acceptor.truncateBelow(logFrom);
    this.learner.truncateBelow(logFrom);
  }

  private sendManifest(to: NodeId, out: Outbox): void {
    const { executedUpTo, digest, digests } = this.snapshot!;
    // Crash mode trusts its peers: the "certificate" carries no signatures, only the digest the parts are checked against.
    const checkpoint = { slot: executedUpTo, stateDigest: digest, signatures: [] };
    out.send(to, { type: 'state-manifest', checkpoint, executedUpTo, digests });
  }

  /** A peer's snapshot beyond what we executed: fetch the parts of its state we lack. */
  private onStateManifest(from: NodeId, msg: StateManifest, out: Outbox): void {
    const { checkpoint } = msg;
    if (checkpoint.slot <= this.replica.executedUpTo) return;
    if (this.transfer.slot !== null && this.transfer.slot >= checkpoint.slot) return;
    if (msg.executedUpTo !== checkpoint.slot || msg.digests.length !== this.replica.partCount || !bytesEqual(stateDigestOf(msg), checkpoint.stateDigest)) {
      return this.count(this.stats.dropped, 'state-manifest:bad-manifest');
    }
    this.transfer.begin(checkpoint, msg.digests, this.replica.snapshot(), from);
    this.requestState(out);
  }

  private requestState(out: Outbox): void {
    const request = this.transfer.request();
    if (request === null) return;
    this.catchupOutstanding = true;
    out.send(request.to, request.msg);
    out.setTimer('catchup', this.config.catchupRetryMs);
  }

  private onStateRequest(from: NodeId, msg: StateRequest, out: Outbox): void {
    const snapshot = this.snapshot;
    if (snapshot === null || snapshot.executedUpTo < msg.slot) return;
    // We moved on: point the requester at our newer snapshot.
    if (snapshot.executedUpTo > msg.slot) return this.sendManifest(from, out);
    const parts = partsFor(snapshot, msg, FRAME_BYTES_MAX);
    if (parts === null) return this.count(this.stats.dropped, 'state-request:bad-part-index');
    out.send(from, { type: 'state-parts', slot: msg.slot, parts });
  }

  private onStateParts(from: NodeId, msg: StateParts, out: Outbox): void {
    const progress = this.transfer.receive(from, msg);
    switch (progress.kind) {
      case 'ignored':
        return;
      case 'bad':
        for (let i = 0; i < progress.bad; i++) this.count(this.stats.dropped, 'state-parts:bad-part');
        return this.requestState(out);
      case 'progress':
        return this.requestState(out);
      case 'complete':
        // Executed past it meanwhile: installing it would move the state back.
        if (progress.snapshot.executedUpTo <= this.replica.executedUpTo) return;
        try {
          this.replica.restore(progress.snapshot);
        } catch {
          return this.count(this.stats.dropped, 'state-parts:bad-snapshot');
        }
        this.installSnapshot(progress.snapshot, progress.snapshot.executedUpTo, out);
        this.catchupOutstanding = false;
        out.clearTimer('catchup');
        this.catchUp(from, this.peerDecidedUpTo, out);
    }
  }

  // --- catch-up ------------------------------------------------------------------------

  private catchUp(peer: NodeId, theirDecidedUpTo: Slot, out: Outbox): void {
    if (theirDecidedUpTo > this.peerDecidedUpTo) this.peerDecidedUpTo = theirDecidedUpTo;
    if (peer === this.id || this.catchupOutstanding || theirDecidedUpTo <= this.learner.firstUndecided) return;
    this.catchupOutstanding = true;
    out.send(peer, { type: 'catchup-request', fromSlot: this.learner.firstUndecided });
    out.setTimer('catchup', this.config.catchupRetryMs);
  }

  private onCatchupRequest(from: NodeId, msg: CatchupRequest, out: Outbox): void {
    // It needs slots we forgot: it gets the snapshot first, then asks again from there.
    if (msg.fromSlot < this.learner.logFrom) return this.sendManifest(from, out);
    const entries: DecidedEntry[] = [];
    // Keep the reply well inside one frame: count op bytes plus per-command overhead.
    let budget = FRAME_BYTES_MAX / 2;
    for (let slot = msg.fromSlot; slot <= this.learner.highestDecided && entries.length < CATCHUP_ENTRIES_MAX; slot++) {
      const batch = this.learner.decision(slot);
      if (batch === undefined) continue;
      budget -= batchBytes(batch);
      if (budget < 0 && entries.length > 0) break;
      entries.push({ slot, batch });
    }
    out.send(from, { type: 'catchup-reply', entries, decidedUpTo: this.learner.firstUndecided });
  }

  private onCatchupReply(from: NodeId, msg: CatchupReply, out: Outbox): void {
    for (const entry of msg.entries) {
      if (this.learner.learnDecided(entry.slot, entry.batch)) this.onDecided(entry.slot, out);
    }
    // A state transfer under way keeps its own retry timer.
    if (this.transfer.slot === null) {
      this.catchupOutstanding = false;
      out.clearTimer('catchup');
    }
    this.catchUp(from, msg.decidedUpTo, out);
  }

  // --- proposer side -------------------------------------------------------------------

  private onPromise(from: NodeId, msg: Promise1b, out: Outbox): void {
    if (from !== this.id) this.catchUp(from, msg.decidedUpTo, out);
    if (ballotEquals(msg.ballot, this.proposer.ballot)) this.engagement?.heard(from);
    const outcome = this.proposer.onPromise(from, msg);
    if (outcome === 'elected') {
      this.leaderHint = this.id;
      out.clearTimer('election');
      for (const accept of this.proposer.becomeLeader(this.learner)) this.toAcceptors(accept, out);
      this.toMains(this.heartbeat(), out);
      out.setTimer('heartbeat', this.config.heartbeatMs);
    } else if (outcome === 'lagging') {
      this.stepDown(out);
    }
  }

  private onNack(msg: Nack, out: Outbox): void {
    this.observe(msg.promised, out);
  }

  private onHeartbeat(from: NodeId, msg: Heartbeat, out: Outbox): void {
    this.observe(msg.ballot, out);
    if (compareBallots(msg.ballot, this.acceptor.promised) >= 0 && from !== this.id) {
      this.followLeader(from, out);
      this.catchUp(from, msg.decidedUpTo, out);
    }
  }

  private heartbeat(): Heartbeat {
    return { type: 'heartbeat', ballot: this.proposer.ballot, decidedUpTo: this.learner.firstUndecided };
  }

  /** Any higher ballot seen means someone else leads or tries to: an active proposer yields. */
  private observe(ballot: Ballot, out: Outbox): void {
    this.proposer.observeRound(ballot.round);
    if (this.proposer.role !== 'follower' && ballotGreater(ballot, this.proposer.ballot)) {
      this.leaderHint = ballot.leader;
      this.stepDown(out);
    }
  }

  private stepDown(out: Outbox): void {
    const wasLeader = this.proposer.isLeader;
    this.proposer.stepDown();
    this.proposer.failedAttempts += 1;
    if (wasLeader) out.clearTimer('heartbeat');
    out.setTimer('election', this.backoff());
  }

  /** A live leader (or candidate) was heard: postpone our own election. */
  private followLeader(leader: NodeId, out: Outbox): void {
    if (this.proposer.role !== 'follower') return;
    this.leaderHint = leader;
    this.proposer.failedAttempts = 0;
    out.setTimer('election', this.electionTimeout());
  }

  protected onClientRequest(msg: ClientRequest, out: Outbox): void {
    const { command } = msg;
    const session = this.replica.lookup(command.clientId, command.session, command.seq);
    if (session.kind === 'stale') return;
    if (session.kind === 'done') return out.answer(command, 'ok', session.result, this.leaderHint);
    if (this.proposer.role === 'follower') return out.answer(command, 'redirect', EMPTY, this.leaderHint);
    // Validated proposals: no one lies in crash mode, so a leader that never proposes a refused op is all it takes.
    const refusal = this.replica.refusal(command);
    if (refusal !== null) {
      this.count(this.stats.dropped, 'request:invalid-command');
      return out.answer(command, 'refused', new TextEncoder().encode(refusal), this.leaderHint);
    }
    const key = sessionKey(command);
    const tracked = this.pendingReplies.has(key) || this.pendingReplies.size < CLIENT_SESSIONS_MAX;
    if (!tracked || !this.proposer.enqueue(command)) return out.answer(command, 'busy', EMPTY, this.leaderHint);
    this.pendingReplies.set(key, command.seq);
  }

  protected onTimeout(timer: TimerName, out: Outbox): void {
    switch (timer) {
      case 'election':
        return this.startElection(out);
      case 'heartbeat':
        if (!this.proposer.isLeader) return;
        // Removed, or its promises are no phase-1 quorum of the next slot's configuration: a new
        // ballot's Prepare reaches the new members (or, removed, it leaves leading to a member).
        if (this.proposer.stall(this.learner) !== null) return this.stepDown(out);
        this.toMains(this.heartbeat(), out);
        this.retransmit(out);
        out.setTimer('heartbeat', this.config.heartbeatMs);
        return;
      case 'catchup': {
        this.catchupOutstanding = false;
        if (this.mains === 1) return;
        if (this.transfer.slot !== null) {
          this.transfer.nextPeer();
          return this.requestState(out);
        }
        // Ask someone else this time: the last peer may be down. Only main members hold decisions.
        const peer = (this.id + 1 + this.rng.int(this.mains - 1)) % this.mains;
        this.catchUp(peer, this.peerDecidedUpTo, out);
        return;
      }
    }
  }

  private startElection(out: Outbox): void {
    if (this.proposer.isLeader) return;
    if (this.proposer.round + 1 > ROUND_MAX) return;
    const electorate = this.learner.membershipAt(this.learner.firstUndecided)!;
    // Not a member as far as we know (yet, or any more): campaign only once one. We may just lag
    // behind a change that made us one, with no leader left to hear it from: ask a peer.
    if (!isMember(electorate, this.id)) {
      const peer = (this.id + 1 + this.rng.int(this.n - 1)) % this.n;
      out.send(peer, { type: 'catchup-request', fromSlot: this.learner.firstUndecided });
      return out.setTimer('election', this.electionTimeout());
    }
    if (this.proposer.role === 'candidate') this.proposer.failedAttempts += 1;
    const prepare = this.proposer.startPhase1(this.learner.firstUndecided, electorate);
    out.persist([{ type: 'round', round: prepare.ballot.round }]);
    // After a failed attempt a main acceptor may be down: the retry asks the auxiliaries too.
    this.engagement?.beginPhase1(this.proposer.failedAttempts > 0);
    this.toAcceptors(prepare, out);
    out.setTimer('election', this.backoff());
  }

  /** Accepts undecided for a full heartbeat interval, sent again; with auxiliaries, the main acceptors silent on them are suspected first. */
  private retransmit(out: Outbox): void {
    const accepts = this.proposer.retransmit(this.learner);
    if (this.engagement !== null) for (const accept of accepts) this.engagement.suspectSilent(this.learner.votersAt(accept.slot, accept.ballot));
    for (const accept of accepts) this.toAcceptors(accept, out);
  }

  /** Prepare and Accept: to every acceptor, or (Cheap Paxos, no main acceptor suspected) to the main ones only. */
  private toAcceptors(msg: Prepare | Accept, out: Outbox): void {
    if (this.engagement === null || this.engagement.engaged) return out.broadcast(msg);
    this.toMains(msg, out);
  }

  /** To every main member, this one included: all members when there are no auxiliaries. */
  private toMains(msg: PeerMessage, out: Outbox): void {
    if (this.engagement === null) return out.broadcast(msg);
    for (let id = 0; id < this.mains; id++) out.send(id, msg);
  }

  private electionTimeout(): number {
    const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = this.config;
    return min + this.rng.next() * (max - min);
  }

  /** Randomized exponential backoff against dueling proposers (seed 002). */
  private backoff(): number {
    const exp = Math.min(this.proposer.failedAttempts, 16);
    const ceiling = Math.min(this.config.backoffMaxMs, this.config.electionTimeoutMinMs * 2 ** exp);
    return this.config.electionTimeoutMinMs + this.rng.next() * ceiling;
  }

  // --- validation ----------------------------------------------------------------------

  /** Why a (well-formed, decoded) message is unacceptable here, or null. Never throws. */
  private rejectReason(from: NodeId, msg: PeerMessage): string | null {
    if (!this.isMember(from) || from === this.id) return 'bad-sender';
    switch (msg.type) {
      case 'prepare':
      case 'accept':
      case 'heartbeat':
        return this.isRealBallot(msg.ballot) && msg.ballot.leader === from ? null : 'bad-ballot';
      case 'promise':
        if (!this.isRealBallot(msg.ballot) || msg.ballot.leader !== this.id) return 'bad-ballot';
        return msg.accepted.every((pv) => this.isRealBallot(pv.ballot)) ? null : 'bad-pvalue';
      case 'accepted':
        return this.isRealBallot(msg.ballot) ? null : 'bad-ballot';
      case 'nack':
        return this.isRealBallot(msg.promised) ? null : 'bad-ballot';
      case 'catchup-request':
      case 'catchup-reply':
      case 'state-manifest':
      case 'state-request':
      case 'state-parts':
        return null;
      case 'signed':
      case 'verify':
      case 'certified-promise':
      case 'new-ballot':
      case 'checkpoint':
      case 'certified-catchup-reply':
      case 'commitment':
      case 'reveal':
      case 'bundle':
      case 'reveal-request':
      case 'evidence-query':
      case 'suspect':
      case 'evidence-share':
        return 'wrong-mode';
    }
  }

  private isMember(id: NodeId): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.n;
  }

  private isRealBallot(b: Ballot): boolean {
    return b.round >= 1 && this.isMember(b.leader);
  }
}

function batchBytes(batch: Batch): number {
  let bytes = 16;
  for (const c of batch.commands) bytes += c.op.length + 24;
  return bytes;
}
