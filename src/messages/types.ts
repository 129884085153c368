// Message types of crash-mode Multi-Paxos. Names follow the seeds:
// Prepare = P1a, Promise = P1b, Accept = P2a, Accepted = P2b.
import type { Ballot } from '../core/ballot.ts';
import type { Batch, ClientId, Command, NodeId, PValue, Slot } from '../core/types.ts';

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

export type ReplyStatus = 'ok' | 'redirect' | 'busy';

/** Node -> client. `result` is set when status is 'ok'; `leaderHint` is -1 when unknown. */
export interface ClientReply {
  readonly type: 'reply';
  readonly clientId: ClientId;
  readonly seq: number;
  readonly status: ReplyStatus;
  readonly result: Uint8Array;
  readonly leaderHint: NodeId;
}

export type PeerMessage =
  | Prepare
  | Promise1b
  | Accept
  | Accepted
  | Nack
  | Heartbeat
  | CatchupRequest
  | CatchupReply;

export type Message = PeerMessage | ClientRequest | ClientReply;
export type MessageType = Message['type'];

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
];
