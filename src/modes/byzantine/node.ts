// One member of a Byzantine-mode cluster (n = 3f+1), as a pure state machine: step(input) ->
// effects, like the crash-mode PaxosNode. The message flow (seed 000 §4, seed 003):
//
//   client --Request--> all;  leader --Accept(b,s,batch)--> all;  each acceptor --Verify(b,s,d)--> all;
//   on 2f+1 matching Verify (a prepared certificate) --Accepted(b,s,d)--> all learners;
//   a learner decides on 2f+1 matching Accepted; every replica executes and replies; the client
//   takes a result once f+1 replicas agree.
//
// Leader change: a replica whose client command makes no progress joins the next ballot by
// broadcasting a signed CertifiedPromise with its prepared certificates; the ballot's leader
// gathers 2f+1 and sends them in a NewBallot; every acceptor recomputes the leader's choice and
// joins only if it matches. Checkpoints every K slots bound the log and let laggards fetch state.
import type { Ballot } from '../../base/types.ts';
import type { Effect, TimerName, PersistRecord } from '../../core/effects.ts';
import { StepLoop } from '../../core/step-loop.ts';
import {
  CATCHUP_ENTRIES_MAX,
  CLIENT_SESSIONS_MAX,
  CLIENT_QUEUE_MAX,
  ROUND_MAX,
  ROUNDS_AHEAD_PER_MEMBER,
  SIGNED_PAYLOAD_BYTES_MAX,
  PROGRESS_UNPROPOSED_STALLS_MAX,
  UNHEARD_LEADER_STALLS_MAX,
  witnessSignerBytesMax,
} from '../../base/limits.ts';
import { Outbox } from '../../core/outbox.ts';
import { mayOpenSlot } from '../../core/pipeline.ts';
import type { ProtocolNode, WorkingBallot } from '../../core/protocol.ts';
import { Replica, snapshotOf, type StateSnapshot } from '../../core/replica.ts';
import type { Rng } from '../../core/rng.ts';
import { commandKey, sessionKey, type Batch, type Command, type NodeId, type Slot } from '../../base/types.ts';
import type { StateMachine } from '../../core/state-machine.ts';
import { batchDigest, batchSize, certifiedEntrySize, commandSize, encodedSize, frameType, stateDigestOf } from '../../messages/codec.ts';
import type {
  Accept,
  Accepted,
  Bundle,
  CatchupRequest,
  CertifiedCatchupReply,
  CertifiedEntry,
  CertifiedPromise,
  Checkpoint,
  CheckpointCertificate,
  ClientRequest,
  Commitment,
  Heartbeat,
  NewBallot,
  PeerMessage,
  PreparedCertificate,
  EvidenceQuery,
  EvidenceShare,
  Reveal,
  RevealRequest,
  SignedEnvelope,
  StateManifest,
  StateParts,
  StateRequest,
  Suspect,
  Verify,
} from '../../messages/types.ts';
import { verifiedKey, type ByzantineState, type PersistentState } from '../../core/storage.ts';
import type { Authenticator, SignedPayload } from './auth.ts';
import {
  checkNewBallot,
  validCheckpoint,
  validCommit,
  validPromise,
  type BallotChoice,
  type CertificateContext,
} from './certificates.ts';
import { leaderOf } from './cluster.ts';
import { designatedReplier } from './repliers.ts';
import { RevealLedger } from '../commit-reveal/ledger.ts';
import { evidenceEnvelopes, type Evidence } from '../../messages/evidence.ts';
import { Witness } from './witness.ts';
import { Repeats } from './repeats.ts';
import { commit, COMMITMENT_KEY_BYTES } from '../../../crypto/commitment.ts';
import type { ByzantineConfig } from './config.ts';
import { batchBytesOf, packShares, promiseBytesMax } from './frame-budget.ts';
import { changedPartRecords, partsFor, STATE_REPLIES_PER_PEER_PER_PERIOD, StateTransfer } from '../../core/state-transfer.ts';
import { bytesEqual, toHex } from '../../../crypto/digest.ts';
import type { Entropy } from '../../../crypto/entropy.ts';

export interface ByzantineNodeOptions {
  readonly id: NodeId;
  readonly config: ByzantineConfig;
  readonly auth: Authenticator;
  readonly state: PersistentState;
  /** Scheduling only (timeouts, jitter, peer choice): peers may predict it. */
  readonly rng: Rng;
  /** Secrets peers must not predict: commitment keys. */
  readonly entropy: Entropy;
  readonly app: StateMachine;
}

export interface ByzantineStats {
  readonly received: Map<string, number>;
  readonly dropped: Map<string, number>;
  viewChanges: number;
}

/** A vote: the signed envelope plus what it says, keyed by signer. */
interface Vote {
  readonly round: number;
  readonly digestHex: string;
  readonly envelope: SignedEnvelope;
}

interface Verified {
  readonly digest: Uint8Array;
  readonly batch: Batch;
  /** The leader's signed Accept (null when a NewBallot settled the slot): evidence if it equivocates. */
  readonly accept: SignedEnvelope | null;
}

/**
 * Evidence queries and passed-on promises and Suspects are repeated after 1, 2, 4, … retransmit periods up to
 * this gap (7 repeats over ≈ 127 periods, ≈ 7.6 s at 60 ms): a split equivocation is proven once
 * both halves meet, and messages lost to drops or a partition would otherwise never be repeated.
 */
const EVIDENCE_REPEAT_GAP_MAX = 64;

/** Most distinct proofs a node remembers having reported; beyond it, repeats may be reported again. */
const EVIDENCE_REMEMBERED_MAX = 1024;
const EMPTY = new Uint8Array(0);

export class ByzantineNode extends StepLoop implements ProtocolNode {
  readonly id: NodeId;
  readonly config: ByzantineConfig;
  readonly stats: ByzantineStats = { received: new Map(), dropped: new Map(), viewChanges: 0 };
  readonly replica: Replica;
  private readonly auth: Authenticator;
  private readonly rng: Rng;
  private readonly entropy: Entropy;
  private readonly n: number;
  private readonly quorum: number;
  private readonly ctx: CertificateContext;

  /** The ballot round this node is in (joined when `normal`, moving to when `changing`). */
  private round = 1;
  private status: 'normal' | 'changing' = 'normal';
  private viewChangeAttempts = 0;

  // Acceptor state, for the current round only.
  private readonly verified = new Map<Slot, Verified>();
  private readonly ownVerify = new Map<Slot, SignedEnvelope>();
  private readonly ownAccepted = new Map<Slot, SignedEnvelope>();
  private readonly verifyVotes = new Map<Slot, Map<NodeId, Vote>>();
  /** Digests signed in Verify, by `${round}/${slot}`: never sign two for one (ballot, slot). */
  private readonly signedDigests: Map<string, Uint8Array>;
  /** Highest-ballot prepared certificate per slot at or above `low`, across rounds. */
  private readonly prepared: Map<Slot, PreparedCertificate>;

  // Commit-reveal (null in plain Byzantine mode): own boxes and keys, the learner's ledger,
  // batches seen in bundles, the leader's bundles in flight.
  private readonly ledger: RevealLedger | null;
  private readonly ownCommitment = new Map<Slot, SignedEnvelope>();
  private readonly ownReveal = new Map<Slot, SignedEnvelope>();
  /** Commitment keys by `${round}/${slot}`, persisted before use: a restart recommits identically. */
  private readonly committedKeys: Map<string, Uint8Array>;
  private readonly bundleBatches = new Map<Slot, Map<string, Batch>>();
  private readonly bundlesSent = new Map<Slot, { envelope: SignedEnvelope; age: number }>();
  /** Reveal requests sent per slot and acceptor, so a withholder is suspected once, after a request went unanswered. */
  private readonly revealAsks = new Map<Slot, Map<NodeId, number>>();
  private readonly reported = new Set<string>();
  /** Single-sign messages seen from others at positions that may matter, kept across ballots: where split equivocation meets. */
  private readonly witness: Witness;
  /** An answer to an evidence query: per slot an Accept and n each of Verify, Accepted, Commitment, Reveal, and our reveal. */
  private readonly evidenceShareMax: number;
  /** Largest promise payload an honest member seals: a larger one would push a NewBallot over a frame. */
  private readonly promiseBytesMax: number;
  /** Promises and Suspects passed on, by signature, repeated while it may matter. */
  private readonly passedOn: Repeats<SignedEnvelope>;
  /** Evidence queries asked, by position, repeated while it may matter. */
  private readonly queries: Repeats<Omit<EvidenceQuery, 'type'>>;
  /** Positions already asked about (`${round}/${slot}` or `cp/${slot}`): one evidence query each. */

  // Learner state.
  private readonly acceptedVotes = new Map<Slot, Map<NodeId, Vote>>();
  private readonly decided: Map<Slot, CertifiedEntry>;
  private firstUndecided: Slot;

