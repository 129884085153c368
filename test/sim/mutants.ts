// Deliberately broken protocol rules. Each must be caught: by the safety checker, or (the acceptor's
// P2c, which the acceptor also asserts) by the node's own invariant assertions first. If the
// checker ever stops catching the proposer mutants, it (or the fault injection) has gone blind.
import { Acceptor } from '../../src/core/acceptor.ts';
import type { CoreConfig } from '../../src/core/config.ts';
import { PaxosNode, type NodeOptions } from '../../src/core/node.ts';
import { Proposer } from '../../src/core/proposer.ts';
import { isAuxiliary } from '../../src/core/cheap.ts';
import type { Reconfiguration } from '../../src/core/config.ts';
import { byzantineQuorumOf, ConfigurationHistory, majorityOf } from '../../src/core/configuration.ts';
import type { Promise1b } from '../../src/messages/types.ts';
import { NOOP, type Batch, type NodeId, type PValue } from '../../src/base/types.ts';
import { encodeKvOp } from '../../src/app/kv.ts';

/** Violates P2c: accepts proposals from ballots lower than the one it promised. */
class LowerBallotAcceptor extends Acceptor {
  protected override mayAccept(): boolean {
    return true;
  }
}

/** Ignores what phase 1 reported and proposes no-ops instead (seed 002's rule broken). */
class Phase1SkippingProposer extends Proposer {
  protected override chooseValue(): Batch {
    return NOOP;
  }
}

/** Fills gaps with a command no client ever sent. */
class InventingProposer extends Proposer {
  protected override chooseValue(reported: PValue | undefined): Batch {
    if (reported !== undefined) return reported.batch;
    return { commands: [{ clientId: 999, session: 1, seq: 1, op: encodeKvOp({ type: 'put', key: 'k0', value: 'forged' }), signature: new Uint8Array(0) }] };
  }
}

/**
 * Cheap Paxos: counts an auxiliary's Promise towards the phase-1 quorum but drops the pvalues it
 * reports, as if auxiliaries only mattered in phase 2. A value chosen with an auxiliary's vote
 * while a main acceptor was down is then lost by a leader elected with that auxiliary.
 */
class AuxiliaryBlindProposer extends Proposer {
  readonly #config: CoreConfig;

  constructor(id: NodeId, config: CoreConfig, round: number) {
    super(id, config, round);
    this.#config = config;
  }

  override onPromise(from: NodeId, msg: Promise1b): ReturnType<Proposer['onPromise']> {
    return super.onPromise(from, isAuxiliary(this.#config, from) ? { ...msg, accepted: [] } : msg);
  }
}

/**
 * Reconfiguration without the window: a change decided in slot c governs from c + 1, and a node
 * uses whatever configuration it knows for any slot, without waiting for the slots up to s − α.
 * Proposers and learners that know different prefixes of the log then count different quorums
 * for one slot.
 */
class ImmediateConfigurations extends ConfigurationHistory {
  constructor(initial: readonly NodeId[], universe: number, quorumsOf = majorityOf) {
    super(initial, universe, 1, quorumsOf);
  }

  protected override knows(): boolean {
    return true;
  }
}

/** Takes the quorum that elected it for every slot: never asks whether a later configuration's acceptors promised. */
class ElectorateOnlyProposer extends Proposer {
  protected override promisedBy(): boolean {
    return true;
  }
}

type Factory = (options: NodeOptions) => PaxosNode;

export const MUTANTS: Readonly<Record<string, Factory>> = {
  'acceptor accepts a lower ballot': (o) =>
    new PaxosNode({ ...o, makeAcceptor: (s) => new LowerBallotAcceptor(s.promised, s.accepted) }),
  'leader skips phase-1 values': (o) =>
    new PaxosNode({ ...o, makeProposer: (id: NodeId, c: CoreConfig, r: number) => new Phase1SkippingProposer(id, c, r) }),
  'leader invents a command': (o) =>
    new PaxosNode({ ...o, makeProposer: (id: NodeId, c: CoreConfig, r: number) => new InventingProposer(id, c, r) }),
};

/** Mutants of the main members of a Cheap Paxos cluster (`config.auxiliaries` > 0). */
export const CHEAP_MUTANTS: Readonly<Record<string, Factory>> = {
  "leader ignores the auxiliaries' phase-1 pvalues": (o) =>
    new PaxosNode({ ...o, makeProposer: (id: NodeId, c: CoreConfig, r: number) => new AuxiliaryBlindProposer(id, c, r) }),
};

/** Mutants of a reconfigurable cluster (`--faults churn`). */
export const RECONFIGURATION_MUTANTS: Readonly<Record<string, Factory>> = {
  'a membership change applies at once, without the window α': (o) =>
    new PaxosNode({ ...o, makeConfigurations: (r) => new ImmediateConfigurations(r.members, r.universe) }),
  "a leader proposes in a later configuration on the promises that elected it": (o) =>
    new PaxosNode({ ...o, makeProposer: (id: NodeId, c: CoreConfig, r: number) => new ElectorateOnlyProposer(id, c, r) }),
};

/** Mutants of a reconfigurable Byzantine cluster's honest nodes: their configuration history (SimOptions.makeConfigurations). */
export const BYZANTINE_RECONFIGURATION_MUTANTS: Readonly<Record<string, (r: Reconfiguration) => ConfigurationHistory>> = {
  'a membership change applies at once, without the window α': (r) => new ImmediateConfigurations(r.members, r.universe, byzantineQuorumOf),
};
