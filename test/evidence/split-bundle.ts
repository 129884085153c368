// A colluding strategy that breaks agreement in commit-reveal mode beyond the bound, written with
// the adversary API (src/adversary/adversary.ts) as a researcher would: none of the built-ins
// does, because the equivocating leader never splits its Bundles. Run on the first leader and on
// one more node: the leader proposes one batch to even peers and another to odd ones (as
// equivocating-leader does), every colluder votes each half's version to that half (Verify,
// Commitment, Reveal, one key), and the leader sends each half a Bundle of that half's
// commitments: its colluders' and those of the honest members on that side. Each honest half
// then decides its own batch.
import type { Effect, Input } from '../../src/core/effects.ts';
import type { Batch, NodeId } from '../../src/base/types.ts';
import { Tamper, type Adversary } from '../../src/adversary/adversary.ts';
import { batchDigest } from '../../src/messages/codec.ts';
import type { Bundle, SignedEnvelope } from '../../src/messages/types.ts';
import type { SignedPayload } from '../../src/modes/byzantine/auth.ts';
import { commit } from '../../crypto/commitment.ts';

/** Per (round, slot): the two batches, and each colluder's two commitments. */
interface Split {
  readonly batches: readonly [Batch, Batch];
  readonly boxes: Map<NodeId, readonly [SignedEnvelope, SignedEnvelope]>;
}

const side = (peer: NodeId): 0 | 1 => (peer % 2) as 0 | 1;

class SplitBundle extends Tamper {
  /** As leader: honest commitments received, by position, per side of their signer. */
  private readonly received = new Map<string, Map<NodeId, SignedEnvelope>>();
  /** As leader: bundles waiting for a quorum of commitments on each side, and bundles sent. */
  private readonly waiting = new Map<string, Bundle>();
  private readonly sent = new Map<string, readonly [SignedEnvelope, SignedEnvelope]>();

  private split(round: number, slot: number): Split | undefined {
    return this.ctx.collusion.get(`split/${round}/${slot}`) as Split | undefined;
  }

  override step(input: Input): Effect[] {
    if (input.type === 'message' && input.msg.type === 'signed' && input.msg.signer !== this.id) this.receive(input.msg);
    const effects = super.step(input);
    for (const [position, bundle] of this.waiting) effects.push(...this.bundle(position, bundle));
    return effects;
  }

  protected rewrite(effect: Effect): Effect[] {
    if ((effect.type !== 'send' && effect.type !== 'broadcast') || effect.msg.type !== 'signed') return [effect];
    const inner = this.innerOf(effect.msg);
    if (inner === null) return [effect];
    if (inner.type === 'accept') {
      const other: Batch = { commands: inner.batch.commands.slice(0, -1) };
      this.ctx.collusion.set(`split/${inner.ballot.round}/${inner.slot}`, { batches: [inner.batch, other], boxes: new Map() } satisfies Split);
      const versions = [effect.msg, this.seal({ ...inner, batch: other })] as const;
      return this.perPeer((peer) => versions[side(peer)]);
    }
    if (inner.type === 'bundle') return this.bundle(`${inner.ballot.round}/${inner.slot}`, inner);
    const split = 'slot' in inner && 'ballot' in inner ? this.split(inner.ballot.round, inner.slot) : undefined;
    if (split === undefined) return [effect];
    const versions = this.versions(inner, split);
    if (versions === null) return [effect];
    // The colluding leader bundles our commitments itself, from the shared map.
    if (inner.type === 'commitment' && effect.type === 'send' && effect.to === inner.ballot.leader && effect.to !== this.id) return [];
    return effect.type === 'send' ? [{ ...effect, msg: versions[side(effect.to)] }] : this.perPeer((peer) => versions[side(peer)]);
  }

  /** Our vote at a split position, once per side; a reveal also leaves both our commitments in the shared map. */
  private versions(inner: SignedPayload, split: Split): readonly [SignedEnvelope, SignedEnvelope] | null {
    const digests = split.batches.map(batchDigest);
    switch (inner.type) {
      case 'verify':
        return [this.seal({ ...inner, digest: digests[0]! }), this.seal({ ...inner, digest: digests[1]! })];
      case 'reveal': {
        const { ballot, slot, key } = inner;
        const boxes = digests.map((digest) =>
          this.seal({ type: 'commitment', ballot, slot, commitment: commit({ clusterId: this.ctx.auth.clusterId, round: ballot.round, leader: ballot.leader, slot, digest }, key) }),
        );
        split.boxes.set(this.id, [boxes[0]!, boxes[1]!]);
        return [this.seal({ ...inner, digest: digests[0]! }), this.seal({ ...inner, digest: digests[1]! })];
      }
      case 'commitment':
        return split.boxes.get(this.id) ?? null;
      default:
        return null;
    }
  }

  /** As leader: an honest member's commitment to our ballot, kept for its side's Bundle. */
  private receive(envelope: SignedEnvelope): void {
    const box = this.ctx.auth.open(envelope);
    if (box?.type !== 'commitment' || box.ballot.leader !== this.id) return;
    const position = `${box.ballot.round}/${box.slot}`;
    const boxes = this.received.get(position) ?? new Map<NodeId, SignedEnvelope>();
    if (!boxes.has(envelope.signer)) boxes.set(envelope.signer, envelope);
    this.received.set(position, boxes);
  }

  /** Each side its own Bundle, once both sides have a quorum of commitments to their batch. */
  private bundle(position: string, honest: Bundle): Effect[] {
    let sent = this.sent.get(position);
    const split = this.split(honest.ballot.round, honest.slot);
    if (sent === undefined) {
      if (split === undefined) return [{ type: 'broadcast', msg: this.seal(honest) }];
      const quorum = this.ctx.honest.config.quorums.phase2;
      const sides = ([0, 1] as const).map((s) => {
        const colluders = [...split.boxes.values()].map((boxes) => boxes[s]);
        const members = [...(this.received.get(position) ?? new Map<NodeId, SignedEnvelope>()).values()].filter((e) => side(e.signer) === s && !split.boxes.has(e.signer));
        return [...colluders, ...members].sort((a, b) => a.signer - b.signer).slice(0, quorum);
      });
      if (sides.some((boxes) => boxes.length < quorum)) {
        this.waiting.set(position, honest);
        return [];
      }
      const [even, odd] = [0, 1].map((s) => this.seal({ ...honest, batch: split.batches[s]!, commitments: sides[s]! }));
      sent = [even!, odd!];
      this.sent.set(position, sent);
      this.waiting.delete(position);
    }
    const bundles = sent;
    return this.perPeer((peer) => bundles[side(peer)]);
  }
}

export const splitBundle: Adversary = {
  name: 'split-bundle',
  description: 'commit-reveal, colluding beyond the bound: the leader splits batches and Bundles by peer parity, every colluder votes each side its version',
  create: (ctx) => new SplitBundle(ctx),
};
