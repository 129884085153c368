// Message types of crash-mode Multi-Paxos. Names follow the seeds:
// Prepare = P1a, Promise = P1b, Accept = P2a, Accepted = P2b.
import type { Mode } from '../base/mode.ts';
import type { Ballot, Batch, ClientId, Command, NodeId, PValue, SessionId, Slot } from '../base/types.ts';

/** P1a: the leader of `ballot` asks for promises covering every slot >= fromSlot. */
export interface Prepare {
  readonly type: 'prepare';
  readonly ballot: Ballot;
  readonly fromSlot: Slot;
}

/** P1b: the acceptor promised `ballot` and reports what it accepted at slots >= fromSlot. */
export interface Promise1b {
  readonly type: 'promise';
  readonly ballot: Ballot;
  readonly fromSlot: Slot;
  readonly accepted: readonly PValue[];
  /** True when the acceptor holds more pvalues than PROMISE_PVALUES_MAX: the leader is too far behind to lead. */
  readonly truncated: boolean;
  /** Sender's first undecided slot: every slot below it is decided there. */
  readonly decidedUpTo: Slot;
}

/** P2a: the leader of `ballot` asks acceptors to accept `batch` for `slot`. */
export interface Accept {
  readonly type: 'accept';
  readonly ballot: Ballot;
  readonly slot: Slot;
  readonly batch: Batch;
  readonly decidedUpTo: Slot;
}

/** P2b: sent to every learner; names the batch by digest. */
export interface Accepted {
  readonly type: 'accepted';
  readonly ballot: Ballot;
  readonly slot: Slot;
  readonly digest: Uint8Array;
}

/** The acceptor refused `ballot` because it promised the higher `promised`. */
export interface Nack {
  readonly type: 'nack';
  readonly ballot: Ballot;
  readonly promised: Ballot;
}

/** Leader liveness and commit point; lets followers notice they lag. */
export interface Heartbeat {
  readonly type: 'heartbeat';
  readonly ballot: Ballot;
  readonly decidedUpTo: Slot;
}

export interface CatchupRequest {
  readonly type: 'catchup-request';
  readonly fromSlot: Slot;
}

export interface DecidedEntry {
  readonly slot: Slot;
  readonly batch: Batch;
}

export interface CatchupReply {
  readonly type: 'catchup-reply';
  readonly entries: readonly DecidedEntry[];
  readonly decidedUpTo: Slot;
}

/** Client -> node. */
export interface ClientRequest {
  readonly type: 'request';
  readonly command: Command;
}

/**
 * 'evicted': the command's session was evicted from the replicas' table, so it was not executed now.
 * 'refused': the command may never be decided (an op the application refuses, a membership change
 * in a static cluster); `result` says why, in UTF-8, and the seq was not used.
 */
export type ReplyStatus = 'ok' | 'redirect' | 'busy' | 'evicted' | 'refused';

/** Node -> client. `result` is set when status is 'ok'; `leaderHint` is -1 when unknown. */
export interface ClientReply {
  readonly type: 'reply';
  readonly clientId: ClientId;
  readonly session: SessionId;
  readonly seq: number;
  readonly status: ReplyStatus;
  readonly result: Uint8Array;
  readonly leaderHint: NodeId;
}

// --- Byzantine modes ------------------------------------------------------------------------
// Every message between nodes travels inside a SignedEnvelope; certificates are lists of them.

