// What every mode's node offers its driver (simulator or runtime): the pure step/effects
// interface, plus what observers need to describe it.
import type { Ballot, NodeId } from '../base/types.ts';
import type { Effect, Input } from './effects.ts';

export interface ProtocolNode {
  readonly id: NodeId;
  /** Effects to run once after (re)start: replay of persisted state, first timers. */
  start(): Effect[];
  step(input: Input): Effect[];
  readonly isLeader: boolean;
  /** The ballot this node leads or follows. */
  readonly ballot: Ballot;
  readonly stats: { readonly received: Map<string, number>; readonly dropped: Map<string, number> };
  /** Byzantine modes: the ballot the cluster is seen working in, and whether this node is outside it. */
  readonly working?: WorkingBallot;
}

export interface WorkingBallot {
  /** Round of the ballot the latest decision seen voted on came from; 0 before any. */
  readonly round: number;
  /** Not joined to a ballot (changing), or joined to one below that round: decisions go on without our votes. */
  readonly outside: boolean;
}
