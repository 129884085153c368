// What every part of one simulated run shares: the options with their defaults, the virtual clock,
// the scheduling stream, the one event queue and the events on it. One object, so the network,
// the clients and the members read one clock and draw from one stream in one order.
import type { NodeId } from '../base/types.ts';
import type { TimerName } from '../core/effects.ts';
import type { SeededRng } from '../core/rng.ts';
import type { EventQueue } from './event-queue.ts';
import { NO_FAULTS } from './faults.ts';
import type { SimOptions } from './sim-options.ts';
import type { Coverage } from './sim-result.ts';

type Optional = 'makeNode' | 'makeConfigurations' | 'churnPlan' | 'byzantine' | 'config' | 'byzantineConfig' | 'eagerSlots' | 'workload' | 'hooks' | 'app' | 'validOp';

/** The options with every default filled in. */
export type Settings = Required<Omit<SimOptions, Optional>> & Pick<SimOptions, Optional>;

export function settingsOf(options: SimOptions): Settings {
  const commands = options.commands;
  const clients = options.clients ?? Math.max(1, Math.min(4, commands));
  const faultPhaseMs = options.faultPhaseMs ?? 2000;
  return {
    faults: NO_FAULTS,
    clients,
    keys: 3,
    faultPhaseMs,
    livenessBoundMs: 20_000,
    delay: { minMs: 1, maxMs: 10, jitter: true },
    thinkMs: (2 * faultPhaseMs * clients) / Math.max(1, commands),
    trace: false,
    flow: false,
    warmupCommands: 0,
    mode: 'crash',
    replayArgs: '',
    ...options,
  };
}

export type SimEvent =
  | { kind: 'deliver'; to: NodeId; from: NodeId; bytes: Uint8Array; flowId: number }
  | { kind: 'deliver-client'; clientId: number; from: NodeId; bytes: Uint8Array; flowId: number }
  | { kind: 'node-timer'; node: NodeId; timer: TimerName; generation: number }
  | { kind: 'client-timer'; clientId: number; generation: number }
  | { kind: 'client-submit'; clientId: number }
  | { kind: 'crash'; node: NodeId; downMs: number }
  | { kind: 'restart'; node: NodeId }
  | { kind: 'partition'; groupA: readonly NodeId[]; healAt: number }
  | { kind: 'partition-heal' }
  | { kind: 'heal-all' }
  | { kind: 'liveness-check'; clientId: number; seq: number }
  /** Membership churn: the operator submits its next change (churn.ts). */
  | { kind: 'churn' };

export interface World {
  readonly o: Settings;
  /** Members; the clients' side of the network is addressed as node `n`. */
  readonly n: number;
  /** The scheduling stream: delays, faults per message, workload, think times. */
  readonly rng: SeededRng;
  readonly queue: EventQueue<SimEvent>;
  /** Virtual time in ms. */
  now: number;
  /** Faults ended at faultPhaseMs; from then on nothing is lost and nothing crashes. */
  healed: boolean;
  /** Counted by the network, the members and what they report alike. */
  readonly coverage: Coverage;
}
