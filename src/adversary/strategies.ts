// Built-in Byzantine strategies. Each is small on purpose: one misbehaviour, named so.
import type { Effect, Input, ProtocolTimer, TimerName } from '../core/effects.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import { NOOP, type NodeId, type Slot } from '../base/types.ts';
import { batchDigest, frameType } from '../messages/codec.ts';
import type { Accept, Bundle, CertifiedPromise, PeerMessage, SignedEnvelope } from '../messages/types.ts';
import type { SignedPayload } from '../modes/byzantine/auth.ts';
import { chooseFromPromises } from '../modes/byzantine/certificates.ts';
import { ByzantineNode } from '../modes/byzantine/node.ts';
import type { StateMachine } from '../core/state-machine.ts';
import { isPeerTraffic, recipientsOf, recordAct, Tamper, type Adversary, type AdversaryContext } from './adversary.ts';
import { claimOf } from '../modes/byzantine/claim.ts';
import { commit } from '../../crypto/commitment.ts';
import { bytesEqual, sha256 } from '../../crypto/digest.ts';

/** Sends nothing at all (but keeps its state): a crash that never says so. */
class Silent extends Tamper {
  protected rewrite(effect: Effect): Effect[] {
    return isPeerTraffic(effect) || effect.type === 'reply' ? [] : [effect];
  }
}

/** Digests a colluding leader sent for (ballot, slot): [to even peers, to odd peers]. */
function leaderVersions(ctx: AdversaryContext, round: number, slot: number): readonly [Uint8Array, Uint8Array] | undefined {
  return ctx.collusion.get(`versions/${round}/${slot}`) as readonly [Uint8Array, Uint8Array] | undefined;
}

/**
 * Signs two different digests for one (ballot, slot), Verify and Accepted (and two state digests
 * per checkpoint): half the peers see each. If a colluding leader equivocated on that slot, each
 * half gets the digest the leader sent it, which is what breaks safety beyond f.
 */
class EquivocatingAcceptor extends Tamper {
  protected rewrite(effect: Effect): Effect[] {
    return effect.type === 'broadcast' && effect.msg.type === 'signed' ? splitVotes(this, effect.msg) ?? [effect] : [effect];
  }
}

/** Re-signs an outgoing vote per peer parity; null if the message is not a vote. */
function splitVotes(t: Tamper, msg: SignedEnvelope): Effect[] | null {
  const inner = t.innerOf(msg);
  if (inner === null) return null;
  if (inner.type === 'checkpoint') return splitByParity(t, msg, t.seal({ ...inner, stateDigest: sha256(inner.stateDigest) }));
  if (inner.type !== 'verify' && inner.type !== 'accepted') return null;
  const [even, odd] = (leaderVersions(t.ctx, inner.ballot.round, inner.slot) ?? [inner.digest, sha256(inner.digest)]).map((digest) =>
    t.seal({ ...inner, digest }),
  );
  return splitByParity(t, even!, odd!);
}

/** Sends `even` to even peers and `odd` to odd ones; two different messages are an act. */
function splitByParity(t: Tamper, even: SignedEnvelope, odd: SignedEnvelope): Effect[] {
  const effects = t.perPeer((peer) => (peer % 2 === 0 ? even : odd));
  // A colluding leader's two versions coincide on an empty batch: then nothing conflicts.
  if (!bytesEqual(even.payload, odd.payload)) recordAct(t.ctx, { kind: 'equivocation', first: even, second: odd });
  return effects;
}

/**
 * As leader, proposes a different batch to each half of the acceptors for the same slot (and
 * votes for each half's version there); it tells its colluders which digest went where.
 */
class EquivocatingLeader extends Tamper {
  protected rewrite(effect: Effect): Effect[] {
    if (effect.type !== 'broadcast' || effect.msg.type !== 'signed') return [effect];
    const inner = this.innerOf(effect.msg);
    if (inner === null) return [effect];
    if (inner.type !== 'accept') return splitVotes(this, effect.msg) ?? [effect];
    const other: Accept = { ...inner, batch: { commands: inner.batch.commands.slice(0, -1) } };
    this.ctx.collusion.set(`versions/${inner.ballot.round}/${inner.slot}`, [batchDigest(inner.batch), batchDigest(other.batch)]);
    return splitByParity(this, effect.msg, this.seal(other));
  }
}

