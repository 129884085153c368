// A network that moves only when told (etcd raft's interaction tests, raft-rs's harness): n nodes
// of any mode, each with a MemoryStorage, and a FIFO of messages in flight that a scripted
// scenario delivers, filters, or loses on a cut link (a black hole). It plays the driver as the
// runtime does: every `persist` is applied at the point it appears in the effect list, before the
// effects after it; `inspect` sees each effect first, so a test can check persist-before-send.
import type { Batch, Command, NodeId, Slot } from '../base/types.ts';
import type { Effect, Input, TimerName } from '../core/effects.ts';
import type { PersistentState } from '../core/storage.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import type { ClientReply, PeerMessage } from '../messages/types.ts';
import { MemoryStorage } from '../storage/memory.ts';
import { interpret, type EffectHandlers } from './interpret.ts';

export interface InFlight {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: PeerMessage;
}

/** Builds node `id` from what its storage holds; `boot` counts the node's incarnations from 1. */
export type NodeFactory<N extends ProtocolNode> = (id: NodeId, state: PersistentState, boot: number) => N;

/** Deliveries after which a `deliverAll` that has not drained the network gives up. */
const DELIVERIES_MAX_DEFAULT = 100_000;

export class ManualNetwork<N extends ProtocolNode> {
  readonly n: number;
  readonly nodes: N[] = [];
  readonly storages: MemoryStorage[] = [];
  /** Messages sent and not yet delivered, in send order. */
  inFlight: InFlight[] = [];
  readonly replies: { node: NodeId; msg: ClientReply }[] = [];
  readonly decisions: { node: NodeId; slot: Slot; batch: Batch }[] = [];
  readonly executions: { node: NodeId; slot: Slot; command: Command }[] = [];
  /** Armed timers per node: the scenario fires them by hand. */
  readonly timers: Map<TimerName, number>[] = [];
  /** Every (node, effects) the nodes produced, in order. */
  readonly log: { node: NodeId; effects: Effect[] }[] = [];
  private readonly make: NodeFactory<N>;
  private readonly inspect: (id: NodeId, effect: Effect, storage: MemoryStorage) => void;
  private readonly boots: number[] = [];
  private readonly cut = new Set<string>();

  constructor(n: number, make: NodeFactory<N>, inspect: (id: NodeId, effect: Effect, storage: MemoryStorage) => void = () => {}) {
    this.n = n;
    this.make = make;
    this.inspect = inspect;
    for (let id = 0; id < n; id++) {
      this.storages.push(new MemoryStorage());
      this.timers.push(new Map());
      this.boot(id);
    }
  }

  /** (Re)creates node `id` from what its storage holds: a restart, with no timer armed. */
  boot(id: NodeId): Effect[] {
    this.boots[id] = (this.boots[id] ?? 0) + 1;
    const node = this.make(id, this.storages[id]!.load(), this.boots[id]!);
    this.nodes[id] = node;
    this.timers[id]!.clear();
    return this.drive(id, node.start());
  }

  step(id: NodeId, input: Input): Effect[] {
    return this.drive(id, this.nodes[id]!.step(input));
  }

  /** Hand `msg` to node `to` as if it arrived from `from` on an authenticated channel. */
  deliver(to: NodeId, from: NodeId, msg: PeerMessage): Effect[] {
    return this.step(to, { type: 'message', from, msg });
  }

  request(id: NodeId, command: Command): Effect[] {
    return this.step(id, { type: 'request', msg: { type: 'request', command } });
  }

  fire(id: NodeId, timer: TimerName): Effect[] {
    return this.step(id, { type: 'timeout', timer });
  }

  /** Cut every link to and from `id` (both directions are black holes) until `heal`. */
  isolate(id: NodeId): void {
    for (let p = 0; p < this.n; p++) {
      if (p === id) continue;
      this.cut.add(`${id}->${p}`);
      this.cut.add(`${p}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Deliver in-flight messages (FIFO) until none is left; throws after `max` deliveries. */
  deliverAll(max = DELIVERIES_MAX_DEFAULT): number {
    let delivered = 0;
    while (this.inFlight.length > 0) {
      if (delivered++ >= max) throw new Error('deliverAll: network did not quiesce');
      const m = this.inFlight.shift()!;
      this.deliver(m.to, m.from, m.msg);
    }
    return delivered;
  }

  /** Deliver only the in-flight messages matching `pick`; the rest stay queued in order. */
  deliverWhere(pick: (m: InFlight) => boolean): void {
    const chosen = this.inFlight.filter(pick);
    this.inFlight = this.inFlight.filter((m) => !pick(m));
    for (const m of chosen) this.deliver(m.to, m.from, m.msg);
  }

  effectsOf(id: NodeId): Effect[] {
    return this.log.filter((l) => l.node === id).flatMap((l) => l.effects);
  }

  private drive(id: NodeId, effects: Effect[]): Effect[] {
    this.log.push({ node: id, effects });
    const storage = this.storages[id]!;
    for (const e of effects) {
      this.inspect(id, e, storage);
      interpret(e, id, this.handlers);
    }
    return effects;
  }

  private readonly handlers: EffectHandlers<NodeId> = {
    persist: (e, id) => this.storages[id]!.apply([e.record]),
    send: (e, id) => this.transmit(id, e.to, e.msg),
    broadcast: (e, id) => {
      for (let to = 0; to < this.n; to++) if (to !== id) this.transmit(id, to, e.msg);
    },
    reply: (e, id) => this.replies.push({ node: id, msg: e.msg }),
    decide: (e, id) => this.decisions.push({ node: id, slot: e.slot, batch: e.batch }),
    execute: (e, id) => this.executions.push({ node: id, slot: e.slot, command: e.command }),
    // A scenario reads proofs and suspicions from `log`.
    evidence: () => {},
    suspicion: () => {},
    setTimer: (e, id) => this.timers[id]!.set(e.timer, e.delayMs),
    clearTimer: (e, id) => this.timers[id]!.delete(e.timer),
  };

  private transmit(from: NodeId, to: NodeId, msg: PeerMessage): void {
    if (this.cut.has(`${from}->${to}`)) return;
    this.inFlight.push({ from, to, msg });
  }
}
