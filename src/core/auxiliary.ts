// A Cheap Paxos auxiliary acceptor (cheap.ts): the acceptor rules (P1a, P2c) and nothing else.
// It holds a promise and the pvalues of the slots it was asked about, persisted before it
// answers; it never leads, keeps no decided log and runs no state machine, and it sets no timers:
// it only answers the leader that engaged it. Its Accepted go to the main members, the learners.
// It keeps its pvalues: a main acceptor that was down may need them to learn what was decided
// while it was (Cheap Paxos's reconfiguration, which would let it forget them, is not built).
import type { Ballot, NodeId } from '../base/types.ts';
import { Acceptor } from './acceptor.ts';
import { mainsOf } from './cheap.ts';
import type { CoreConfig } from './config.ts';
import type { Effect, TimerName } from './effects.ts';
import type { Outbox } from './outbox.ts';
import type { ProtocolNode } from './protocol.ts';
import { StepLoop } from './step-loop.ts';
import type { PersistentState } from './storage.ts';
import { batchDigest } from '../messages/codec.ts';
import type { Accept, ClientRequest, PeerMessage, Prepare } from '../messages/types.ts';

export interface AuxiliaryOptions {
  readonly id: NodeId;
  readonly config: CoreConfig;
  readonly state: PersistentState;
}

const EMPTY = new Uint8Array(0);

export class AuxiliaryNode extends StepLoop implements ProtocolNode {
  readonly id: NodeId;
  readonly acceptor: Acceptor;
  readonly stats = { received: new Map<string, number>(), dropped: new Map<string, number>() };
  readonly isLeader = false;
  private readonly mains: number;

  constructor({ id, config, state }: AuxiliaryOptions) {
    super();
    this.id = id;
    this.mains = mainsOf(config);
    this.acceptor = new Acceptor(state.promised, state.accepted);
  }

  get ballot(): Ballot {
    return this.acceptor.promised;
  }

  start(): Effect[] {
    return [];
  }

  protected onMessage(from: NodeId, msg: PeerMessage, out: Outbox): void {
    // Only a main member leads, so only its Prepare and Accept concern us.
    const fromMain = Number.isInteger(from) && from >= 0 && from < this.mains;
    if ((msg.type !== 'prepare' && msg.type !== 'accept') || !fromMain) return this.count(this.stats.dropped, `${msg.type}:not-for-auxiliary`);
    if (msg.ballot.round < 1 || msg.ballot.leader !== from) return this.count(this.stats.dropped, `${msg.type}:bad-ballot`);
    this.count(this.stats.received, msg.type);
    if (msg.type === 'prepare') this.onPrepare(from, msg, out);
    else this.onAccept(from, msg, out);
  }

  /** It learns nothing, so it reports slot 0 as its first undecided one: no candidate tries to catch up from it. */
  private onPrepare(from: NodeId, msg: Prepare, out: Outbox): void {
    const outcome = this.acceptor.onPrepare(msg, 0);
    if (outcome.ok) out.persist(outcome.persist);
    out.send(from, outcome.reply);
  }

  private onAccept(from: NodeId, msg: Accept, out: Outbox): void {
    const outcome = this.acceptor.onAccept(msg);
    if (!outcome.ok) return out.send(from, outcome.reply);
    out.persist(outcome.persist);
    const accepted = { type: 'accepted', ballot: msg.ballot, slot: msg.slot, digest: batchDigest(msg.batch) } as const;
    for (let learner = 0; learner < this.mains; learner++) out.send(learner, accepted);
  }

  /** Clients talk to the main members; one that strays here is pointed at the leader we last promised. */
  protected onClientRequest(msg: ClientRequest, out: Outbox): void {
    out.answer(msg.command, 'redirect', EMPTY, this.acceptor.promised.leader);
  }

  protected onTimeout(_timer: TimerName, _out: Outbox): void {}

  protected drain(_out: Outbox): void {}
}