/** Hides every prepared certificate and its checkpoint when promising (undetectable omission). */
class LyingPromise extends Tamper {
  protected rewrite(effect: Effect): Effect[] {
    if (!isPeerTraffic(effect)) return [effect];
    const inner = this.innerOf(effect.msg);
    if (inner?.type === 'certified-promise') return [{ ...effect, msg: this.lie(inner) }];
    if (inner?.type !== 'new-ballot') return [effect];
    // As leader, it tells the same lie in its NewBallot, so it never signs two promises for one ballot.
    const promises = inner.promises.map((envelope) => {
      const promise = envelope.signer === this.id ? this.innerOf(envelope) : null;
      return promise?.type === 'certified-promise' ? this.lie(promise) : envelope;
    });
    return [{ ...effect, msg: this.seal({ ...inner, promises }) }];
  }

  private lie(promise: CertifiedPromise): SignedEnvelope {
    return this.seal({ ...promise, checkpoint: null, prepared: [] });
  }
}

/**
 * Puts messages forged in the recipient's own name into everything it relays, betting that a node
 * believes what claims to come from itself: the recipient's promise, emptied, in its NewBallots
 * (with its own promise lying as lying-promise's does, a prepared slot looks free); the
 * recipient's commitment in its Bundles; the recipient's votes in its catch-up and state replies;
 * and, with every vote or reveal it sends, an evidence share holding the recipient's vote for
 * another digest. It cannot sign as anyone else: each forgery carries its own signature under the
 * recipient's name. Every NewBallot it sends is then unjustified, which is provable. Having led
 * a ballot in, it re-proposes a no-op in every slot the honest NewBallot would have settled with
 * a batch, and votes for the no-op there itself: a node fooled into leaving such a slot open
 * verifies the no-op, and learners that had not yet decided the slot may decide it.
 */
class Forger extends LyingPromise {
  /** Valid promises received, by round and signer, with how many prepared certificates each carries. */
  private readonly received = new Map<number, Map<NodeId, { envelope: SignedEnvelope; prepared: number }>>();
  private static readonly ROUNDS_KEPT = 8;
  /** Slots its NewBallot for a round would have settled with a batch: re-proposed as no-ops. */
  private readonly reproposed = new Map<number, Set<Slot>>();

  override step(input: Input): Effect[] {
    if (input.type === 'message' && input.msg.type === 'signed' && frameType(input.msg.payload) === 'certified-promise') this.remember(input.msg);
    return super.step(input);
  }

  private remember(envelope: SignedEnvelope): void {
    const promise = this.ctx.auth.open(envelope);
    if (promise?.type !== 'certified-promise' || envelope.signer === this.id) return;
    let byNode = this.received.get(promise.ballot.round);
    if (byNode === undefined) {
      this.received.set(promise.ballot.round, (byNode = new Map()));
      // Only the coming rounds matter; forget the oldest.
      if (this.received.size > Forger.ROUNDS_KEPT) this.received.delete(Math.min(...this.received.keys()));
    }
    byNode.set(envelope.signer, { envelope, prepared: promise.prepared.length });
  }

  protected override rewrite(effect: Effect): Effect[] {
    return super.rewrite(effect).flatMap((e) => this.forgeInto(e));
  }

  private forgeInto(effect: Effect): Effect[] {
    if (!isPeerTraffic(effect) || effect.msg.type !== 'signed') return [effect];
    const inner = this.innerOf(effect.msg);
    if (inner === null) return [effect];
    if (inner.type === 'new-ballot') this.noteSettled(inner);
    const votes = this.noopVotes(inner);
    if (votes !== null) return votes.map((msg) => ({ ...effect, msg }));
    const original = effect.msg;
    const effects: Effect[] = [];
    for (const to of recipientsOf(effect, this.ctx.n, this.id)) {
      effects.push({ type: 'send', to, msg: this.forgedFor(to, inner) ?? original });
      const share = this.sharedLie(to, inner);
      if (share !== null) effects.push({ type: 'send', to, msg: share });
    }
    return effects;
  }

