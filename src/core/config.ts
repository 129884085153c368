// Tunables of one node's core. Times are in milliseconds of whatever clock the driver uses
// (virtual in the simulator, wall-clock in the runtime).
import { crashQuorums, type QuorumSpec } from './quorum.ts';
import { BATCH_COMMANDS_MAX, CONFIGURATION_MEMBERS_MAX, EAGER_SLOTS_DEFAULT, LEARNER_WINDOW_SLOTS, NODE_ID_MAX } from '../base/limits.ts';
import type { NodeId } from '../base/types.ts';
import { requireCount, requirePositive } from './validate.ts';
import { validateAuxiliaries } from './cheap.ts';

/** A cluster whose membership changes through the log (configuration.ts). */
export interface Reconfiguration {
  /** The members of the first configuration. */
  readonly members: readonly NodeId[];
  /** Node ids a configuration may ever hold: 0..universe−1. */
  readonly universe: number;
}

export interface CoreConfig {
  readonly mode: 'crash';
  /** A static cluster's quorums; with `reconfiguration`, each configuration's are majorities of its members. */
  readonly quorums: QuorumSpec;
  /** Null: members 0..n−1 for good, membership commands change nothing. */
  readonly reconfiguration: Reconfiguration | null;
  /** Cheap Paxos (cheap.ts): the last `auxiliaries` members are auxiliary acceptors; 0: every member is a full one. */
  readonly auxiliaries: number;
  /** Pipelining window α: slots a leader may have open beyond its first undecided slot. */
  readonly windowSlots: number;
  /** Undecided slots of its own below which a leader opens one per queued command at once (pipeline.ts). */
  readonly eagerSlots: number;
  /** Most client commands proposed in one slot. */
  readonly batchCommandsMax: number;
  readonly heartbeatMs: number;
  /** A follower that hears no leader for a random time in [min, max] starts phase 1. */
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  /** Cap of the randomized exponential backoff between failed leadership attempts (seed 002). */
  readonly backoffMaxMs: number;
  /** How long a lagging node waits for a catch-up reply before asking again. */
  readonly catchupRetryMs: number;
}

export function defaultConfig(f: number, overrides: Partial<CoreConfig> = {}): CoreConfig {
  const config: CoreConfig = {
    mode: 'crash',
    quorums: crashQuorums(f),
    auxiliaries: 0,
    reconfiguration: null,
    windowSlots: 8,
    eagerSlots: EAGER_SLOTS_DEFAULT,
    batchCommandsMax: 32,
    heartbeatMs: 50,
    electionTimeoutMinMs: 150,
    electionTimeoutMaxMs: 300,
    backoffMaxMs: 2000,
    catchupRetryMs: 100,
    ...overrides,
  };
  validateConfig(config);
  return config;
}

export function validateConfig(c: CoreConfig): void {
  requireCount('windowSlots', c.windowSlots, LEARNER_WINDOW_SLOTS);
  requireCount('eagerSlots', c.eagerSlots, LEARNER_WINDOW_SLOTS);
  requireCount('batchCommandsMax', c.batchCommandsMax, BATCH_COMMANDS_MAX);
  requirePositive('heartbeatMs', c.heartbeatMs);
  requirePositive('electionTimeoutMinMs', c.electionTimeoutMinMs);
  requirePositive('electionTimeoutMaxMs', c.electionTimeoutMaxMs);
  requirePositive('backoffMaxMs', c.backoffMaxMs);
  requirePositive('catchupRetryMs', c.catchupRetryMs);
  validateAuxiliaries(c);
  if (c.reconfiguration !== null) validateReconfiguration(c.reconfiguration, c.auxiliaries);
  if (c.electionTimeoutMaxMs < c.electionTimeoutMinMs) {
    throw new RangeError('config.electionTimeoutMaxMs must be >= electionTimeoutMinMs');
  }
  if (c.electionTimeoutMinMs <= c.heartbeatMs) {
    throw new RangeError('config.electionTimeoutMinMs must exceed heartbeatMs, or followers depose a live leader');
  }
}

export function validateReconfiguration(r: Reconfiguration, auxiliaries: number): void {
  if (auxiliaries > 0) throw new RangeError('config.reconfiguration: Cheap Paxos auxiliaries are not reconfigurable yet');
  requireCount('reconfiguration.universe', r.universe, NODE_ID_MAX + 1);
  const members = new Set(r.members);
  if (members.size !== r.members.length || members.size < 1 || members.size > CONFIGURATION_MEMBERS_MAX) {
    throw new RangeError(`config.reconfiguration.members must be 1..${CONFIGURATION_MEMBERS_MAX} distinct ids`);
  }
  for (const id of members) if (!Number.isInteger(id) || id < 0 || id >= r.universe) throw new RangeError(`config.reconfiguration: member ${id} not in 0..${r.universe - 1}`);
}
