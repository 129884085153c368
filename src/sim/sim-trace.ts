// What a run leaves to replay and compare it by: the trace hash over every note and message (the
// same seed gives the same hash, byte for byte), the readable trace when asked for, and the flow
// recorder (trace-json.ts) when asked for. Readable lines are formatted only when they are kept.
import { formatKvOp } from '../app/kv.ts';
import type { NodeId } from '../base/types.ts';
import { createHasher, type Hasher } from '../../crypto/digest.ts';
import { formatMessage } from '../messages/format.ts';
import type { ClientReply, Message } from '../messages/types.ts';
import { FlowRecorder } from './trace-json.ts';
import type { World } from './world.ts';

export class SimTrace {
  readonly lines: string[] = [];
  readonly flow: FlowRecorder | null;
  private readonly hasher: Hasher = createHasher();
  private readonly w: World;
  private readonly readable: boolean;

  constructor(world: World) {
    this.w = world;
    this.readable = world.o.trace;
    this.flow = world.o.flow ? new FlowRecorder(formatKvOp) : null;
  }

  get hash(): string {
    return this.hasher.digestHex();
  }

  note(text: string): void {
    this.hasher.update(`${this.w.now}|${text}\n`);
    if (this.readable) this.lines.push(`${this.stamp()}  -- ${text}`);
  }

  /** `from === n` is the clients' side; a plain send ('→') is hashed but not written out. */
  noteMessage(verb: string, from: number, target: string, msg: Message, bytes: Uint8Array, delay?: number): void {
    const source = from === this.w.n ? 'client' : `n${from}`;
    this.hasher.update(`${this.w.now}|${source}|${target}|${verb}|${delay ?? ''}\n`);
    this.hasher.update(bytes);
    if (this.readable && verb !== '→') this.lines.push(`${this.stamp()}  ${source} ${verb} ${target}  ${formatMessage(msg, formatKvOp)}`);
  }

  /** A message reached live node `to` (readable trace only). */
  arrived(from: NodeId, to: NodeId, msg: Message): void {
    if (this.readable) this.lines.push(`${this.stamp()}  ${sourceOf(from, msg)} ⇒ n${to}  ${formatMessage(msg, formatKvOp)}`);
  }

  /** A reply reached client `index + 1` (readable trace only). */
  arrivedAtClient(index: number, msg: ClientReply): void {
    if (this.readable) this.lines.push(`${this.stamp()}  ⇒ client c${index + 1}  ${formatMessage(msg)}`);
  }

  private stamp(): string {
    return `${this.w.now.toFixed(3).padStart(10)}ms`;
  }
}

/** Who sent a message to a node: its client for a request (the network has no client address). */
export function sourceOf(from: NodeId, msg: Message): string {
  return msg.type === 'request' ? `c${msg.command.clientId}` : `n${from}`;
}