  private noteSettled(msg: Extract<SignedPayload, { type: 'new-ballot' }>): void {
    if (this.reproposed.has(msg.ballot.round)) return;
    const ctx = { n: this.ctx.n, quorum: this.ctx.honest.config.quorums.phase2, open: (e: SignedEnvelope) => this.ctx.auth.open(e) };
    const result = chooseFromPromises(ctx, msg.ballot, msg.promises);
    if (!result.ok) return;
    this.reproposed.set(msg.ballot.round, new Set([...result.choice.slots].filter(([, batch]) => batch.commands.length > 0).map(([slot]) => slot)));
    if (this.reproposed.size > Forger.ROUNDS_KEPT) this.reproposed.delete(Math.min(...this.reproposed.keys()));
  }

  /**
   * Its own vote in a slot it re-proposes: an Accept, a Verify (and in Byzantine mode an Accepted)
   * for the no-op instead, the same to everyone; [] for the honest Accepted it must not also sign.
   */
  private noopVotes(msg: SignedPayload): SignedEnvelope[] | null {
    if (msg.type !== 'verify' && msg.type !== 'accepted') return null;
    if (msg.ballot.leader !== this.id || this.reproposed.get(msg.ballot.round)?.has(msg.slot) !== true) return null;
    if (msg.type === 'accepted') return [];
    const digest = batchDigest(NOOP);
    const votes = [
      this.seal({ type: 'accept', ballot: msg.ballot, slot: msg.slot, batch: NOOP, decidedUpTo: 0 }),
      this.seal({ ...msg, digest }),
    ];
    if (this.ctx.honest.config.mode === 'byzantine') votes.push(this.seal({ type: 'accepted', ballot: msg.ballot, slot: msg.slot, digest }));
    return votes;
  }

  /** `msg` resealed with `peer`'s own messages inside swapped for forgeries; null if it relays none. */
  private forgedFor(peer: NodeId, msg: SignedPayload): SignedEnvelope | null {
    const swap = (envelopes: readonly SignedEnvelope[], lie: (inner: SignedPayload) => SignedPayload) =>
      envelopes.map((e) => {
        const inner = e.signer === peer ? this.ctx.auth.open(e) : null;
        return inner === null ? e : this.forge(peer, lie(inner));
      });
    switch (msg.type) {
      case 'new-ballot': {
        const newBallot = this.seal({ ...msg, promises: this.withForgedPromise(peer, msg) });
        recordAct(this.ctx, { kind: 'unjustified-new-ballot', newBallot });
        return newBallot;
      }
      case 'bundle':
        return this.seal({ ...msg, commitments: swap(msg.commitments, (box) => (box.type === 'commitment' ? { ...box, commitment: sha256(box.commitment) } : box)) });
      case 'certified-catchup-reply':
        return this.seal({ ...msg, entries: msg.entries.map((entry) => ({ ...entry, accepteds: swap(entry.accepteds, (vote) => vote) })) });
      case 'state-manifest':
        return this.seal({ ...msg, checkpoint: { ...msg.checkpoint, signatures: swap(msg.checkpoint.signatures, (vote) => vote) } });
      default:
        return null;
    }
  }

  /**
   * The NewBallot for `peer`: its own (lying) promise, `peer`'s as an empty forgery, and the
   * promise received from a third node with the fewest prepared certificates: as little as
   * possible of what was prepared survives.
   */
  private withForgedPromise(peer: NodeId, msg: Extract<SignedPayload, { type: 'new-ballot' }>): SignedEnvelope[] {
    const own = msg.promises.find((e) => e.signer === this.id);
    const thirds = [...(this.received.get(msg.ballot.round)?.values() ?? [])]
      .filter((p) => p.envelope.signer !== peer && p.envelope.signer !== this.id)
      .sort((a, b) => a.prepared - b.prepared || a.envelope.signer - b.envelope.signer)
      .map((p) => p.envelope);
    const forged = this.forge(peer, { type: 'certified-promise', ballot: msg.ballot, checkpoint: null, prepared: [] });
    const rest = msg.promises.filter((e) => e !== own && e.signer !== peer);
    return [own ?? rest.shift()!, forged, ...thirds.slice(0, 1), ...rest].slice(0, msg.promises.length);
  }

