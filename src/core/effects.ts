// What the core asks its driver to do, in order (etcd raft's Ready). The driver must make
// every `persist` durable before performing any later `send`/`broadcast`/`reply` of the same step.
import type { Ballot } from './ballot.ts';
import type { Batch, ClientId, Command, NodeId, PValue, Slot } from './types.ts';
import type { ClientReply, ClientRequest, PeerMessage } from '../messages/types.ts';

export type TimerName = 'election' | 'heartbeat' | 'catchup';

export type PersistRecord =
  | { readonly type: 'promised'; readonly ballot: Ballot }
  | { readonly type: 'accepted'; readonly pvalue: PValue }
  | { readonly type: 'round'; readonly round: number }
  | { readonly type: 'decided'; readonly slot: Slot; readonly batch: Batch };

export type Effect =
  | { readonly type: 'persist'; readonly record: PersistRecord }
  | { readonly type: 'send'; readonly to: NodeId; readonly msg: PeerMessage }
  /** To every other node. */
  | { readonly type: 'broadcast'; readonly msg: PeerMessage }
  | { readonly type: 'reply'; readonly clientId: ClientId; readonly msg: ClientReply }
  | { readonly type: 'decide'; readonly slot: Slot; readonly batch: Batch }
  /** A command took effect at this replica (each (clientId, seq) at most once). */
  | { readonly type: 'execute'; readonly slot: Slot; readonly command: Command; readonly result: Uint8Array }
  | { readonly type: 'setTimer'; readonly timer: TimerName; readonly delayMs: number }
  | { readonly type: 'clearTimer'; readonly timer: TimerName };

export type Input =
  | { readonly type: 'message'; readonly from: NodeId; readonly msg: PeerMessage }
  | { readonly type: 'request'; readonly msg: ClientRequest }
  | { readonly type: 'timeout'; readonly timer: TimerName };