  // Checkpoints and watermarks.
  private low: Slot = 0;
  private stable: { certificate: CheckpointCertificate; snapshot: StateSnapshot } | null = null;
  private readonly checkpointVotes = new Map<Slot, Map<NodeId, Vote>>();
  private readonly ownSnapshots = new Map<Slot, StateSnapshot>();
  private readonly transfer: StateTransfer;
  /** State-transfer replies (manifests, parts) sent per peer this retransmit period. */
  private readonly stateServed = new Map<NodeId, number>();

  // Leader change.
  private readonly promises = new Map<NodeId, { round: number; envelope: SignedEnvelope }>();
  private ownPromise: SignedEnvelope | null = null;
  /**
   * The view-change timer runs only once 2f+1 nodes promised our round (PBFT's rule): a node
   * never races ahead alone, so honest nodes stay within reach of each other's rounds.
   */
  private viewTimerArmed = false;
  /** Built from persisted state of an earlier incarnation. */
  private readonly restarted: boolean;
  private joinedBy: SignedEnvelope | null = null;
  private newBallotPending = false;
  /** Members that spoke to us since this incarnation started (bounded by n). */
  private readonly heard = new Set<NodeId>();
  /** Progress periods that stalled while our leader had not yet been heard from. */
  private unheardStalls = 0;
  /** Round of the ballot the latest decision we saw voted on came from; 0 before any. */
  private decidedRound = 0;
  /** Each member's latest Suspect (ourselves included): we leave a round once f+1 suspect it. */
  private readonly suspects = new Map<NodeId, { round: number; envelope: SignedEnvelope }>();
  /** Our Suspect of the current round, repeated while it stands so peers that reconnect see it. */
  private ownSuspect: SignedEnvelope | null = null;

  // Leader.
  private readonly queue: Command[] = [];
  /** Commands queued or proposed in an undecided slot of this ballot: a client's resend is not proposed twice. */
  private readonly queued = new Set<string>();
  /** Encoded bytes of the queued commands: whether they fill a batch by size. */
  private queueBytes = 0;
  private nextSlot: Slot = 0;
  private readonly inFlight = new Map<Slot, { envelope: SignedEnvelope; age: number }>();

  // Clients and progress.
  /** Client commands this replica knows of and has not executed, by client session (sessionKey). */
  private readonly pending = new Map<string, Command>();
  /** Commands that were waiting when the progress timer was armed; null when it is not armed. */
  private watched: Set<string> | null = null;
  /** Execution's position when the progress timer was armed: whether the period saw progress. */
  private watchedFrom: Slot = 0;
  /** Consecutive periods in which a watched command was still not proposed (the leader may not have it yet). */
  private unproposedStalls = 0;
  private catchupOutstanding = false;
  private peerDecidedUpTo: Slot = 0;
  private retransmitTicks = 0;

  constructor(options: ByzantineNodeOptions) {
    super();
    this.id = options.id;
    this.config = options.config;
    this.auth = options.auth;
    this.rng = options.rng;
    this.entropy = options.entropy;
    this.n = options.config.quorums.n;
    this.quorum = options.config.quorums.phase2;
    this.replica = new Replica(options.app);
    this.ctx = {
      n: this.n,
      quorum: this.quorum,
      clusterId: this.auth.clusterId,
      open: (e) => this.auth.open(e),
    };
    // Per slot in the window: an Accept and n each of Verify, Accepted, Commitment, Reveal; twice
    // the window, so a ballot change does not push out what the last ballot saw.
    this.evidenceShareMax = 5 * this.n + 1;
    this.promiseBytesMax = promiseBytesMax(options.config, options.config.batchBytesMax);
    this.passedOn = new Repeats(4 * this.n * this.n, EVIDENCE_REPEAT_GAP_MAX);
    this.queries = new Repeats(4 * options.config.watermarkSlots, EVIDENCE_REPEAT_GAP_MAX);
    this.witness = new Witness(this.n, witnessSignerBytesMax(options.config.watermarkSlots, options.config.batchCommandsMax));
    this.ledger = options.config.mode === 'commit-reveal' ? new RevealLedger(this.auth.clusterId, this.quorum) : null;
    const state: ByzantineState = options.state.byzantine;
    this.signedDigests = new Map(state.verified);
    this.committedKeys = new Map(state.committed);
    this.prepared = new Map(state.prepared);
    this.decided = new Map(state.certified);
    this.transfer = new StateTransfer(this.id, this.n);
    if (state.checkpoint !== null) {
      const snapshot = snapshotOf(state.checkpoint.executedUpTo, state.checkpoint.parts);
      this.stable = { certificate: state.checkpoint.certificate, snapshot };
      this.low = state.checkpoint.certificate.slot;
      this.replica.restore(snapshot);
    }
    this.firstUndecided = this.low;
    this.advanceFirstUndecided();
    this.restarted = state.joined !== null || state.verified.size > 0;
    if (state.joined !== null && state.joined.round > 1) {
      // Rejoin only through the NewBallot that justified it; otherwise wait to be brought along.
      const { round, by } = state.joined;
      this.round = round;
      if (by === null || frameType(by.payload) === 'certified-promise') {
        this.status = 'changing';
        // Our own promise for the round we were changing to: start() sends it again, byte for byte.
        if (by !== null && by.signer === this.id && leaderOf(round, this.n) !== this.id) this.ownPromise = by;
      } else {
        this.status = 'normal';
        this.joinedBy = by;
      }
    }
    this.nextSlot = this.firstUndecided;
  }

  get isLeader(): boolean {
    return this.status === 'normal' && leaderOf(this.round, this.n) === this.id;
  }

  get ballot(): Ballot {
    return { round: this.round, leader: leaderOf(this.round, this.n) };
  }

  get working(): WorkingBallot {
    const outside = this.decidedRound > 0 && (this.status === 'changing' || this.round < this.decidedRound);
    return { round: this.decidedRound, outside };
  }

  /** Every slot below this one is decided here. */
  get decidedUpTo(): Slot {
    return this.firstUndecided;
  }

  /** How much this node retains, per structure: every entry is bounded (watermarks, one per peer). */
  footprint(): Record<string, number> {
    const votes = (m: Map<Slot, Map<NodeId, Vote>>) => [...m.values()].reduce((sum, v) => sum + v.size, 0);
    return {
      verifyVotes: votes(this.verifyVotes),
      acceptedVotes: votes(this.acceptedVotes),
      checkpointVotes: votes(this.checkpointVotes),
      verified: this.verified.size,
      signedDigests: this.signedDigests.size,
      prepared: this.prepared.size,
      decided: this.decided.size,
      promises: this.promises.size,
      pending: this.pending.size,
      queue: this.queue.length,
      inFlight: this.inFlight.size,
      snapshots: this.ownSnapshots.size,
      transferMissing: this.transfer.missing,
      stateServed: this.stateServed.size,
      witnessEntries: this.witness.entries,
      witnessBytes: this.witness.bytes,
    };
  }

  start(): Effect[] {
    const out = new Outbox(this.id);
    this.executeDecided(out);
    out.setTimer('retransmit', this.config.retransmitMs);
    if (this.ownPromise !== null) {
      // Back in the change we had promised: that very promise again, so peers hold one, not two.
      out.broadcast(this.ownPromise);
    } else if (this.restarted && (this.status === 'changing' || leaderOf(this.round, this.n) === this.id)) {
      // After a restart we cannot know what we sent as leader (Accepts, a NewBallot), or (a store
      // that kept no promise) promised mid-change; carrying on could sign conflicting messages,
      // so leave for the next ballot. Its view-change timer waits for a quorum there like any
      // other: armed now, it would carry us one round further still, alone.
      this.startViewChange(this.round + 1, out);
    }
    this.drain(out);
    return out.effects;
  }

  protected drain(out: Outbox): void {
    for (;;) {
      while (out.local.length > 0) {
        const envelope = out.local.shift()! as SignedEnvelope;
        const inner = this.auth.open(envelope);
        if (inner !== null) this.handle(this.id, inner, envelope, out);
      }
      this.executeDecided(out);
      this.proposeReady(out);
      if (out.local.length === 0) return;
    }
  }

  protected onMessage(from: NodeId, msg: PeerMessage, out: Outbox): void {
    if (from < 0 || from >= this.n || from === this.id) return this.drop('any', 'bad-sender');
    if (msg.type !== 'signed') return this.drop(msg.type, 'unsigned');
    // Channels are authenticated: a node speaks for itself, and relayed envelopes travel inside
    // certificates; except a NewBallot, which its signature and promises justify whoever passes it on.
    const relayed = msg.signer !== from;
    if (relayed && (msg.signer >= this.n || msg.signer === this.id || frameType(msg.payload) !== 'new-ballot')) return this.drop('signed', 'impersonation');
    const inner = this.auth.open(msg);
    if (inner === null) return this.drop('signed', 'bad-signature');
    this.heard.add(from);
    this.count(this.stats.received, inner.type);
    this.observe(msg, inner, out);
    this.handle(msg.signer, inner, msg, out);
  }