  /** With each vote or reveal: an evidence share holding `peer`'s forged vote for another digest. */
  private sharedLie(peer: NodeId, msg: SignedPayload): SignedEnvelope | null {
    if (msg.type !== 'verify' && msg.type !== 'accepted' && msg.type !== 'reveal') return null;
    return this.seal({ type: 'evidence-share', envelopes: [this.forge(peer, { ...msg, digest: sha256(msg.digest) })] });
  }

  /** `msg` under `peer`'s name, signed with this node's key: a forgery no honest check accepts. */
  private forge(peer: NodeId, msg: SignedPayload): SignedEnvelope {
    return { ...this.seal(msg), signer: peer };
  }
}

/** Every envelope it sends carries a corrupted signature. */
class BadSignature extends Tamper {
  protected rewrite(effect: Effect): Effect[] {
    if (!isPeerTraffic(effect) || effect.msg.type !== 'signed') return [effect];
    const signature = effect.msg.signature.slice();
    signature[0]! ^= 0x01;
    return [{ ...effect, msg: { ...effect.msg, signature } }];
  }
}

/** Behaves, and also re-sends old messages it sent or received to random peers. */
class Replay extends Tamper {
  private readonly seen: SignedEnvelope[] = [];
  private static readonly KEEP = 256;

  override step(input: Input): Effect[] {
    if (input.type === 'message' && input.msg.type === 'signed') this.remember(input.msg);
    const effects = super.step(input);
    if (this.seen.length > 0 && this.ctx.rng.next() < 0.3) {
      const old = this.seen[this.ctx.rng.int(this.seen.length)]!;
      effects.push({ type: 'send', to: this.ctx.rng.int(this.ctx.n), msg: old });
    }
    return effects;
  }

  protected rewrite(effect: Effect): Effect[] {
    if (isPeerTraffic(effect) && effect.msg.type === 'signed') this.remember(effect.msg);
    return [effect];
  }

  private remember(envelope: SignedEnvelope): void {
    if (this.seen.length >= Replay.KEEP) this.seen.splice(this.ctx.rng.int(this.seen.length), 1);
    this.seen.push(envelope);
  }
}

/** Holds every outgoing message for a while before sending it: a slow node, or a slow leader. */
class Slow extends Tamper {
  private static readonly DELAY_MS = 250;
  private held: Effect[] = [];

  override step(input: Input): Effect[] {
    if (input.type === 'timeout' && input.timer === 'adversary') {
      const released = this.held;
      this.held = [];
      return released;
    }
    return super.step(input);
  }

  protected rewrite(effect: Effect): Effect[] {
    if (!isPeerTraffic(effect) && effect.type !== 'reply') return [effect];
    this.held.push(effect);
    return this.held.length === 1 ? [{ type: 'setTimer', timer: 'adversary', delayMs: Slow.DELAY_MS }] : [];
  }
}

/**
 * Two honest instances sharing one identity and key (Bano et al., "Twins"): each talks to one
 * half of the cluster, so together they sign conflicting messages without any single line of
 * code being dishonest.
 */
class Twins implements ProtocolNode {
  readonly id: NodeId;
  private readonly n: number;
  private readonly ctx: AdversaryContext;
  private readonly twins: readonly [ByzantineNode, ByzantineNode];
  // Per twin, what it signed where an honest node signs only once, and to whom: where the twins
  // differ they have equivocated, which is noted as an act.
  private readonly signed: readonly [Map<string, Claimed>, Map<string, Claimed>] = [new Map(), new Map()];

  constructor(ctx: AdversaryContext) {
    this.id = ctx.id;
    this.n = ctx.n;
    this.ctx = ctx;
    this.twins = [new ByzantineNode(ctx.honest), new ByzantineNode(ctx.honest)];
  }

  get isLeader(): boolean {
    return this.twins[0].isLeader || this.twins[1].isLeader;
  }

  get ballot() {
    return this.twins[0].ballot;
  }

  get stats(): ProtocolNode['stats'] {
    return this.twins[0].stats;
  }

  start(): Effect[] {
    return [...this.route(0, this.twins[0].start()), ...this.route(1, this.twins[1].start())];
  }

