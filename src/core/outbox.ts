// Collects one step's effects. Messages a node addresses to itself never touch the network:
// they are queued here and handled within the same step, after the persists that precede them.
import type { Effect, PersistRecord, TimerName } from './effects.ts';
import type { Command, NodeId } from '../base/types.ts';
import type { ClientReply, PeerMessage, ReplyStatus } from '../messages/types.ts';

export class Outbox {
  readonly self: NodeId;
  readonly effects: Effect[] = [];
  readonly local: PeerMessage[] = [];

  constructor(self: NodeId) {
    this.self = self;
  }

  persist(records: readonly PersistRecord[]): void {
    for (const record of records) this.effects.push({ type: 'persist', record });
  }

  send(to: NodeId, msg: PeerMessage): void {
    if (to === this.self) this.local.push(msg);
    else this.effects.push({ type: 'send', to, msg });
  }

  /** To every node, this one included. */
  broadcast(msg: PeerMessage): void {
    this.effects.push({ type: 'broadcast', msg });
    this.local.push(msg);
  }

  /** To every other node: a repeat, or a message this node has no use for itself. */
  broadcastToPeers(msg: PeerMessage): void {
    this.effects.push({ type: 'broadcast', msg });
  }

  reply(msg: ClientReply): void {
    this.effects.push({ type: 'reply', clientId: msg.clientId, msg });
  }

  /** Replies to the session that sent `command`, about that command. */
  answer(command: Command, status: ReplyStatus, result: Uint8Array, leaderHint: NodeId): void {
    const { clientId, session, seq } = command;
    this.reply({ type: 'reply', clientId, session, seq, status, result, leaderHint });
  }

  setTimer(timer: TimerName, delayMs: number): void {
    this.effects.push({ type: 'setTimer', timer, delayMs });
  }

  clearTimer(timer: TimerName): void {
    this.effects.push({ type: 'clearTimer', timer });
  }

  push(effect: Effect): void {
    this.effects.push(effect);
  }
}