  private handle(from: NodeId, msg: SignedPayload, envelope: SignedEnvelope, out: Outbox): void {
    switch (msg.type) {
      case 'accept':
        return this.onAccept(from, msg, envelope, out);
      case 'verify':
        return this.onVerify(from, msg, envelope, out);
      case 'accepted':
        if (this.ledger !== null) return this.drop('accepted', 'wrong-mode');
        return this.onAccepted(from, msg, envelope, out);
      case 'certified-promise':
        return this.onPromise(from, msg, envelope, out);
      case 'new-ballot':
        return this.onNewBallot(from, msg, envelope, out);
      case 'checkpoint':
        return this.onCheckpoint(from, msg, envelope, out);
      case 'heartbeat':
        return this.onHeartbeat(from, msg, out);
      case 'catchup-request':
        return this.onCatchupRequest(from, msg, out);
      case 'certified-catchup-reply':
        return this.onCatchupReply(from, msg, out);
      case 'state-manifest':
        return this.onStateManifest(from, msg, out);
      case 'state-request':
        return this.onStateRequest(from, msg, out);
      case 'state-parts':
        return this.onStateParts(from, msg, out);
      case 'commitment':
        return this.onCommitment(from, msg, envelope, out);
      case 'reveal':
        return this.onReveal(from, msg, envelope, out);
      case 'bundle':
        return this.onBundle(from, msg, out);
      case 'reveal-request':
        return this.onRevealRequest(from, msg, out);
      case 'evidence-query':
        return this.onEvidenceQuery(from, msg, out);
      case 'evidence-share':
        return this.onEvidenceShare(msg, out);
      case 'suspect':
        return this.onSuspect(from, msg, envelope, out);
      default:
        return this.drop(msg.type, 'wrong-mode');
    }
  }

  // --- clients ---------------------------------------------------------------------------

  protected onClientRequest(msg: ClientRequest, out: Outbox): void {
    const { command } = msg;
    const session = this.replica.lookup(command.clientId, command.session, command.seq);
    if (session.kind === 'stale') return;
    if (!this.auth.verifyCommand(command)) return this.drop('request', 'bad-client-signature');
    if (session.kind === 'done') return out.answer(command, 'ok', session.result, this.leaderHint);
    const key = sessionKey(command);
    const known = this.pending.get(key);
    if (known === undefined && this.pending.size >= CLIENT_SESSIONS_MAX) return this.drop('request', 'too-many-clients');
    if (known !== undefined && known.seq > command.seq) return;
    // Held here, the command is watched: its client asked us, so we answer it and see it done.
    this.pending.set(key, command);
    this.armProgress(out);
    if (this.isLeader) this.enqueue(command);
    else if (this.status === 'normal') out.answer(command, 'redirect', EMPTY, this.leaderHint);
  }

  /** The leader of the ballot we are in or moving to, as clients are told. */
  private get leaderHint(): NodeId {
    return leaderOf(this.round, this.n);
  }

  /** Answers a client whose command executed, if it asked us or we are one of its designated repliers. */
  private answerExecuted(command: Command, asked: boolean, result: Uint8Array | null, out: Outbox): void {
    const leader = this.leaderHint;
    if ((asked && leader !== this.id) || designatedReplier(this.id, command.clientId, leader, this.n, this.config.quorums.weak - 1)) {
      out.answer(command, result === null ? 'evicted' : 'ok', result ?? EMPTY, leader);
    }
  }

  private enqueue(command: Command): void {
    const key = commandKey(command);
    if (this.queued.has(key) || this.queue.length >= CLIENT_QUEUE_MAX) return;
    this.queued.add(key);
    this.queue.push(command);
    this.queueBytes += commandSize(command);
  }

  // --- leader ----------------------------------------------------------------------------

  private proposeReady(out: Outbox): void {
    if (!this.isLeader) return;
    const high = Math.min(this.firstUndecided + this.config.windowSlots, this.low + this.config.watermarkSlots);
    while (
      mayOpenSlot({
        eagerSlots: this.config.eagerSlots,
        openSlots: this.inFlight.size,
        windowHasRoom: this.nextSlot < high,
        queued: this.queue.length > 0,
        batchFull: this.queue.length >= this.config.batchCommandsMax || batchBytesOf(this.queue.length, this.queueBytes) > this.config.batchBytesMax,
      })
    ) {
      const commands: Command[] = [];
      let commandBytes = 0;
      while (this.queue.length > 0 && commands.length < this.config.batchCommandsMax) {
        // Config guarantees any one command fits, so a batch is never empty for want of room.
        const size = commandSize(this.queue[0]!);
        if (batchBytesOf(commands.length + 1, commandBytes + size) > this.config.batchBytesMax) break;
        const command = this.queue.shift()!;
        this.queueBytes -= size;
        // Executed meanwhile (e.g. re-proposed by an earlier leader): do not order it again.
        if (this.replica.lookup(command.clientId, command.session, command.seq).kind === 'new') {
          commands.push(command);
          commandBytes += size;
        } else {
          this.queued.delete(commandKey(command));
        }
      }
      if (commands.length === 0) return;
      const slot = this.nextSlot++;
      const accept: Accept = { type: 'accept', ballot: this.ballot, slot, batch: { commands }, decidedUpTo: this.firstUndecided };
      const envelope = this.auth.seal(accept);
      this.inFlight.set(slot, { envelope, age: 0 });
      out.broadcast(envelope);
    }
  }

  // --- acceptor: Accept -> Verify -> Accepted ------------------------------------------

  private onAccept(from: NodeId, msg: Accept, envelope: SignedEnvelope, out: Outbox): void {
    if (from !== leaderOf(msg.ballot.round, this.n) || msg.ballot.leader !== from) return this.drop('accept', 'not-leader');
    if (this.status !== 'normal' || msg.ballot.round !== this.round) return this.drop('accept', 'not-joined');
    if (!this.inWatermarks(msg.slot)) return this.drop('accept', 'out-of-watermarks');
    // Prepared batches travel in promises and NewBallots: only batches within budget may become one.
    if (!this.batchFits(msg.batch)) return this.drop('accept', 'oversized-batch');
    if (from !== this.id) this.catchUp(from, msg.decidedUpTo, out);
    const digest = batchDigest(msg.batch);
    const previous = this.verified.get(msg.slot);
    if (previous !== undefined) {
      if (!bytesEqual(previous.digest, digest)) {
        if (previous.accept !== null) this.report({ kind: 'equivocation', first: previous.accept, second: envelope }, out);
        return this.drop('accept', 'conflicting-accept');
      }
      // A retransmission: the leader lacks our votes, so send them again.
      this.resendVotes(msg.slot, out);
      return;
    }
    if (from !== this.id && !msg.batch.commands.every((c) => this.auth.verifyCommand(c))) {
      return this.drop('accept', 'bad-client-signature');
    }
    this.verify(msg.slot, msg.batch, digest, envelope, out);
  }

  /** Sign Verify(b, s, digest): at most one digest per (ballot, slot), ever, across restarts. */
  private verify(slot: Slot, batch: Batch, digest: Uint8Array, accept: SignedEnvelope | null, out: Outbox): void {
    const key = verifiedKey(this.round, slot);
    const signed = this.signedDigests.get(key);
    if (signed !== undefined && !bytesEqual(signed, digest)) return this.drop('accept', 'would-equivocate');
    this.verified.set(slot, { digest, batch, accept });
    // Votes that arrived before our own Verify may already contradict it.
    const digestHex = toHex(digest);
    for (const vote of this.verifyVotes.get(slot)?.values() ?? []) if (vote.digestHex !== digestHex) this.query(slot, false, out);
    for (const vote of this.acceptedVotes.get(slot)?.values() ?? []) {
      if (vote.round === this.round && vote.digestHex !== digestHex) this.query(slot, false, out);
    }
    if (signed === undefined) {
      this.signedDigests.set(key, digest);
      out.persist([{ type: 'verified', ballot: this.ballot, slot, digest }]);
    }
    const envelope = this.auth.seal({ type: 'verify', ballot: this.ballot, slot, digest });
    this.ownVerify.set(slot, envelope);
    out.broadcast(envelope);
  }

  private onVerify(from: NodeId, msg: Verify, envelope: SignedEnvelope, out: Outbox): void {
    if (msg.ballot.round !== this.round || msg.ballot.leader !== leaderOf(msg.ballot.round, this.n)) {
      return this.drop('verify', 'other-ballot');
    }
    if (!this.inWatermarks(msg.slot)) return this.drop('verify', 'out-of-watermarks');
    if (!this.recordVote(this.verifyVotes, msg.slot, from, this.round, msg.digest, envelope, out)) return this.drop('verify', 'equivocation');
    this.contradicts(msg.slot, msg.ballot.round, msg.digest, out);
    this.tryPrepare(msg.slot, out);
  }