  step(input: Input): Effect[] {
    switch (input.type) {
      case 'message':
        return this.route(this.side(input.from), this.twins[this.side(input.from)].step(input));
      case 'request':
        return [...this.route(0, this.twins[0].step(input)), ...this.route(1, this.twins[1].step(input))];
      case 'timeout': {
        const second = input.timer.startsWith('twin:');
        const timer = (second ? input.timer.slice(5) : input.timer) as ProtocolTimer;
        const side = second ? 1 : 0;
        return this.route(side, this.twins[side].step({ type: 'timeout', timer }));
      }
    }
  }

  /** Even peers talk to twin 0, odd ones to twin 1, so honest nodes land on both sides. */
  private side(peer: NodeId): 0 | 1 {
    return (peer % 2) as 0 | 1;
  }

  private route(side: 0 | 1, effects: Effect[]): Effect[] {
    const routed: Effect[] = [];
    const timer = (t: ProtocolTimer): TimerName => (side === 0 ? t : `twin:${t}`);
    for (const effect of effects) {
      switch (effect.type) {
        case 'broadcast':
          for (let to = 0; to < this.n; to++) if (to !== this.id && this.side(to) === side) routed.push({ type: 'send', to, msg: effect.msg });
          break;
        case 'send':
          if (this.side(effect.to) === side) routed.push(effect);
          break;
        case 'setTimer':
        case 'clearTimer':
          routed.push({ ...effect, timer: timer(effect.timer as ProtocolTimer) });
          break;
        default:
          routed.push(effect);
      }
    }
    for (const effect of routed) if (effect.type === 'send' && effect.msg.type === 'signed') this.note(side, effect.msg);
    return routed;
  }

  private note(side: 0 | 1, envelope: SignedEnvelope): void {
    const inner = this.ctx.auth.openOwn(envelope);
    const claim = inner === null ? null : claimOf(inner, envelope.payload);
    if (inner === null || claim === null) return;
    const position = `${inner.type} ${claim.position}`;
    const own = this.signed[side];
    const mine = own.get(position);
    if (mine === undefined || !sameContent(mine.content, claim.content)) own.set(position, { envelope, content: claim.content });
    const theirs = this.signed[side === 0 ? 1 : 0].get(position);
    if (theirs !== undefined && !sameContent(theirs.content, claim.content)) recordAct(this.ctx, { kind: 'equivocation', first: theirs.envelope, second: envelope });
  }
}

/** A signed message and the content of its position (what a conflicting one would differ in). */
interface Claimed {
  readonly envelope: SignedEnvelope;
  readonly content: readonly Uint8Array[];
}

function sameContent(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.every((part, i) => bytesEqual(part, b[i]!));
}

// --- commit-reveal (seed 000 §6) -------------------------------------------------------------
// Each touches only Commitment, Reveal and Bundle messages, so in plain Byzantine mode (which
// has none) it behaves honestly.

/** The signed message of `type` an outgoing effect carries, or null. */
function carried<T extends SignedPayload['type']>(t: Tamper, effect: Effect, type: T): Extract<SignedPayload, { type: T }> | null {
  const inner = isPeerTraffic(effect) ? t.innerOf(effect.msg) : null;
  return inner?.type === type ? (inner as Extract<SignedPayload, { type: T }>) : null;
}

/** Its reveals carry the SHA-256 of the key its commitment used: provable (commitment-mismatch). */
class RevealMismatch extends Tamper {
  // Its commitment and its lying reveal by `${round}/${slot}`, to note each pair as an act.
  private readonly sent = new Map<string, { commitment?: SignedEnvelope; reveal?: SignedEnvelope }>();

  protected rewrite(effect: Effect): Effect[] {
    if (!isPeerTraffic(effect) || effect.msg.type !== 'signed') return [effect];
    const reveal = carried(this, effect, 'reveal');
    if (reveal !== null) {
      // Deterministic, so every resend is the same signed lie, never a second (equivocating) one.
      const lie = this.seal({ ...reveal, key: sha256(reveal.key) });
      this.note('reveal', `${reveal.ballot.round}/${reveal.slot}`, lie);
      return [{ ...effect, msg: lie }];
    }
    const box = carried(this, effect, 'commitment');
    if (box !== null) this.note('commitment', `${box.ballot.round}/${box.slot}`, effect.msg);
    // As leader its own box reaches the learners inside its Bundle.
    const bundle = carried(this, effect, 'bundle');
    const own = bundle?.commitments.find((e) => e.signer === this.id);
    if (bundle !== null && own !== undefined) this.note('commitment', `${bundle.ballot.round}/${bundle.slot}`, own);
    return [effect];
  }

