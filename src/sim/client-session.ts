// One simulated client session: it turns its Client's effects into network sends and timer
// events, and drops a retry timer that a later timer or a completion made stale. The owner (the
// workload's clients, the churn operator) says what a completion, an eviction and a refusal mean.
import type { Client, ClientEffect } from '../core/client.ts';
import type { NodeId } from '../base/types.ts';
import type { ClientReply } from '../messages/types.ts';
import type { Network } from './network.ts';
import type { World } from './world.ts';

export interface SessionOutcomes {
  complete(result: Uint8Array): void;
  evicted(seq: number): void;
  /** The replicas refused the command: it was never decided. */
  refused(reason: string): void;
}

export class SimSession {
  readonly client: Client;
  /** The client index that its timer events name. */
  private readonly index: number;
  private readonly w: World;
  private readonly network: Network;
  private readonly outcomes: SessionOutcomes;
  private timerGeneration = 0;

  constructor(client: Client, index: number, world: World, network: Network, outcomes: SessionOutcomes) {
    this.client = client;
    this.index = index;
    this.w = world;
    this.network = network;
    this.outcomes = outcomes;
  }

  submit(op: Uint8Array): void {
    this.run(this.client.submit(op));
  }

  arrive(from: NodeId, reply: ClientReply): void {
    this.run(this.client.onReply(from, reply));
  }

  /** A retry timer fired; stale once a later one was set or the command completed. */
  timeout(generation: number): void {
    if (generation === this.timerGeneration) this.run(this.client.onTimeout());
  }

  private run(effects: readonly ClientEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send':
          this.network.sendRequest(effect.to, effect.msg);
          break;
        case 'setTimer':
          this.timerGeneration++;
          this.w.queue.push(this.w.now + effect.delayMs, { kind: 'client-timer', clientId: this.index, generation: this.timerGeneration });
          break;
        case 'complete':
          this.timerGeneration++;
          this.outcomes.complete(effect.result);
          break;
        case 'evicted':
          this.outcomes.evicted(effect.seq);
          break;
        case 'refused':
          this.timerGeneration++;
          this.outcomes.refused(effect.reason);
          break;
      }
    }
  }
}