  /** 2f+1 matching Verify, our own among them: a prepared certificate; announce Accepted. */
  private tryPrepare(slot: Slot, out: Outbox): void {
    const own = this.verified.get(slot);
    if (own === undefined || this.status !== 'normal' || this.ownAccepted.has(slot) || this.ownCommitment.has(slot)) return;
    const digestHex = toHex(own.digest);
    const votes = [...(this.verifyVotes.get(slot)?.values() ?? [])].filter((v) => v.digestHex === digestHex);
    if (votes.length < this.quorum) return;
    const certificate: PreparedCertificate = {
      ballot: this.ballot,
      slot,
      batch: own.batch,
      verifies: votes.slice(0, this.quorum).map((v) => v.envelope),
    };
    this.prepared.set(slot, certificate);
    out.persist([{ type: 'prepared', certificate }]);
    if (this.ledger !== null) return this.commitAndReveal(slot, own.digest, out);
    const envelope = this.auth.seal({ type: 'accepted', ballot: this.ballot, slot, digest: own.digest });
    this.ownAccepted.set(slot, envelope);
    out.broadcast(envelope);
  }

  private resendVotes(slot: Slot, out: Outbox): void {
    for (const envelope of [this.ownVerify.get(slot), this.ownAccepted.get(slot), this.ownReveal.get(slot)]) {
      if (envelope !== undefined) out.effects.push({ type: 'broadcast', msg: envelope });
    }
    const box = this.ownCommitment.get(slot);
    if (box !== undefined) out.send(leaderOf(this.round, this.n), box);
  }

  // --- commit-reveal (seed 000 §6) ---------------------------------------------------------

  /** Commit to the vote towards the leader; reveal the key to every learner directly. */
  private commitAndReveal(slot: Slot, digest: Uint8Array, out: Outbox): void {
    const id = verifiedKey(this.round, slot);
    let key = this.committedKeys.get(id);
    if (key === undefined) {
      key = this.entropy.bytes(COMMITMENT_KEY_BYTES);
      this.committedKeys.set(id, key);
      out.persist([{ type: 'committed', ballot: this.ballot, slot, key }]);
    }
    const ballot = this.ballot;
    const commitment = commit({ clusterId: this.auth.clusterId, round: ballot.round, leader: ballot.leader, slot, digest }, key);
    const box = this.auth.seal({ type: 'commitment', ballot, slot, commitment });
    const reveal = this.auth.seal({ type: 'reveal', ballot, slot, digest, key });
    this.ownCommitment.set(slot, box);
    this.ownReveal.set(slot, reveal);
    out.send(ballot.leader, box);
    out.broadcast(reveal);
  }

  private onCommitment(from: NodeId, msg: Commitment, envelope: SignedEnvelope, out: Outbox): void {
    if (this.ledger === null) return this.drop('commitment', 'wrong-mode');
    if (msg.ballot.round < 1 || msg.ballot.leader !== leaderOf(msg.ballot.round, this.n)) return this.drop('commitment', 'bad-ballot');
    if (this.decided.has(msg.slot) || !this.inWatermarks(msg.slot)) return;
    for (const evidence of this.ledger.addBox(from, msg, envelope)) this.report(evidence, out);
    if (this.isLeader && msg.ballot.round === this.round) this.tryBundle(msg.slot, out);
    this.tryDecideRevealed(msg.slot, out);
  }

  /** As leader: with 2f+1 commitments to our own batch, box them up for every learner. */
  private tryBundle(slot: Slot, out: Outbox): void {
    const own = this.verified.get(slot);
    if (own === undefined || this.bundlesSent.has(slot)) return;
    const boxes = this.ledger!.boxesOf(slot, this.round);
    if (boxes.length < this.quorum) return;
    const envelope = this.auth.seal({ type: 'bundle', ballot: this.ballot, slot, batch: own.batch, commitments: boxes });
    this.bundlesSent.set(slot, { envelope, age: 0 });
    out.broadcast(envelope);
  }

  private onBundle(from: NodeId, msg: Bundle, out: Outbox): void {
    if (this.ledger === null) return this.drop('bundle', 'wrong-mode');
    if (from !== leaderOf(msg.ballot.round, this.n) || msg.ballot.leader !== from) return this.drop('bundle', 'not-leader');
    // Each bundle may leave a batch behind (bundleBatches): only from ballots we could join.
    if (!this.roundInReach(msg.ballot)) return this.drop('bundle', 'round-out-of-range');
    if (this.decided.has(msg.slot) || !this.inWatermarks(msg.slot)) return;
    if (msg.commitments.length < this.quorum || msg.commitments.length > this.n) return this.drop('bundle', 'too-few-commitments');
    const signers = new Set<NodeId>();
    for (const envelope of msg.commitments) {
      const box = signers.has(envelope.signer) ? null : this.ctx.open(envelope);
      signers.add(envelope.signer);
      if (box === null || box.type !== 'commitment' || box.slot !== msg.slot || box.ballot.round !== msg.ballot.round) {
        return this.drop('bundle', 'bad-commitment');
      }
      for (const evidence of this.ledger.addBox(envelope.signer, box, envelope)) this.report(evidence, out);
    }
    let batches = this.bundleBatches.get(msg.slot);
    if (batches === undefined) this.bundleBatches.set(msg.slot, (batches = new Map()));
    // One batch per digest, at most one per ballot that reached us: bounded by the rounds we hear of.
    if (batches.size < this.n) batches.set(toHex(batchDigest(msg.batch)), msg.batch);
    this.tryDecideRevealed(msg.slot, out);
  }

  private onReveal(from: NodeId, msg: Reveal, envelope: SignedEnvelope, out: Outbox): void {
    if (this.ledger === null) return this.drop('reveal', 'wrong-mode');
    if (msg.ballot.round < 1 || msg.ballot.leader !== leaderOf(msg.ballot.round, this.n)) return this.drop('reveal', 'bad-ballot');
    if (this.decided.has(msg.slot) || !this.inWatermarks(msg.slot)) return;
    for (const evidence of this.ledger.addKey(from, msg, envelope)) this.report(evidence, out);
    this.contradicts(msg.slot, msg.ballot.round, msg.digest, out);
    this.tryDecideRevealed(msg.slot, out);
  }

  /** A learner missing a box or a key asked us directly: send ours, if we voted. */
  private onRevealRequest(from: NodeId, msg: RevealRequest, out: Outbox): void {
    if (this.ledger === null || msg.ballot.round !== this.round) return;
    const box = this.ownCommitment.get(msg.slot);
    const key = this.ownReveal.get(msg.slot);
    if (box !== undefined) out.send(from, box);
    if (key !== undefined) out.send(from, key);
  }

  private tryDecideRevealed(slot: Slot, out: Outbox): void {
    if (this.decided.has(slot)) return;
    const decision = this.ledger!.decision(slot, (digestHex) => this.bundleBatches.get(slot)?.get(digestHex) ?? this.batchFor(slot, digestHex));
    if (decision !== null) this.decide(decision.entry, out, decision.round);
  }

  /** Each period: ask acceptors whose box or key is missing, and suspect those that stay silent. */
  private chaseReveals(out: Outbox): void {
    for (const slot of this.bundleBatches.keys()) {
      if (this.decided.has(slot)) continue;
      const { boxless, keyless } = this.ledger!.missing(slot);
      let asks = this.revealAsks.get(slot);
      if (asks === undefined) this.revealAsks.set(slot, (asks = new Map()));
      for (const node of [...boxless, ...keyless]) {
        if (node === this.id) continue;
        const asked = (asks.get(node) ?? 0) + 1;
        asks.set(node, asked);
        out.send(node, this.auth.seal({ type: 'reveal-request', ballot: this.ballot, slot }));
        // Asked a period ago and still missing: withholding, or slowness; never provable, only suspected.
        if (asked === 2) {
          const reason = keyless.includes(node) ? 'withheld-reveal' : 'withheld-commitment';
          out.push({ type: 'suspicion', suspicion: { node, reason } });
        }
      }
    }
  }

  // --- evidence gathering --------------------------------------------------------------------

  /** A vote for (round, slot) names a digest other than the one we verified: someone equivocated. */
  private contradicts(slot: Slot, round: number, digest: Uint8Array, out: Outbox): void {
    const own = this.verified.get(slot);
    if (round === this.round && own !== undefined && !bytesEqual(own.digest, digest)) this.query(slot, false, out);
  }

  /** Ask every peer what it holds for this position (repeated until proven, or a while): the other half of a split may be there. */
  private query(slot: Slot, checkpoint: boolean, out: Outbox): void {
    const q = { ballot: this.ballot, slot, checkpoint };
    if (!this.queries.add(queryKey(this.round, slot, checkpoint), q)) return;
    out.effects.push({ type: 'broadcast', msg: this.auth.seal({ type: 'evidence-query', ...q }) });
  }

  private onEvidenceQuery(from: NodeId, msg: EvidenceQuery, out: Outbox): void {
    if (from === this.id) return;
    const envelopes = msg.checkpoint ? this.witness.heldAtCheckpoint(msg.slot) : this.witness.heldAt(msg.ballot, msg.slot);
    const reveal = msg.checkpoint ? undefined : this.ownReveal.get(msg.slot);
    if (reveal !== undefined && msg.ballot.round === this.round) envelopes.push(reveal);
    this.shareEvidence(envelopes.slice(0, this.evidenceShareMax), from, out);
  }