  private note(part: 'commitment' | 'reveal', position: string, envelope: SignedEnvelope): void {
    const pair = this.sent.get(position) ?? {};
    pair[part] ??= envelope;
    this.sent.set(position, pair);
    if (pair.commitment === undefined || pair.reveal === undefined) return;
    recordAct(this.ctx, { kind: 'commitment-mismatch', commitment: pair.commitment, reveal: pair.reveal });
  }
}

/** Commits, never reveals (not even when a learner asks): suspected, never proven. */
class WithholdReveal extends Tamper {
  protected rewrite(effect: Effect): Effect[] {
    return carried(this, effect, 'reveal') === null ? [effect] : [];
  }
}

/** Holds its reveals back as `slow` holds everything: late keys are suspected at most. */
class LateReveal extends Slow {
  protected override rewrite(effect: Effect): Effect[] {
    return carried(this, effect, 'reveal') === null ? [effect] : super.rewrite(effect);
  }
}

/**
 * Sends its real commitment to the leader and, with each reveal, a second signed commitment for
 * the same (ballot, slot), over the SHA-256 of the digest, to every other learner: where both
 * meet (the leader's Bundle carries the real one) that is equivocation.
 */
class CommitEquivocation extends Tamper {
  protected rewrite(effect: Effect): Effect[] {
    if (effect.type !== 'broadcast' || effect.msg.type !== 'signed') return [effect];
    const reveal = carried(this, effect, 'reveal');
    if (reveal === null) return [effect];
    const { ballot, slot } = reveal;
    const vote = { clusterId: this.ctx.auth.clusterId, round: ballot.round, leader: ballot.leader, slot, digest: sha256(reveal.digest) };
    const forged = this.seal({ type: 'commitment', ballot, slot, commitment: commit(vote, reveal.key) });
    const lies = this.perPeer((peer) => (peer === ballot.leader ? null : forged));
    // The forged box and the reveal, which does not open it, reach the same learners.
    recordAct(this.ctx, { kind: 'commitment-mismatch', commitment: forged, reveal: effect.msg });
    return [effect, ...lies];
  }
}

/**
 * Never lets its own commitment out: not to the leader, not to a learner that asks. As leader it
 * bundles 2f+1 commitments of others only, holding the Bundle until that many arrived (the
 * honest leader bundles the first 2f+1, its own among them). Learners get its keys without its
 * boxes: suspected, never proven.
 */
class WithholdCommitment extends Tamper {
  // As leader, by `${round}/${slot}`: others' commitments, the honest Bundle waiting for enough
  // of them, and the Bundle sent instead (resent as is, so retransmissions stay identical).
  private readonly boxes = new Map<string, SignedEnvelope[]>();
  private readonly waiting = new Map<string, Bundle>();
  private readonly sent = new Map<string, SignedEnvelope>();

  override step(input: Input): Effect[] {
    const position = input.type === 'message' ? this.recordBox(input.msg) : null;
    const effects = super.step(input);
    if (position === null) return effects;
    const held = this.waiting.get(position);
    return held === undefined ? effects : [...effects, ...this.bundle(position, held)];
  }

  protected rewrite(effect: Effect): Effect[] {
    if (carried(this, effect, 'commitment') !== null) return [];
    const bundle = carried(this, effect, 'bundle');
    return bundle === null ? [effect] : this.bundle(`${bundle.ballot.round}/${bundle.slot}`, bundle);
  }

  /** Keeps another node's valid commitment to a ballot we lead; returns its position, or null. */
  private recordBox(msg: PeerMessage): string | null {
    // The frame type first: only commitments are worth a signature check.
    if (msg.type !== 'signed' || msg.signer === this.id || frameType(msg.payload) !== 'commitment') return null;
    const box = this.ctx.auth.open(msg);
    if (box?.type !== 'commitment' || box.ballot.leader !== this.id) return null;
    const position = `${box.ballot.round}/${box.slot}`;
    const boxes = this.boxes.get(position) ?? [];
    if (!this.sent.has(position) && boxes.every((e) => e.signer !== msg.signer)) this.boxes.set(position, [...boxes, msg]);
    return position;
  }

