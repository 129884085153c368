// Cheap Paxos (Lamport and Massa, DSN 2004; seed 003) in crash mode: of the n members, the last
// `auxiliaries` are auxiliary acceptors and the others are main members (proposer, acceptor,
// learner, replica). Quorums stay what they are over all n (majorities of 2f+1), so safety is
// that of ordinary Paxos; what changes is who is asked. The main acceptors alone make a quorum,
// so while all of them answer the leader sends Prepare, Accept and Heartbeat to them only and the
// auxiliaries hear nothing. Once a main acceptor stops answering the leader engages the
// auxiliaries: its Accepts (and a retried Prepare) go to every acceptor, until each main acceptor
// it suspects answers again. Auxiliaries keep only a promise and pvalues: they never lead, learn
// or execute (auxiliary.ts), so they can be small machines.
import type { NodeId } from '../base/types.ts';
import type { QuorumSpec } from './quorum.ts';

/** What of a CoreConfig says who is auxiliary (config.ts validates through here). */
export interface CheapLayout {
  readonly quorums: QuorumSpec;
  readonly auxiliaries: number;
  /** A reconfigurable cluster (never with auxiliaries): every node of its universe is a main one. */
  readonly reconfiguration?: { readonly universe: number } | null;
}

/** Main members are 0..mains-1; auxiliaries are mains..n-1. */
export function mainsOf(config: CheapLayout): number {
  return (config.reconfiguration?.universe ?? config.quorums.n) - config.auxiliaries;
}

export function isAuxiliary(config: CheapLayout, id: NodeId): boolean {
  return id >= mainsOf(config);
}

/** Auxiliaries must leave main acceptors enough for both quorums, or they would never be idle. */
export function validateAuxiliaries(config: CheapLayout): void {
  const { auxiliaries, quorums } = config;
  if (!Number.isInteger(auxiliaries) || auxiliaries < 0) throw new RangeError(`config.auxiliaries must be a non-negative integer, got ${auxiliaries}`);
  const mains = quorums.n - auxiliaries;
  if (auxiliaries > 0 && mains < Math.max(quorums.phase1, quorums.phase2)) {
    throw new RangeError(`config.auxiliaries ${auxiliaries} leaves ${mains} main acceptors, fewer than a quorum (${quorums.phase1}/${quorums.phase2})`);
  }
}

/**
 * The leader's (or candidate's) view of which main acceptors are unresponsive. Suspicion is cheap
 * to get wrong both ways: a false one costs messages to the auxiliaries, a missed one delays a
 * slot until the next retransmission, when it is suspected.
 */
export class Engagement {
  private readonly self: NodeId;
  private readonly mains: number;
  private readonly suspects = new Set<NodeId>();

  constructor(self: NodeId, mains: number) {
    this.self = self;
    this.mains = mains;
  }

  /** Whether messages to acceptors go to the auxiliaries too. */
  get engaged(): boolean {
    return this.suspects.size > 0;
  }

  /**
   * A new phase 1. A retry (the last attempt got no quorum from the main acceptors) asks every
   * acceptor and suspects every other main one until it answers in the new ballot.
   */
  beginPhase1(retry: boolean): void {
    this.suspects.clear();
    if (!retry) return;
    for (let id = 0; id < this.mains; id++) if (id !== this.self) this.suspects.add(id);
  }

  /** A slot still undecided after a retransmission period: the main acceptors that did not vote on it are suspected. */
  suspectSilent(voters: ReadonlySet<NodeId>): void {
    for (let id = 0; id < this.mains; id++) if (!voters.has(id)) this.suspects.add(id);
  }

  /** A Promise or Accepted in our ballot from `from`: it answers again. */
  heard(from: NodeId): void {
    this.suspects.delete(from);
  }
}