  /** Compare shared messages with what we hold from the same signers; never count them as votes. */
  private onEvidenceShare(msg: EvidenceShare, out: Outbox): void {
    for (const envelope of msg.envelopes.slice(0, this.evidenceShareMax)) {
      const inner = this.ctx.open(envelope);
      // Forged (perhaps in our own name): never evidence, never a vote.
      if (inner === null) {
        this.drop('evidence-share', 'bad-envelope');
        continue;
      }
      this.observe(envelope, inner, out);
      // Our leader's promise passed on: it left our ballot, whoever it told (followViewChange).
      if (inner.type === 'certified-promise' && envelope.signer === leaderOf(this.round, this.n) && inner.ballot.round > this.round) {
        this.onPromise(envelope.signer, inner, envelope, out);
      }
      // Suspects passed on by a member that left on them: they count as if sent to us.
      if (inner.type === 'suspect') this.onSuspect(envelope.signer, inner, envelope, out);
      // A shared reveal is as good as a direct one: the ledger judges it against the signer's box.
      if (inner.type === 'reveal' && this.ledger !== null && !this.decided.has(inner.slot) && this.inWatermarks(inner.slot)) {
        for (const evidence of this.ledger.addKey(envelope.signer, inner, envelope)) this.report(evidence, out);
      }
    }
  }

  /** Remember what others signed where they may sign once; a contradiction is a proof. */
  private observe(envelope: SignedEnvelope, inner: SignedPayload, out: Outbox): void {
    if (envelope.signer === this.id) return;
    // Not stored is not dropped: the message's own handler still judges (and counts) it.
    if (!this.mayMatter(envelope.signer, inner)) return;
    const evidence = this.witness.observe(envelope, inner);
    if (evidence === null) return;
    this.report(evidence, out);
    // Proven: no need to keep asking about this position.
    if (inner.type === 'checkpoint') this.queries.stop(queryKey(0, inner.slot, true));
    else if ('slot' in inner && 'ballot' in inner) this.queries.stop(queryKey(inner.ballot.round, inner.slot, false));
  }

  /**
   * Whether a signed message sits where this node could ever use it as evidence: its slot within
   * the watermarks, its round one we accept promises for, an Accept or NewBallot from its ballot's
   * leader. Anything else would only let a member make us hold what it likes.
   */
  private mayMatter(signer: NodeId, msg: SignedPayload): boolean {
    switch (msg.type) {
      case 'accept':
        return signer === msg.ballot.leader && this.roundInReach(msg.ballot) && this.inWatermarks(msg.slot);
      case 'verify':
      case 'accepted':
      case 'commitment':
      case 'reveal':
        return this.roundInReach(msg.ballot) && this.inWatermarks(msg.slot);
      case 'checkpoint':
        return this.checkpointInReach(msg.slot);
      case 'certified-promise':
        return this.roundInReach(msg.ballot);
      case 'new-ballot':
        return signer === msg.ballot.leader && this.roundInReach(msg.ballot);
      default:
        return false; // not single-sign: nothing to witness
    }
  }

  /** A real ballot (its leader by rotation) no further ahead than the promises we accept. */
  private roundInReach(ballot: Ballot): boolean {
    return ballot.round >= 1 && ballot.round <= this.roundsAheadMax() && ballot.leader === leaderOf(ballot.round, this.n);
  }

  private roundsAheadMax(): number {
    return this.round + ROUNDS_AHEAD_PER_MEMBER * this.n;
  }

  /** Emit each distinct proof once. */
  private report(evidence: Evidence, out: Outbox): void {
    const envelopes = evidenceEnvelopes(evidence);
    const id = `${evidence.kind}:${envelopes.map((e) => toHex(e.signature)).join(':')}`;
    if (this.reported.has(id)) return;
    if (this.reported.size >= EVIDENCE_REMEMBERED_MAX) this.reported.clear();
    this.reported.add(id);
    out.push({ type: 'evidence', evidence });
  }

  // --- learner -------------------------------------------------------------------------

  private onAccepted(from: NodeId, msg: Accepted, envelope: SignedEnvelope, out: Outbox): void {
    if (msg.ballot.leader !== leaderOf(msg.ballot.round, this.n) || msg.ballot.round < 1) return this.drop('accepted', 'bad-ballot');
    if (this.decided.has(msg.slot) || msg.slot < this.low) return;
    if (!this.inWatermarks(msg.slot)) return this.drop('accepted', 'out-of-watermarks');
    // Keep each acceptor's latest vote only: votes of different ballots never add up.
    const votes = this.acceptedVotes.get(msg.slot);
    const previous = votes?.get(from);
    if (previous !== undefined && previous.round > msg.ballot.round) return;
    if (previous !== undefined && previous.round === msg.ballot.round && previous.digestHex !== toHex(msg.digest)) {
      this.report({ kind: 'equivocation', first: previous.envelope, second: envelope }, out);
      return this.drop('accepted', 'equivocation');
    }
    this.setVote(this.acceptedVotes, msg.slot, from, { round: msg.ballot.round, digestHex: toHex(msg.digest), envelope });
    this.contradicts(msg.slot, msg.ballot.round, msg.digest, out);
    this.tryDecide(msg.slot, out);
  }

  private tryDecide(slot: Slot, out: Outbox): void {
    const votes = this.acceptedVotes.get(slot);
    if (votes === undefined || this.decided.has(slot)) return;
    const tally = new Map<string, Vote[]>();
    for (const vote of votes.values()) {
      const key = `${vote.round}/${vote.digestHex}`;
      const group = tally.get(key) ?? [];
      group.push(vote);
      tally.set(key, group);
      if (group.length < this.quorum) continue;
      const batch = this.batchFor(slot, vote.digestHex);
      if (batch === undefined) {
        // Chosen, but we never saw the batch: fetch the decision with its certificate.
        this.catchUp(vote.envelope.signer, slot + 1, out);
        return;
      }
      this.decide({ slot, batch, accepteds: group.map((v) => v.envelope) }, out, vote.round);
      return;
    }
  }

  private batchFor(slot: Slot, digestHex: string): Batch | undefined {
    const own = this.verified.get(slot);
    if (own !== undefined && toHex(own.digest) === digestHex) return own.batch;
    const prepared = this.prepared.get(slot);
    if (prepared !== undefined && toHex(batchDigest(prepared.batch)) === digestHex) return prepared.batch;
    return undefined;
  }

  /** `round`: the ballot whose votes we counted, when we counted them (not for a fetched entry). */
  private decide(entry: CertifiedEntry, out: Outbox, round: number | null = null): void {
    if (round !== null && round > this.decidedRound) this.decidedRound = round;
    this.decided.set(entry.slot, entry);
    this.ledger?.forget(entry.slot);
    this.bundleBatches.delete(entry.slot);
    this.bundlesSent.delete(entry.slot);
    this.revealAsks.delete(entry.slot);
    for (const command of this.inFlight.has(entry.slot) ? entry.batch.commands : []) this.queued.delete(commandKey(command));
    this.acceptedVotes.delete(entry.slot);
    out.persist([{ type: 'certified', entry }]);
    out.push({ type: 'decide', slot: entry.slot, batch: entry.batch });
    this.inFlight.delete(entry.slot);
    this.advanceFirstUndecided();
  }

  private advanceFirstUndecided(): void {
    while (this.decided.has(this.firstUndecided)) this.firstUndecided++;
  }

  private executeDecided(out: Outbox): void {
    const before = this.replica.executedUpTo;
    const interval = this.config.checkpointInterval;
    for (;;) {
      // Stop at each checkpoint slot: its snapshot must hold exactly the slots below it, on every replica.
      const boundary = (Math.floor(this.replica.executedUpTo / interval) + 1) * interval;
      for (const { slot, command, result } of this.replica.executeReady((s) => (s < boundary ? this.decided.get(s)?.batch : undefined))) {
        if (result !== null) out.push({ type: 'execute', slot, command, result });
        const asked = this.pending.get(sessionKey(command))?.seq === command.seq;
        if (asked) this.pending.delete(sessionKey(command));
        this.answerExecuted(command, asked, result, out);
      }
      if (this.replica.executedUpTo < boundary) break;
      this.takeCheckpoint(boundary, out);
    }
    if (this.replica.executedUpTo > before) {
      // Nothing left waiting: the ballot works at whatever pace the load allows.
      if (this.pending.size === 0) this.relaxBackoff();
      // It works for us after all: stop repeating our Suspect (peers keep the one they have).
      if (this.status === 'normal' && this.ownSuspect !== null) {
        this.ownSuspect = null;
        this.suspects.delete(this.id);
      }
      this.armProgress(out);
    }
  }

  // --- checkpoints ---------------------------------------------------------------------

  private takeCheckpoint(slot: Slot, out: Outbox): void {
    const snapshot = this.replica.snapshot();
    this.ownSnapshots.set(slot, snapshot);
    out.broadcast(this.auth.seal({ type: 'checkpoint', slot, stateDigest: snapshot.digest }));
  }