  /** The Bundle for `position` with others' commitments only, once 2f+1 of them arrived. */
  private bundle(position: string, honest: Bundle): Effect[] {
    let envelope = this.sent.get(position);
    if (envelope === undefined) {
      const quorum = this.ctx.honest.config.quorums.phase2;
      const boxes = [...(this.boxes.get(position) ?? [])].sort((a, b) => a.signer - b.signer);
      if (boxes.length < quorum) {
        this.waiting.set(position, honest);
        return [];
      }
      envelope = this.seal({ ...honest, commitments: boxes.slice(0, quorum) });
      this.sent.set(position, envelope);
      this.waiting.delete(position);
      this.boxes.delete(position);
    }
    return [{ type: 'broadcast', msg: envelope }];
  }
}

/**
 * The honest node with its application's predicate switched off (validated proposals, seed 000
 * §6): as leader it proposes the ops clients send that the application refuses (a rogue
 * developer's broken patch), and as acceptor it Verifies them. Honest acceptors refuse them.
 */
function skippingValidation(ctx: AdversaryContext): ProtocolNode {
  const app = ctx.honest.app;
  // Delegates, so the state stays in the one instance its state digest is read from (build.ts).
  const unvalidated: StateMachine = {
    partCount: app.partCount,
    apply: (op) => app.apply(op),
    stateDigest: () => app.stateDigest(),
    part: (index) => app.part(index),
    takeChangedParts: () => app.takeChangedParts(),
    restore: (parts) => app.restore(parts),
  };
  return new ByzantineNode({ ...ctx.honest, app: unvalidated });
}

function strategy(name: string, description: string, make: (ctx: AdversaryContext) => ProtocolNode): Adversary {
  return { name, description, create: make };
}

export const BUILT_IN_ADVERSARIES: readonly Adversary[] = [
  strategy('silent', 'sends nothing', (ctx) => new Silent(ctx)),
  strategy('equivocating-acceptor', 'signs two digests for one (ballot, slot): Verify, Accepted, Checkpoint', (ctx) => new EquivocatingAcceptor(ctx)),
  strategy('equivocating-leader', 'as leader, sends different batches for one slot to different acceptors', (ctx) => new EquivocatingLeader(ctx)),
  strategy('lying-promise', 'hides its prepared certificates and checkpoint in leader changes', (ctx) => new LyingPromise(ctx)),
  strategy('bad-signature', 'corrupts the signature of everything it sends', (ctx) => new BadSignature(ctx)),
  strategy('replay', 're-sends old messages, its own and others, to random peers', (ctx) => new Replay(ctx)),
  strategy('slow', 'delays everything it sends by 250 ms', (ctx) => new Slow(ctx)),
  strategy('twins', 'two honest instances share its identity, each talking to half the cluster', (ctx) => new Twins(ctx)),
  strategy('forger', 'forges the recipient\'s own messages into what it relays: NewBallots, bundles, evidence shares, catch-up', (ctx) => new Forger(ctx)),
  strategy('reveal-mismatch', 'commit-reveal: its reveals carry a key that does not open its commitment', (ctx) => new RevealMismatch(ctx)),
  strategy('withhold-reveal', 'commit-reveal: commits but never reveals, not even when asked', (ctx) => new WithholdReveal(ctx)),
  strategy('withhold-commitment', 'commit-reveal: never lets its own commitment out; as leader bundles only 2f+1 of the others', (ctx) => new WithholdCommitment(ctx)),
  strategy('commit-equivocation', 'commit-reveal: a second, different commitment per vote, sent to every learner but the leader', (ctx) => new CommitEquivocation(ctx)),
  strategy('late-reveal', 'commit-reveal: delays its reveals by 250 ms', (ctx) => new LateReveal(ctx)),
];

/**
 * Strategies that act only against an application that refuses some ops (the patch ledger): the
 * key-value store accepts every op, so with it they are honest nodes, and the sweeps skip them.
 */
export const APP_ADVERSARIES: readonly Adversary[] = [
  strategy('skips-validation', 'proposes and Verifies ops its application refuses (validated proposals)', skippingValidation),
];

export function adversaryNamed(name: string): Adversary | undefined {
  return [...BUILT_IN_ADVERSARIES, ...APP_ADVERSARIES].find((a) => a.name === name);
}
