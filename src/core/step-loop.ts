// The shape every mode's node shares: one input in, its handler runs, then the node drains the
// work that input caused (its own messages to itself, execution, new proposals), effects out.
import type { Effect, Input, TimerName } from './effects.ts';
import { Outbox } from './outbox.ts';
import type { NodeId } from '../base/types.ts';
import type { ClientRequest, PeerMessage } from '../messages/types.ts';

export abstract class StepLoop {
  abstract readonly id: NodeId;

  step(input: Input): Effect[] {
    const out = new Outbox(this.id);
    switch (input.type) {
      case 'message':
        this.onMessage(input.from, input.msg, out);
        break;
      case 'request':
        this.onClientRequest(input.msg, out);
        break;
      case 'timeout':
        this.onTimeout(input.timer, out);
        break;
    }
    this.drain(out);
    return out.effects;
  }

  protected abstract onMessage(from: NodeId, msg: PeerMessage, out: Outbox): void;
  protected abstract onClientRequest(msg: ClientRequest, out: Outbox): void;
  protected abstract onTimeout(timer: TimerName, out: Outbox): void;
  protected abstract drain(out: Outbox): void;

  /** One more of `key` in a received/dropped counter map. */
  protected count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}