  private onCheckpoint(from: NodeId, msg: Checkpoint, envelope: SignedEnvelope, out: Outbox): void {
    if (!this.checkpointInReach(msg.slot)) return this.drop('checkpoint', 'out-of-watermarks');
    if (!this.recordVote(this.checkpointVotes, msg.slot, from, msg.slot, msg.stateDigest, envelope, out)) return this.drop('checkpoint', 'equivocation');
    const digestHex = toHex(msg.stateDigest);
    const own = this.ownSnapshots.get(msg.slot);
    if (own !== undefined && !bytesEqual(own.digest, msg.stateDigest)) this.query(msg.slot, true, out);
    const matching = [...this.checkpointVotes.get(msg.slot)!.values()].filter((v) => v.digestHex === digestHex);
    if (matching.length < this.quorum) return;
    const certificate: CheckpointCertificate = {
      slot: msg.slot,
      stateDigest: msg.stateDigest,
      signatures: matching.slice(0, this.quorum).map((v) => v.envelope),
    };
    if (own !== undefined && bytesEqual(own.digest, msg.stateDigest)) {
      this.installStable(certificate, own, out);
    } else {
      // The cluster is past us: fetch the state the certificate vouches for.
      this.catchUp(matching[0]!.envelope.signer, msg.slot, out);
    }
  }

  /** Move the low watermark up to a stable checkpoint whose state we hold; drop what lies below. */
  private installStable(certificate: CheckpointCertificate, snapshot: StateSnapshot, out: Outbox): void {
    if (certificate.slot <= this.low) return;
    const previous = this.stable?.snapshot;
    this.stable = { certificate, snapshot };
    this.low = certificate.slot;
    if (this.transfer.slot !== null && this.transfer.slot <= this.low) this.transfer.abort();
    // Storage keeps the last stable state: only the parts that changed since are written again.
    const records = changedPartRecords(previous, snapshot);
    records.push({ type: 'checkpoint', certificate, executedUpTo: snapshot.executedUpTo, partCount: snapshot.parts.length });
    out.persist(records);
    const below = (slot: Slot) => slot < this.low;
    this.ledger?.forgetBelow(this.low);
    this.witness.forgetBelow(this.low);
    for (const key of this.committedKeys.keys()) if (below(Number(key.split('/')[1]))) this.committedKeys.delete(key);
    for (const map of [this.verified, this.ownVerify, this.ownAccepted, this.verifyVotes, this.prepared, this.acceptedVotes, this.decided, this.inFlight, this.ownSnapshots, this.ownCommitment, this.ownReveal, this.bundleBatches, this.bundlesSent, this.revealAsks] as Map<Slot, unknown>[]) {
      for (const slot of map.keys()) if (below(slot)) map.delete(slot);
    }
    for (const slot of this.checkpointVotes.keys()) if (slot <= this.low) this.checkpointVotes.delete(slot);
    for (const key of this.signedDigests.keys()) if (below(Number(key.split('/')[1]))) this.signedDigests.delete(key);
    if (this.firstUndecided < this.low) this.firstUndecided = this.low;
    this.advanceFirstUndecided();
    if (this.nextSlot < this.low) this.nextSlot = this.low;
  }

  // --- catch-up and state transfer -----------------------------------------------------

  private onHeartbeat(from: NodeId, msg: Heartbeat, out: Outbox): void {
    if (msg.ballot.round !== this.round || from !== leaderOf(this.round, this.n)) return;
    this.catchUp(from, msg.decidedUpTo, out);
  }

  private catchUp(peer: NodeId, theirDecidedUpTo: Slot, out: Outbox): void {
    if (theirDecidedUpTo > this.peerDecidedUpTo) this.peerDecidedUpTo = theirDecidedUpTo;
    if (peer === this.id || this.catchupOutstanding || theirDecidedUpTo <= this.firstUndecided) return;
    this.catchupOutstanding = true;
    out.send(peer, this.auth.seal({ type: 'catchup-request', fromSlot: this.firstUndecided }));
    out.setTimer('catchup', this.config.catchupRetryMs);
  }

  private onCatchupRequest(from: NodeId, msg: CatchupRequest, out: Outbox): void {
    if (msg.fromSlot < this.low && this.stable !== null) this.sendManifest(from, out);
    const entries: CertifiedEntry[] = [];
    // The reply holds what fits one frame; the requester asks again from where it ends.
    let room = SIGNED_PAYLOAD_BYTES_MAX - encodedSize({ type: 'certified-catchup-reply', entries: [], decidedUpTo: this.firstUndecided });
    for (let slot = Math.max(msg.fromSlot, this.low); slot < this.firstUndecided && entries.length < CATCHUP_ENTRIES_MAX; slot++) {
      const entry = this.decided.get(slot)!;
      room -= certifiedEntrySize(entry);
      if (room < 0) {
        if (entries.length === 0) this.drop('catchup-request', 'oversized-entry');
        break;
      }
      entries.push(entry);
    }
    if (entries.length > 0) out.send(from, this.auth.seal({ type: 'certified-catchup-reply', entries, decidedUpTo: this.firstUndecided }));
  }

  private onCatchupReply(from: NodeId, msg: CertifiedCatchupReply, out: Outbox): void {
    for (const entry of msg.entries) {
      if (this.decided.has(entry.slot) || !this.inWatermarks(entry.slot)) continue;
      if (!validCommit(this.ctx, entry)) return this.drop('certified-catchup-reply', 'bad-certificate');
      this.decide(entry, out);
    }
    this.catchupOutstanding = false;
    out.clearTimer('catchup');
    this.catchUp(from, msg.decidedUpTo, out);
  }

  /** Counts a state-transfer reply (a manifest or parts, each up to a frame) to `to`; false past its share this period. */
  private mayServeState(to: NodeId): boolean {
    const served = this.stateServed.get(to) ?? 0;
    if (served >= STATE_REPLIES_PER_PEER_PER_PERIOD) {
      this.drop('state-request', 'rate-limited');
      return false;
    }
    this.stateServed.set(to, served + 1);
    return true;
  }

  private sendManifest(to: NodeId, out: Outbox): void {
    if (!this.mayServeState(to)) return;
    const { certificate, snapshot } = this.stable!;
    out.send(to, this.auth.seal({ type: 'state-manifest', checkpoint: certificate, executedUpTo: snapshot.executedUpTo, digests: snapshot.digests }));
  }

  /** A peer's stable checkpoint, beyond what we executed: fetch the parts of its state we lack. */
  private onStateManifest(from: NodeId, msg: StateManifest, out: Outbox): void {
    const { checkpoint } = msg;
    if (checkpoint.slot <= this.replica.executedUpTo || checkpoint.slot % this.config.checkpointInterval !== 0) return;
    if (this.transfer.slot !== null && this.transfer.slot >= checkpoint.slot) return;
    if (msg.executedUpTo !== checkpoint.slot || msg.digests.length !== this.replica.partCount) return this.drop('state-manifest', 'bad-manifest');
    if (!bytesEqual(stateDigestOf(msg), checkpoint.stateDigest) || !validCheckpoint(this.ctx, checkpoint)) {
      return this.drop('state-manifest', 'bad-certificate');
    }
    this.transfer.begin(checkpoint, msg.digests, this.replica.snapshot(), from);
    this.requestState(out);
  }

  private requestState(out: Outbox): void {
    const request = this.transfer.request();
    if (request === null) return;
    this.catchupOutstanding = true;
    out.send(request.to, this.auth.seal(request.msg));
    out.setTimer('catchup', this.config.catchupRetryMs);
  }

  /** Parts of a checkpoint's state we hold: the stable one, or one of our own not yet stable. */
  private onStateRequest(from: NodeId, msg: StateRequest, out: Outbox): void {
    const snapshot = this.stable?.certificate.slot === msg.slot ? this.stable.snapshot : this.ownSnapshots.get(msg.slot);
    if (snapshot === undefined) {
      // We moved on: point the requester at our stable checkpoint instead.
      if (this.stable !== null && this.stable.certificate.slot > msg.slot) this.sendManifest(from, out);
      return;
    }
    if (!this.mayServeState(from)) return;
    const parts = partsFor(snapshot, msg, SIGNED_PAYLOAD_BYTES_MAX);
    if (parts === null) return this.drop('state-request', 'bad-part-index');
    out.send(from, this.auth.seal({ type: 'state-parts', slot: msg.slot, parts }));
  }

  private onStateParts(from: NodeId, msg: StateParts, out: Outbox): void {
    const progress = this.transfer.receive(from, msg);
    switch (progress.kind) {
      case 'ignored':
        return;
      case 'bad':
        for (let i = 0; i < progress.bad; i++) this.drop('state-parts', 'bad-part');
        return this.requestState(out);
      case 'progress':
        return this.requestState(out);
      case 'complete':
        // Executed past it meanwhile: installing it would move the state back.
        if (progress.certificate.slot <= this.replica.executedUpTo) return;
        try {
          this.replica.restore(progress.snapshot);
        } catch {
          // Only more than f faulty members could certify a state that does not decode.
          return this.drop('state-parts', 'bad-snapshot');
        }
        this.installStable(progress.certificate, progress.snapshot, out);
        this.catchupOutstanding = false;
        out.clearTimer('catchup');
        this.catchUp(from, this.peerDecidedUpTo, out);
    }
  }

