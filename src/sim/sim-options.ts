// What a caller of `simulate` (simulator.ts) gives it: the run's options, and the hooks of a
// scripted scenario with what they may do to the run. Kept out of simulator.ts so that the parts
// it wires read these types without importing it back (no import circle).
import type { Mode } from '../base/mode.ts';
import type { KvOp } from '../app/kv.ts';
import type { CoreConfig, Reconfiguration } from '../core/config.ts';
import type { ConfigurationHistory, MembershipChange } from '../core/configuration.ts';
import type { AppFactory } from '../app/apps.ts';
import type { Effect } from '../core/effects.ts';
import type { PaxosNode, NodeOptions } from '../core/node.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import type { ByzantineConfig } from '../modes/byzantine/config.ts';
import type { Adversary } from '../adversary/adversary.ts';
import type { ClientId, NodeId } from '../base/types.ts';
import type { ClientRequest, PeerMessage } from '../messages/types.ts';
import type { FaultSpec } from './faults.ts';
import type { HistoryOp } from './linearizability.ts';

export interface SimOptions {
  /** Default 'crash'. */
  readonly mode?: Mode;
  readonly seed: number;
  readonly f: number;
  readonly commands: number;
  readonly faults?: FaultSpec;
  readonly clients?: number;
  readonly keys?: number;
  /** Faults are injected during [0, faultPhaseMs); then everything heals. */
  readonly faultPhaseMs?: number;
  /** After healing, every command must complete within this bound of max(heal time, its submission). */
  readonly livenessBoundMs?: number;
  /** Per-link base delay is drawn from [minMs, maxMs]; jitter adds up to half of it again. */
  readonly delay?: { readonly minMs: number; readonly maxMs: number; readonly jitter: boolean };
  /** Client think time between commands; default spreads the workload over the fault phase. */
  readonly thinkMs?: number;
  readonly config?: Partial<CoreConfig>;
  readonly byzantineConfig?: Partial<ByzantineConfig>;
  /**
   * The leader's `eagerSlots` (core/pipeline.ts); absent: every slot the window allows, the most
   * pipelining. Deployments default to EAGER_SLOTS_DEFAULT (batches that grow with the load).
   */
  readonly eagerSlots?: number;
  /** Message counters restart once this many commands completed (steady-state measurements). */
  readonly warmupCommands?: number;
  /** Collect a readable trace (costly; for replaying one seed). */
  readonly trace?: boolean;
  /** Record the message flow (trace-json.ts) for `sim --trace-json` and `--html`; observes only. */
  readonly flow?: boolean;
  /**
   * Churn (`faults.churn`): the operator's changes, in order, one at each of its change times,
   * instead of drawing them (scripted scenarios). A change that would not apply is submitted all
   * the same, and every replica ignores it alike.
   */
  readonly churnPlan?: readonly MembershipChange[];
  /** Byzantine churn: the honest nodes' configuration history (mutation tests substitute one that skips the window). */
  readonly makeConfigurations?: (reconfiguration: Reconfiguration) => ConfigurationHistory;
  /** Builds the crash-mode nodes: mutation tests substitute mutants, scripts keep them to inspect. */
  readonly makeNode?: (options: NodeOptions) => PaxosNode;
  /**
   * Each node's application (default the key-value store, which accepts every op). The clients
   * and the linearizability checker speak key-value ops, so it must run them as KvStore does.
   */
  readonly app?: AppFactory;
  /**
   * The checker's application predicate: no honest replica may apply an op it refuses. Default:
   * that of `app`. Mutation tests give the nodes an app that skips it and the checker the real one.
   */
  readonly validOp?: (op: Uint8Array) => boolean;
  /** The ops each client submits, in order, instead of random ones over `keys` keys. */
  readonly workload?: (clientId: ClientId, seq: number) => KvOp;
  readonly hooks?: SimHooks;
  /**
   * Byzantine nodes and their strategies (strategies[i] runs on nodes[i]); without `nodes`,
   * the seed picks which nodes, one per strategy. Safety is judged over the other nodes only.
   */
  readonly byzantine?: { readonly strategies: readonly Adversary[]; readonly nodes?: readonly NodeId[] };
  /**
   * Appended to the replay command: what the simulator cannot know, such as the
   * `--adversary-module PATH` of strategies that are not built in (only built-ins replay by name).
   */
  readonly replayArgs?: string;
}

/**
 * Hooks for scripted scenarios (src/cli/demo.ts is one): see what happens as it happens, and
 * act on the run at that exact moment, e.g. crash the leader once a follower has accepted a
 * given command. Hooks run synchronously inside the event that triggered them. Without hooks
 * a run is unchanged (same trace hash); with them it stays a pure function of seed and script.
 */
export interface SimHooks {
  /** Node `node` has just been built (on every (re)boot), before it starts: scripts keep it to inspect. */
  onBoot?(node: NodeId, core: ProtocolNode): void;
  /** `node` has just performed `effect` (its start() effects on every (re)boot included). */
  onEffect?(node: NodeId, effect: Effect, sim: SimControl): void;
  /** `msg` is about to reach live node `to` (`from` is -1 for a client's request); false loses it. */
  onDeliver?(from: NodeId, to: NodeId, msg: PeerMessage | ClientRequest, sim: SimControl): boolean | void;
  /** A client took a result for its command. */
  onClientComplete?(op: HistoryOp, sim: SimControl): void;
}

/** What a hook may do to the run; everything takes effect at once. */
export interface SimControl {
  /** Virtual time in ms. */
  now(): number;
  /**
   * Crashes a live node (no-op if down): it stays down until `restart`, or until faults heal
   * at faultPhaseMs. Messages it already sent still arrive unless onDeliver loses them; a node
   * crashed while its own effects are applied loses the rest of them.
   */
  crash(node: NodeId): void;
  /** Restarts a crashed node from what it persisted (no-op if up). */
  restart(node: NodeId): void;
  /** Crashes the node (if live) and discards all it persisted: its restart begins from nothing. */
  wipe(node: NodeId): void;
}
