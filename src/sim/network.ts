// The simulated network between the members and the clients: every message is encoded to a frame
// (and counted), then dropped, duplicated, delayed, reordered or cut by a partition while faults
// last, and decoded where it arrives, so a run moves real bytes. Each link has its own base delay.
import type { NodeId } from '../base/types.ts';
import { CodecError, decodeMessage, encodeMessage, frameType } from '../messages/codec.ts';
import type { ClientReply, ClientRequest, Message, PeerMessage } from '../messages/types.ts';
import { CLIENTS } from '../trace/flow-trace.ts';
import type { SimControl } from './sim-options.ts';
import type { MessageCounts } from './sim-result.ts';
import { sourceOf, type SimTrace } from './sim-trace.ts';
import type { World } from './world.ts';

export class Network {
  /** Traffic since the counts last restarted (at warm-up's end). */
  messages: MessageCounts = { count: 0, bytes: 0, byType: new Map() };
  private readonly w: World;
  private readonly trace: SimTrace;
  private readonly control: SimControl;
  private readonly linkDelayMs: number[][] = [];
  /** Nodes on the same side as node 0 while a partition lasts, else null. */
  private partitionSide: Set<NodeId> | null = null;

  constructor(world: World, trace: SimTrace, control: SimControl) {
    this.w = world;
    this.trace = trace;
    this.control = control;
  }

  /** Draws every link's base delay, the clients' side (row n) included. */
  drawLinks(): void {
    const { minMs, maxMs } = this.w.o.delay;
    for (let a = 0; a < this.w.n + 1; a++) {
      this.linkDelayMs.push([]);
      for (let b = 0; b < this.w.n; b++) this.linkDelayMs[a]!.push(minMs + this.w.rng.next() * (maxMs - minMs));
    }
  }

  restartCounts(): void {
    this.messages = { count: 0, bytes: 0, byType: new Map() };
  }

  transmit(from: NodeId, to: NodeId, msg: PeerMessage): void {
    this.transmitFrame(from, to, msg, encodeMessage(msg));
  }

  /** To every other member: one encoding, shared by the copies (decoding never writes to a frame). */
  broadcast(from: NodeId, msg: PeerMessage): void {
    const bytes = encodeMessage(msg);
    for (let to = 0; to < this.w.n; to++) if (to !== from) this.transmitFrame(from, to, msg, bytes);
  }

  private transmitFrame(from: NodeId, to: NodeId, msg: PeerMessage, bytes: Uint8Array): void {
    this.count(msg, bytes);
    if (this.partitionSide !== null && this.partitionSide.has(from) !== this.partitionSide.has(to)) {
      this.trace.flow?.sent(this.w.now, from, to, msg, 'partitioned');
      return this.trace.noteMessage('✗ partitioned', from, `n${to}`, msg, bytes);
    }
    this.sendWithFaults(from, to, msg, bytes, (delay, flowId) => this.w.queue.push(this.w.now + delay, { kind: 'deliver', to, from, bytes, flowId }));
  }

  transmitToClient(from: NodeId, clientId: number, msg: ClientReply): void {
    const bytes = this.encode(msg);
    const index = clientId - 1;
    this.sendWithFaults(from, this.w.n, msg, bytes, (delay, flowId) =>
      this.w.queue.push(this.w.now + delay, { kind: 'deliver-client', clientId: index, from, bytes, flowId }),
    );
  }

  /** A client's request; partitions cut members only. */
  sendRequest(to: NodeId, msg: ClientRequest): void {
    const bytes = this.encode(msg);
    this.sendWithFaults(this.w.n, to, msg, bytes, (delay, flowId) => this.w.queue.push(this.w.now + delay, { kind: 'deliver', to, from: -1, bytes, flowId }));
  }

  /**
   * A frame reaches node `to` (`up`: it is live), unless a hook loses it; what the node is to
   * step on, or null. A reply sent to a node arrives and is ignored.
   */
  arrive(to: NodeId, from: NodeId, bytes: Uint8Array, flowId: number, up: boolean): PeerMessage | ClientRequest | null {
    const msg = up ? decode(bytes) : null;
    if (msg !== null && msg.type !== 'reply' && this.w.o.hooks?.onDeliver?.(from, to, msg, this.control) === false) {
      this.trace.flow?.arrived(flowId, this.w.now, 'lost');
      this.trace.note(`${sourceOf(from, msg)} ✗ n${to} ${msg.type} lost by a hook`);
      return null;
    }
    this.trace.flow?.arrived(flowId, this.w.now, msg === null ? 'lost' : 'delivered');
    if (msg === null) return null;
    this.trace.arrived(from, to, msg);
    return msg.type === 'reply' ? null : msg;
  }