  // --- leader change -------------------------------------------------------------------

  /** Leave the current ballot for `round`: report prepared certificates to its leader (and all). */
  private startViewChange(round: number, out: Outbox): void {
    if (round <= this.round && this.status === 'changing') return;
    if (round > ROUND_MAX) return;
    this.stats.viewChanges++;
    this.round = round;
    this.status = 'changing';
    this.ownSuspect = null;
    this.resetBallotState();
    const promise: CertifiedPromise = {
      type: 'certified-promise',
      ballot: this.ballot,
      checkpoint: this.stable?.certificate ?? null,
      prepared: [...this.prepared.values()].filter((c) => c.slot >= this.low).sort((a, b) => a.slot - b.slot),
    };
    this.ownPromise = this.auth.seal(promise);
    // Kept, so that after a restart we send this promise again rather than sign a second one.
    out.persist([{ type: 'joined', round, by: this.ownPromise }]);
    out.broadcast(this.ownPromise);
    out.clearTimer('progress');
    this.watched = null;
    this.viewTimerArmed = false;
  }

  private resetBallotState(): void {
    this.unproposedStalls = 0;
    this.verified.clear();
    this.ownVerify.clear();
    this.ownAccepted.clear();
    this.ownCommitment.clear();
    this.ownReveal.clear();
    this.bundlesSent.clear();
    this.verifyVotes.clear();
    this.inFlight.clear();
    this.queue.length = 0;
    this.queueBytes = 0;
    this.queued.clear();
    this.newBallotPending = false;
  }

  private onPromise(from: NodeId, msg: CertifiedPromise, envelope: SignedEnvelope, out: Outbox): void {
    if (from !== this.id && envelope.payload.length > this.promiseBytesMax) return this.drop('certified-promise', 'oversized');
    // Checked at most once, and only when needed: a promise carries up to 2f+1 signatures per slot.
    let validity: boolean | undefined;
    const valid = (): boolean => from === this.id || (validity ??= validPromise(this.ctx, msg));
    this.sharePromise(from, msg, envelope, valid, out);
    if (msg.ballot.round <= this.round && this.status === 'normal') {
      // The sender missed the NewBallot we joined by, or (back from a restart) is still changing
      // to an older ballot: pass it on (it is the leader's signature; a later one supersedes).
      if (this.joinedBy !== null && from !== this.id) out.send(from, this.joinedBy);
      return;
    }
    const previous = this.promises.get(from);
    if (previous !== undefined && previous.round >= msg.ballot.round) return;
    if (msg.ballot.round < this.round || msg.ballot.round > this.roundsAheadMax()) return this.drop('certified-promise', 'round-out-of-range');
    if (!valid()) return this.drop('certified-promise', 'bad-certificate');
    this.promises.set(from, { round: msg.ballot.round, envelope });
    this.followViewChange(out);
    this.armViewTimer(out);
    this.tryNewBallot(out);
  }

  /**
   * Pass each distinct promise of a current or coming round on once (leader changes are rare): a
   * node that promised differently to different peers is caught wherever both versions meet, even
   * by nodes that have already moved on to the ballot.
   */
  private sharePromise(from: NodeId, msg: CertifiedPromise, envelope: SignedEnvelope, valid: () => boolean, out: Outbox): void {
    if (from === this.id || msg.ballot.round < this.round || msg.ballot.round > this.roundsAheadMax()) return;
    const key = toHex(envelope.signature);
    // An invalid promise proves nothing and would only be amplified.
    if (this.passedOn.has(key) || !valid()) return;
    // Shares get lost like any message: repeated on a backoff schedule (see repeatEvidence).
    this.passedOn.add(key, envelope);
    this.shareEvidence([envelope], null, out);
  }

  /** Seal `envelopes` into evidence-shares that each fit a frame; to `to`, or to all when null. */
  private shareEvidence(envelopes: readonly SignedEnvelope[], to: NodeId | null, out: Outbox): void {
    const { shares, skipped } = packShares(envelopes, this.evidenceShareMax);
    for (let i = 0; i < skipped; i++) this.drop('evidence-share', 'oversized-envelope');
    for (const share of shares) {
      const msg = this.auth.seal({ type: 'evidence-share', envelopes: share });
      if (to === null) out.effects.push({ type: 'broadcast', msg });
      else out.send(to, msg);
    }
  }

  /** Each retransmit period: the evidence queries, and passed-on promises and Suspects, due again. */
  private repeatEvidence(out: Outbox): void {
    for (const q of this.queries.due()) out.effects.push({ type: 'broadcast', msg: this.auth.seal({ type: 'evidence-query', ...q }) });
    this.shareEvidence(this.passedOn.due(), null, out);
  }

  /**
   * f+1 nodes moved past our round: at least one is honest, so follow, to the lowest such round.
   * Or our round's own leader left it (a restarted leader must): follow to the next round. A
   * faulty leader could stall its ballot anyway, and each ballot has one leader, so this costs
   * at most one change per ballot; the leader's promise is passed on to all (sharePromise), so
   * it cannot send away only some of us.
   */
  private followViewChange(out: Outbox): void {
    const ahead = [...this.promises.entries()]
      .filter(([node, p]) => node !== this.id && p.round > this.round)
      .map(([, p]) => p.round)
      .sort((a, b) => b - a);
    if (ahead.length >= this.config.quorums.weak) return this.startViewChange(ahead[this.config.quorums.weak - 1]!, out);
    const leader = leaderOf(this.round, this.n);
    if (leader !== this.id && (this.promises.get(leader)?.round ?? 0) > this.round) this.startViewChange(this.round + 1, out);
  }

  /**
   * Our ballot does not work for us. Say so, but stay: alone (cut off, or merely slow) we would
   * strand ourselves in a round nobody else joins, and could never come back (a promise binds).
   * We leave once f+1 members suspect the round, one of them honest (leaveSuspected).
   */
  private suspect(out: Outbox): void {
    if (this.ownSuspect !== null) return;
    // A ballot failed us: the next one gets longer (backoff), as when we left on our own.
    this.viewChangeAttempts++;
    const msg: Suspect = { type: 'suspect', ballot: this.ballot };
    this.ownSuspect = this.auth.seal(msg);
    out.broadcast(this.ownSuspect);
  }

  private onSuspect(from: NodeId, msg: Suspect, envelope: SignedEnvelope, out: Outbox): void {
    // One per member, its latest, for a round we could still be in: bounded by n.
    if (msg.ballot.round < this.round || !this.roundInReach(msg.ballot)) return this.drop('suspect', 'round-out-of-range');
    const previous = this.suspects.get(from);
    // A repeat still counts: the round it suspects may have become ours since it first came.
    if (previous === undefined || previous.round < msg.ballot.round) this.suspects.set(from, { round: msg.ballot.round, envelope });
    this.leaveSuspected(out);
  }

  /** f+1 members suspect our round: leave it, and pass their Suspects on so every member can. */
  private leaveSuspected(out: Outbox): void {
    const against = [...this.suspects.values()].filter((s) => s.round === this.round).map((s) => s.envelope);
    if (against.length < this.config.quorums.weak) return;
    // Repeated like passed-on promises: lost, they would leave us alone in the next round.
    for (const envelope of against) this.passedOn.add(toHex(envelope.signature), envelope);
    this.shareEvidence(against, null, out);
    this.startViewChange(this.round + 1, out);
  }

  private armViewTimer(out: Outbox): void {
    if (this.status !== 'changing' || this.viewTimerArmed) return;
    // Nodes already past our round count too: they left it as surely as we did.
    let count = 0;
    for (const p of this.promises.values()) if (p.round >= this.round) count++;
    if (count < this.quorum) return;
    this.viewTimerArmed = true;
    out.setTimer('view-change', this.viewChangeTimeout());
  }

  private tryNewBallot(out: Outbox): void {
    if (this.status !== 'changing' || leaderOf(this.round, this.n) !== this.id || this.newBallotPending) return;
    const envelopes = [...this.promises.entries()]
      .filter(([, p]) => p.round === this.round)
      .sort(([a], [b]) => a - b)
      .map(([, p]) => p.envelope);
    if (envelopes.length < this.quorum) return;
    this.newBallotPending = true;
    out.broadcast(this.auth.seal({ type: 'new-ballot', ballot: this.ballot, promises: envelopes.slice(0, this.quorum) }));
  }

  private onNewBallot(from: NodeId, msg: NewBallot, envelope: SignedEnvelope, out: Outbox): void {
    // The promises it carries may be the other half of a split promise, whatever becomes of it.
    for (const promise of msg.promises.slice(0, this.n)) {
      const inner = this.ctx.open(promise);
      if (inner !== null) this.observe(promise, inner, out);
      else this.drop('new-ballot', 'bad-promise');
    }
    if (msg.ballot.round < this.round || (msg.ballot.round === this.round && this.status === 'normal')) return;
    const result = checkNewBallot(this.ctx, msg, from);
    if (!result.ok) {
      // Signed by the ballot's leader yet unjustified by its own contents: provable.
      if (from === msg.ballot.leader && msg.ballot.leader === leaderOf(msg.ballot.round, this.n)) {
        this.report({ kind: 'unjustified-new-ballot', newBallot: envelope }, out);
      }
      return this.drop('new-ballot', 'unjustified');
    }
    this.join(msg.ballot.round, envelope, result.choice, out);
  }

