// The adversary API. A Byzantine node is any ProtocolNode: it may wrap the honest node and
// rewrite what it emits, or ignore it entirely. It holds the node's real signing key (through
// `auth`), so it can sign anything that node could: conflicting messages, lies, replays. It
// cannot sign for other nodes, and it does not control the network (the simulator does).
//
// A researcher's strategy is a module whose default export is an `Adversary`:
//
//   export default {
//     name: 'my-attack',
//     create: (ctx) => new (class extends Tamper {
//       protected override rewrite(effect) { ... return [effect]; }
//     })(ctx),
//   } satisfies Adversary;
//
// and runs with `byzpaxos sim --mode byzantine --adversary-module ./my-attack.ts`.
import type { Ballot, NodeId } from '../base/types.ts';
import type { Effect, Input } from '../core/effects.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import type { Rng } from '../core/rng.ts';
import type { Evidence } from '../messages/evidence.ts';
import type { PeerMessage, SignedEnvelope } from '../messages/types.ts';
import type { Authenticator, SignedPayload } from '../modes/byzantine/auth.ts';
import { ByzantineNode, type ByzantineNodeOptions } from '../modes/byzantine/node.ts';

export interface AdversaryContext {
  readonly id: NodeId;
  readonly n: number;
  readonly f: number;
  /** The adversary's own randomness (seeded, so runs stay replayable). */
  readonly rng: Rng;
  /** Signs with this node's key; opens envelopes (checks others' signatures). */
  readonly auth: Authenticator;
  /** Everything an honest node of this id would be built from, its secrets' entropy source included. */
  readonly honest: ByzantineNodeOptions;
  /** Shared by every adversary of a run: colluders coordinate through it, out of band. */
  readonly collusion: Map<string, unknown>;
}

export interface Adversary {
  readonly name: string;
  readonly description: string;
  create(ctx: AdversaryContext): ProtocolNode;
}

/**
 * Runs the honest node and passes each effect through `rewrite`, which may drop it (return []),
 * alter it, or multiply it. Most strategies are a few lines on top of this.
 */
export abstract class Tamper implements ProtocolNode {
  readonly id: NodeId;
  readonly ctx: AdversaryContext;
  protected readonly inner: ByzantineNode;

  constructor(ctx: AdversaryContext) {
    this.ctx = ctx;
    this.id = ctx.id;
    this.inner = new ByzantineNode(ctx.honest);
  }

  get isLeader(): boolean {
    return this.inner.isLeader;
  }

  get ballot(): Ballot {
    return this.inner.ballot;
  }

  get stats(): ProtocolNode['stats'] {
    return this.inner.stats;
  }

  start(): Effect[] {
    return this.inner.start().flatMap((e) => this.rewrite(e));
  }

  step(input: Input): Effect[] {
    return this.inner.step(input).flatMap((e) => this.rewrite(e));
  }

  protected abstract rewrite(effect: Effect): Effect[];

  /** The signed inner message of an outgoing envelope, or null for anything else. */
  innerOf(msg: PeerMessage): SignedPayload | null {
    return msg.type === 'signed' ? this.ctx.auth.openOwn(msg) : null;
  }

  /** Sign `msg` as this node. */
  seal(msg: SignedPayload): SignedEnvelope {
    return this.ctx.auth.seal(msg);
  }

  /** Send one message per peer, chosen by `pick` (equivocation). */
  perPeer(pick: (peer: NodeId) => PeerMessage | null): Effect[] {
    const effects: Effect[] = [];
    for (let to = 0; to < this.ctx.n; to++) {
      if (to === this.id) continue;
      const msg = pick(to);
      if (msg !== null) effects.push({ type: 'send', to, msg });
    }
    return effects;
  }
}

/**
 * A provable act: a proof made of messages this node signed. Strategies note their acts so an
 * experiment can compare what an adversary did with what honest nodes proved (it also checks the
 * messages reached an honest node, by any route); noting changes nothing in the run. Whether the
 * messages really are a proof is left to the verifier.
 */
export interface AdversaryAct {
  readonly node: NodeId;
  readonly evidence: Evidence;
}

/** Reserved key of the collusion map: the simulator cannot be asked for acts, the shared map can. */
const ACTS_KEY = 'acts';

/** The acts noted so far in the run that shares `collusion`, in the order they happened. */
export function actsOf(collusion: Map<string, unknown>): AdversaryAct[] {
  let acts = collusion.get(ACTS_KEY) as AdversaryAct[] | undefined;
  if (acts === undefined) collusion.set(ACTS_KEY, (acts = []));
  return acts;
}

export function recordAct(ctx: AdversaryContext, evidence: Evidence): void {
  actsOf(ctx.collusion).push({ node: ctx.id, evidence });
}

/** Who an outgoing send or broadcast of `from` reaches (a broadcast skips its sender). */
export function recipientsOf(effect: Extract<Effect, { type: 'send' | 'broadcast' }>, n: number, from: NodeId): NodeId[] {
  return effect.type === 'send' ? [effect.to] : [...Array(n).keys()].filter((to) => to !== from);
}

/** Outgoing peer messages of an effect list, for strategies that only care about those. */
export function isPeerTraffic(effect: Effect): effect is Extract<Effect, { type: 'send' | 'broadcast' }> {
  return effect.type === 'send' || effect.type === 'broadcast';
}