  /** A frame reaches client `index + 1`: the reply it takes, or null. */
  arriveAtClient(index: number, bytes: Uint8Array, flowId: number): ClientReply | null {
    const msg = decode(bytes);
    this.trace.flow?.arrived(flowId, this.w.now, msg === null || msg.type !== 'reply' ? 'lost' : 'delivered');
    if (msg === null || msg.type !== 'reply') return null;
    this.trace.arrivedAtClient(index, msg);
    return msg;
  }

  /** Cuts `groupA` off from the rest until `healAt` (none once faults healed). */
  partition(groupA: readonly NodeId[], healAt: number): void {
    if (this.w.healed) return;
    this.partitionSide = new Set(groupA);
    this.trace.note(`partition {${groupA.map((id) => `n${id}`).join(',')}} | rest`);
    this.trace.flow?.event({ kind: 'partition', atMs: this.w.now, side: groupA });
    this.w.queue.push(healAt, { kind: 'partition-heal' });
  }

  partitionHeal(): void {
    if (this.partitionSide !== null) {
      this.trace.note('partition healed');
      this.trace.flow?.event({ kind: 'partition-heal', atMs: this.w.now });
    }
    this.partitionSide = null;
  }

  /** Faults end: no partition from now on (drops, duplicates and reordering stop with `healed`). */
  heal(): void {
    this.partitionSide = null;
  }

  /** `to === n` addresses the clients' side of the network; `flowId` names the send in the flow recording (-1 when not recording). */
  private sendWithFaults(from: NodeId, to: number, msg: Message, bytes: Uint8Array, schedule: (delay: number, flowId: number) => void): void {
    const faulty = !this.w.healed;
    const { faults } = this.w.o;
    const flow = this.trace.flow;
    const target = to === this.w.n ? 'client' : `n${to}`;
    const endpoint = (id: number) => (id === this.w.n ? CLIENTS : id);
    if (faulty && faults.drop > 0 && this.w.rng.next() < faults.drop) {
      flow?.sent(this.w.now, endpoint(from), endpoint(to), msg, 'dropped');
      return this.trace.noteMessage('✗ dropped', from, target, msg, bytes);
    }
    const copies = faulty && faults.dup > 0 && this.w.rng.next() < faults.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = this.delay(from, to === this.w.n ? (from + 1) % this.w.n : to);
      this.trace.noteMessage(i === 0 ? '→' : '→ dup', from, target, msg, bytes, delay);
      schedule(delay, flow?.sent(this.w.now, endpoint(from), endpoint(to), msg, 'in-flight', i > 0) ?? -1);
    }
  }

  private delay(from: number, to: NodeId): number {
    const base = this.linkDelayMs[from]![to]!;
    let delay = this.w.o.delay.jitter ? base * (1 + 0.5 * this.w.rng.next()) : base;
    if (this.w.o.faults.reorder && !this.w.healed && this.w.rng.next() < 0.3) delay += -Math.log(1 - this.w.rng.next()) * 20;
    return delay;
  }

  private encode(msg: Message): Uint8Array {
    const bytes = encodeMessage(msg);
    this.count(msg, bytes);
    return bytes;
  }

  private count(msg: Message, bytes: Uint8Array): void {
    // Signed envelopes are counted by what they carry.
    const type = msg.type === 'signed' ? (frameType(msg.payload) ?? 'signed') : msg.type;
    if (type === 'catchup-reply' || type === 'certified-catchup-reply' || type === 'state-parts') this.w.coverage.catchupReplies++;
    this.messages.count++;
    this.messages.bytes += bytes.length;
    let entry = this.messages.byType.get(type);
    if (entry === undefined) this.messages.byType.set(type, (entry = { count: 0, bytes: 0 }));
    entry.count++;
    entry.bytes += bytes.length;
  }
}

/** Null for a frame that does not decode. */
function decode(bytes: Uint8Array): Message | null {
  try {
    return decodeMessage(bytes);
  } catch (e) {
    if (e instanceof CodecError) return null;
    throw e;
  }
}