/** A signed message: `payload` is the canonical encoding of the inner message, signed by `signer`. */
export interface SignedEnvelope {
  readonly type: 'signed';
  readonly signer: NodeId;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

/** Seed 000 §4: after checking the leader's Accept, each acceptor tells every acceptor what it saw. */
export interface Verify {
  readonly type: 'verify';
  readonly ballot: Ballot;
  readonly slot: Slot;
  readonly digest: Uint8Array;
}

/** Accept(b, s, batch) plus 2f+1 matching signed Verify(b, s, digest(batch)). */
export interface PreparedCertificate {
  readonly ballot: Ballot;
  readonly slot: Slot;
  readonly batch: Batch;
  readonly verifies: readonly SignedEnvelope[];
}

/** 2f+1 signed Checkpoint(slot, stateDigest): the state after executing every slot below `slot`. */
export interface CheckpointCertificate {
  readonly slot: Slot;
  readonly stateDigest: Uint8Array;
  readonly signatures: readonly SignedEnvelope[];
}

/** Leader change: the sender joins `ballot` and reports what it prepared above its stable checkpoint. */
export interface CertifiedPromise {
  readonly type: 'certified-promise';
  readonly ballot: Ballot;
  /** Null before the first stable checkpoint. */
  readonly checkpoint: CheckpointCertificate | null;
  readonly prepared: readonly PreparedCertificate[];
}

/** The leader of `ballot` proves its choice with 2f+1 signed CertifiedPromises; acceptors recompute it. */
export interface NewBallot {
  readonly type: 'new-ballot';
  readonly ballot: Ballot;
  readonly promises: readonly SignedEnvelope[];
}

export interface Checkpoint {
  readonly type: 'checkpoint';
  readonly slot: Slot;
  readonly stateDigest: Uint8Array;
}

/** A decided slot with its proof: 2f+1 signed Accepted for one ballot and digest(batch). */
export interface CertifiedEntry {
  readonly slot: Slot;
  readonly batch: Batch;
  readonly accepteds: readonly SignedEnvelope[];
}

export interface CertifiedCatchupReply {
  readonly type: 'certified-catchup-reply';
  readonly entries: readonly CertifiedEntry[];
  readonly decidedUpTo: Slot;
}

/**
 * State transfer, first step, for a replica below the sender's stable checkpoint: the certificate
 * and the digest of every part of the state it vouches for (the manifest hashes to stateDigest).
 */
export interface StateManifest {
  readonly type: 'state-manifest';
  readonly checkpoint: CheckpointCertificate;
  /** Every slot below this one is executed in that state (the checkpoint's slot). */
  readonly executedUpTo: Slot;
  readonly digests: readonly Uint8Array[];
}

/** State transfer: the parts (by index) of the state at checkpoint `slot` the requester still lacks. */
export interface StateRequest {
  readonly type: 'state-request';
  readonly slot: Slot;
  readonly parts: readonly number[];
}

export interface StatePart {
  readonly index: number;
  readonly bytes: Uint8Array;
}

/** State transfer: parts of the state at checkpoint `slot`, each checked against the manifest's digest. */
export interface StateParts {
  readonly type: 'state-parts';
  readonly slot: Slot;
  readonly parts: readonly StatePart[];
}

// --- Commit-reveal mode (seed 000 §6) --------------------------------------------------------

/** Instead of Accepted in the clear: a commitment to the digest, sent to the leader of `ballot`. */
export interface Commitment {
  readonly type: 'commitment';
  readonly ballot: Ballot;
  readonly slot: Slot;
  readonly commitment: Uint8Array;
}

/** The key that opens the sender's Commitment for (ballot, slot): sent to every learner directly. */
export interface Reveal {
  readonly type: 'reveal';
  readonly ballot: Ballot;
  readonly slot: Slot;
  readonly digest: Uint8Array;
  readonly key: Uint8Array;
}

/** The leader's "box": the batch and 2f+1 signed commitments to it, for every learner. */
export interface Bundle {
  readonly type: 'bundle';
  readonly ballot: Ballot;
  readonly slot: Slot;
  readonly batch: Batch;
  readonly commitments: readonly SignedEnvelope[];
}

/** A learner missing a box or a key asks the acceptor directly for its Commitment and Reveal. */
export interface RevealRequest {
  readonly type: 'reveal-request';
  readonly ballot: Ballot;
  readonly slot: Slot;
}

// --- Evidence gathering (Byzantine modes) ---------------------------------------------------

/**
 * A node that sees a signed vote contradict what it holds for (ballot, slot) asks its peers what
 * they hold there: equivocation split between halves of the cluster only becomes provable when
 * both halves' messages meet at one node.
 */
export interface EvidenceQuery {
  readonly type: 'evidence-query';
  readonly ballot: Ballot;
  readonly slot: Slot;
  /** Ask for checkpoint signatures at `slot` instead of the votes of (ballot, slot). */
  readonly checkpoint: boolean;
}

/**
 * Byzantine modes: the sender's ballot does not work for it (a command stalled, or no NewBallot
 * came). Binds to nothing: the sender stays in its ballot, and leaves it once f+1 members said so.
 */
export interface Suspect {
  readonly type: 'suspect';
  readonly ballot: Ballot;
}

/** Third-party signed messages, shared only to be compared, never counted as votes. */
export interface EvidenceShare {
  readonly type: 'evidence-share';
  readonly envelopes: readonly SignedEnvelope[];
}

// --- Status (deployment) --------------------------------------------------------------------
// Outside consensus: a client asks one member what it sees, and that member answers from its own
// view. Informational only: in the Byzantine modes a faulty member may answer anything.

/** Client -> member. `nonce` pairs the reply with the request. */
export interface StatusRequest {
  readonly type: 'status-request';
  readonly nonce: number;
}

/** Counters since the member's process started. */
export interface StatusCounts {
  readonly decisions: number;
  readonly viewChanges: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly rejected: number;
  readonly evidence: number;
  readonly suspicions: number;
}

/** Member -> client: the member's own view. */
export interface StatusReply {
  readonly type: 'status-reply';
  readonly nonce: number;
  readonly node: NodeId;
  readonly mode: Mode;
  /** The ballot the member leads or follows. */
  readonly ballot: Ballot;
  readonly isLeader: boolean;
  /** Every slot below this one is decided at the member; 0 when none is. */
  readonly decidedUpTo: Slot;
  readonly uptimeMs: number;
  readonly counts: StatusCounts;
  /** Byzantine modes: round of the ballot the latest decision the member saw voted on came from; 0 if none or crash mode. */
  readonly workingRound: number;
  /** The member is outside that ballot (changing, or joined below it): the cluster decides without its votes. */
  readonly outsideWorkingBallot: boolean;
  /**
   * A reconfigurable cluster's configurations as the member knows them: that of slot decidedUpTo,
   * then each one a decided change makes of a later slot, below decidedUpTo + α (the pending
   * changes). Empty in a static cluster.
   */
  readonly configurations: readonly KnownConfiguration[];
}

/** A configuration and the first slot it governs. */
export interface KnownConfiguration {
  readonly from: Slot;
  /** Ascending. */
  readonly members: readonly NodeId[];
}

export type StatusMessage = StatusRequest | StatusReply;

export type PeerMessage =
  | Prepare
  | Promise1b
  | Accept
  | Accepted
  | Nack
  | Heartbeat
  | CatchupRequest
  | CatchupReply
  | SignedEnvelope
  | Verify
  | CertifiedPromise
  | NewBallot
  | Checkpoint
  | CertifiedCatchupReply
  | StateManifest
  | StateRequest
  | StateParts
  | Commitment
  | Reveal
  | Bundle
  | RevealRequest
  | EvidenceQuery
  | EvidenceShare
  | Suspect;

/** What the protocol core and the simulator carry. */
export type Message = PeerMessage | ClientRequest | ClientReply;
export type MessageType = Message['type'];
/** Everything the wire format encodes: the protocol's messages and the status exchange. */
export type WireMessage = Message | StatusMessage;
export type WireMessageType = WireMessage['type'];

export const STATUS_MESSAGE_TYPES: readonly StatusMessage['type'][] = ['status-request', 'status-reply'];

export const MESSAGE_TYPES: readonly MessageType[] = [
  'prepare',
  'promise',
  'accept',
  'accepted',
  'nack',
  'heartbeat',
  'catchup-request',
  'catchup-reply',
  'request',
  'reply',
  'signed',
  'verify',
  'certified-promise',
  'new-ballot',
  'checkpoint',
  'certified-catchup-reply',
  'commitment',
  'reveal',
  'bundle',
  'reveal-request',
  'evidence-query',
  'evidence-share',
  'suspect',
  'state-manifest',
  'state-request',
  'state-parts',
];