  private join(round: number, newBallot: SignedEnvelope, choice: BallotChoice, out: Outbox): void {
    // Votes for this round that arrived before the NewBallot stay: nobody resends them unasked.
    if (round !== this.round) this.resetBallotState();
    this.round = round;
    this.status = 'normal';
    this.joinedBy = newBallot;
    this.ownPromise = null;
    this.ownSuspect = null;
    out.persist([{ type: 'joined', round, by: newBallot }]);
    out.clearTimer('view-change');
    this.viewTimerArmed = false;
    if (choice.checkpoint !== null && choice.checkpoint.slot > this.low) {
      if (this.replica.executedUpTo >= choice.checkpoint.slot) {
        const own = this.ownSnapshots.get(choice.checkpoint.slot);
        if (own !== undefined) this.installStable(choice.checkpoint, own, out);
      } else {
        this.catchUp(choice.promisers.find((p) => p !== this.id) ?? 0, choice.checkpoint.slot, out);
      }
    }
    // The NewBallot stands for Accept(b, s, v) of every slot it settles.
    let highest = this.low - 1;
    for (const [slot, batch] of choice.slots) {
      highest = Math.max(highest, slot);
      // Only more than f faulty nodes can certify an oversized batch; never carry one on.
      if (!this.batchFits(batch)) this.drop('new-ballot', 'oversized-batch');
      else if (this.inWatermarks(slot)) this.verify(slot, batch, batchDigest(batch), null, out);
    }
    if (this.isLeader) {
      this.nextSlot = Math.max(highest + 1, this.firstUndecided, this.low);
      for (const command of [...this.pending.values()].sort((a, b) => a.clientId - b.clientId || a.session - b.session)) this.enqueue(command);
    }
    this.armProgress(out);
  }

  // --- timers --------------------------------------------------------------------------

  protected onTimeout(timer: TimerName, out: Outbox): void {
    switch (timer) {
      case 'retransmit':
        this.stateServed.clear();
        this.retransmit(out);
        this.repeatEvidence(out);
        out.setTimer('retransmit', this.config.retransmitMs);
        return;
      case 'progress': {
        const watched = this.watched;
        this.watched = null;
        if (watched === null || this.status !== 'normal') return;
        const stalled = [...this.pending.values()].filter((c) => watched.has(commandKey(c)));
        // A period in which every watched command executed: the next unproposed one starts afresh.
        if (stalled.length === 0) this.unproposedStalls = 0;
        else if (!this.leaderAtWork(stalled)) {
          // A command that waited a whole period: the leader is faulty, or cut off; replace it.
          // Unless we have not heard from it since we started: our own links may not be up yet,
          // and a change begun alone would strand us above the others. Give them a few periods.
          const leader = leaderOf(this.round, this.n);
          if (leader !== this.id && !this.heard.has(leader) && this.unheardStalls < UNHEARD_LEADER_STALLS_MAX) {
            this.unheardStalls++;
            return this.armProgress(out);
          }
          this.suspect(out);
        }
        return this.armProgress(out);
      }
      case 'view-change':
        // No NewBallot in time: the round's leader is faulty, or cut off, or slow.
        if (this.status === 'changing') this.suspect(out);
        return;
      case 'catchup':
        this.catchupOutstanding = false;
        if (this.transfer.slot !== null) {
          this.transfer.nextPeer();
          return this.requestState(out);
        }
        if (this.n > 1) this.catchUp((this.id + 1 + this.rng.int(this.n - 1)) % this.n, this.peerDecidedUpTo, out);
        return;
      case 'election':
      case 'heartbeat':
        return;
    }
  }

  private retransmit(out: Outbox): void {
    if (this.ownSuspect !== null) out.effects.push({ type: 'broadcast', msg: this.ownSuspect });
    if (this.status === 'changing') {
      if (this.ownPromise !== null) out.effects.push({ type: 'broadcast', msg: this.ownPromise });
      return;
    }
    // Every other period, votes for slots still undecided here go out again: some were lost.
    this.retransmitTicks++;
    if (this.retransmitTicks % 2 === 0) {
      for (const slot of this.ownVerify.keys()) if (!this.decided.has(slot)) this.resendVotes(slot, out);
      if (this.ledger !== null) this.chaseReveals(out);
    }
    if (!this.isLeader) return;
    out.effects.push({ type: 'broadcast', msg: this.auth.seal({ type: 'heartbeat', ballot: this.ballot, decidedUpTo: this.firstUndecided }) });
    for (const [slot, flight] of [...this.inFlight, ...this.bundlesSent]) {
      if (this.decided.has(slot)) continue;
      if (++flight.age >= 2) {
        flight.age = 0;
        out.effects.push({ type: 'broadcast', msg: flight.envelope });
      }
    }
  }

  /** Progress watchdog: every client command waiting here must execute within a period. */
  private armProgress(out: Outbox): void {
    if (this.pending.size === 0 || this.status !== 'normal') {
      if (this.watched !== null) out.clearTimer('progress');
      this.watched = null;
      // Nothing waits: a command that comes next gets its own period of grace.
      this.unproposedStalls = 0;
      return;
    }
    if (this.watched !== null) return;
    this.watched = new Set([...this.pending.values()].map(commandKey));
    this.watchedFrom = this.replica.executedUpTo;
    out.setTimer('progress', this.progressTimeout());
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
  private leaderAtWork(stalled: readonly Command[]): boolean {
    if (this.replica.executedUpTo <= this.watchedFrom) return false;
    const proposed = new Set<string>();
    for (const [slot, { batch }] of this.verified) {
      if (!this.decided.has(slot)) for (const command of batch.commands) proposed.add(commandKey(command));
    }
    if (stalled.every((c) => proposed.has(commandKey(c)))) {
      this.unproposedStalls = 0;
      return true;
    }
    return ++this.unproposedStalls <= PROGRESS_UNPROPOSED_STALLS_MAX;
  }

  private progressTimeout(): number {
    return this.backoff(this.config.progressTimeoutMs);
  }

  private viewChangeTimeout(): number {
    return this.backoff(this.config.viewChangeTimeoutMs);
  }

  /**
   * Nothing waits any more: the load fits the ballot, and the timeouts come one step down. Not
   * at the first decision, nor per period that passed: a ballot that failed under load got
   * longer timeouts, and handing the next leader the base again while the backlog lasts would
   * fail it the same way (a storm of view changes that only makes the backlog longer).
   */
  private relaxBackoff(): void {
    if (this.viewChangeAttempts > 0) this.viewChangeAttempts--;
  }

  /** Doubles with each failed ballot (and relaxes a step each time nothing is left waiting), so some leader eventually gets enough time. */
  private backoff(base: number): number {
    const ceiling = Math.min(this.config.backoffMaxMs, base * 2 ** Math.min(this.viewChangeAttempts, 16));
    return ceiling * (1 + 0.25 * this.rng.next());
  }

  // --- helpers -------------------------------------------------------------------------

  private batchFits(batch: Batch): boolean {
    return batch.commands.length <= this.config.batchCommandsMax && batchSize(batch) <= this.config.batchBytesMax;
  }

  /** A checkpoint slot above the low watermark and at most a window beyond it. */
  private checkpointInReach(slot: Slot): boolean {
    return slot % this.config.checkpointInterval === 0 && slot > this.low && slot <= this.low + this.config.watermarkSlots;
  }

  private inWatermarks(slot: Slot): boolean {
    return slot >= this.low && slot < this.low + this.config.watermarkSlots;
  }

  /** One vote per signer and key: a second, different digest is equivocation and is refused. */
  private recordVote(
    votes: Map<Slot, Map<NodeId, Vote>>,
    slot: Slot,
    from: NodeId,
    round: number,
    digest: Uint8Array,
    envelope: SignedEnvelope,
    out: Outbox,
  ): boolean {
    const digestHex = toHex(digest);
    const previous = votes.get(slot)?.get(from);
    if (previous !== undefined) {
      if (previous.digestHex === digestHex) return true;
      this.report({ kind: 'equivocation', first: previous.envelope, second: envelope }, out);
      return false;
    }
    this.setVote(votes, slot, from, { round, digestHex, envelope });
    return true;
  }

  private setVote(votes: Map<Slot, Map<NodeId, Vote>>, slot: Slot, from: NodeId, vote: Vote): void {
    let bySlot = votes.get(slot);
    if (bySlot === undefined) votes.set(slot, (bySlot = new Map()));
    bySlot.set(from, vote);
  }

  private drop(type: string, reason: string): void {
    this.count(this.stats.dropped, `${type}:${reason}`);
  }

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}

/** The position an evidence query asks about: a checkpoint slot, or a (round, slot). */
function queryKey(round: number, slot: Slot, checkpoint: boolean): string {
  return checkpoint ? `cp/${slot}` : `${round}/${slot}`;
}
