// What a commit-reveal learner knows about one slot: the signed commitments ("boxes", from the
// leader's Bundle or straight from acceptors) and the signed reveals ("keys", always straight
// from acceptors). A slot is decided by 2f+1 acceptors whose key opens their box, in one ballot,
// to the digest of a batch the learner holds. Conflicts found on the way are evidence.
import type { Ballot, Batch, NodeId, Slot } from '../../base/types.ts';
import type { CertifiedEntry, Commitment, Reveal, SignedEnvelope } from '../../messages/types.ts';
import type { Evidence } from '../../messages/evidence.ts';
import { VoteSet, type AddOutcome } from '../../core/vote-set.ts';
import { opens } from '../../../crypto/commitment.ts';
import { toHex } from '../../../crypto/digest.ts';

interface Box {
  readonly ballot: Ballot;
  readonly commitment: Uint8Array;
  readonly envelope: SignedEnvelope;
}

interface Key {
  readonly ballot: Ballot;
  readonly digest: Uint8Array;
  readonly key: Uint8Array;
  readonly envelope: SignedEnvelope;
}

export class RevealLedger {
  private readonly clusterId: Uint8Array;
  private readonly quorum: number;
  /** Each acceptor's latest box and key per slot (core/vote-set.ts): a newer ballot's replaces, a different one in the same ballot is equivocation. */
  private readonly boxes = new VoteSet<Box>({ compare: (a, b) => a.ballot.round - b.ballot.round, key: (b) => toHex(b.commitment) });
  private readonly keys = new VoteSet<Key>({ compare: (a, b) => a.ballot.round - b.ballot.round, key: (k) => `${toHex(k.digest)}/${toHex(k.key)}` });
  private readonly openings = new WeakMap<Key, { readonly box: Box; readonly opens: boolean }>();

  constructor(clusterId: Uint8Array, quorum: number) {
    this.clusterId = clusterId;
    this.quorum = quorum;
  }

  /** Records a signed commitment; returns evidence if the signer committed differently before. */
  addBox(signer: NodeId, msg: Commitment, envelope: SignedEnvelope): Evidence[] {
    const added = this.boxes.add(msg.slot, signer, { ballot: msg.ballot, commitment: msg.commitment, envelope });
    return this.judge(added, envelope, signer, msg.slot);
  }

  /** Records a signed reveal; returns evidence if it contradicts the signer's earlier reveal or box. */
  addKey(signer: NodeId, msg: Reveal, envelope: SignedEnvelope): Evidence[] {
    const added = this.keys.add(msg.slot, signer, { ballot: msg.ballot, digest: msg.digest, key: msg.key, envelope });
    return this.judge(added, envelope, signer, msg.slot);
  }

  private judge(added: AddOutcome<Box | Key>, envelope: SignedEnvelope, signer: NodeId, slot: Slot): Evidence[] {
    if (added.kind === 'conflict') return [{ kind: 'equivocation', first: added.previous.envelope, second: envelope }];
    return added.kind === 'added' ? this.mismatch(signer, slot) : [];
  }

  /**
   * 2f+1 acceptors (`quorum` of those `counts` admits: a reconfigurable cluster's slot's
   * configuration) whose keys open their boxes to one digest in one ballot, for which `batchOf`
   * knows the batch: the decision and its certificate (the boxes, then the keys).
   */
  decision(
    slot: Slot,
    batchOf: (digestHex: string) => Batch | undefined,
    quorum = this.quorum,
    counts: (signer: NodeId) => boolean = () => true,
  ): { readonly entry: CertifiedEntry; readonly round: number } | null {
    const groups = new Map<string, { box: Box; key: Key }[]>();
    for (const [signer, key] of this.keys.entries(slot)) {
      if (!counts(signer)) continue;
      const box = this.boxes.get(slot, signer);
      if (box === undefined || box.ballot.round !== key.ballot.round || !this.opensBox(box, key, slot)) continue;
      const id = `${key.ballot.round}/${toHex(key.digest)}`;
      const group = groups.get(id) ?? [];
      group.push({ box, key });
      groups.set(id, group);
      if (group.length < quorum) continue;
      const batch = batchOf(toHex(key.digest));
      if (batch === undefined) continue;
      const chosen = group.slice(0, quorum);
      const accepteds = [...chosen.map((p) => p.box.envelope), ...chosen.map((p) => p.key.envelope)];
      return { entry: { slot, batch, accepteds }, round: key.ballot.round };
    }
    return null;
  }

  /** Acceptors whose key arrived without their box, and whose box arrived without their key. */
  missing(slot: Slot): { readonly boxless: NodeId[]; readonly keyless: NodeId[] } {
    return {
      boxless: [...this.keys.entries(slot)].map(([id]) => id).filter((id) => this.boxes.get(slot, id) === undefined),
      keyless: [...this.boxes.entries(slot)].map(([id]) => id).filter((id) => this.keys.get(slot, id) === undefined),
    };
  }

  /** Boxes of one ballot for one slot: what a leader bundles. */
  boxesOf(slot: Slot, round: number): SignedEnvelope[] {
    return [...this.boxes.entries(slot)]
      .filter(([, box]) => box.ballot.round === round)
      .sort(([a], [b]) => a - b)
      .map(([, box]) => box.envelope);
  }

  forget(slot: Slot): void {
    this.boxes.forget(slot);
    this.keys.forget(slot);
  }

  forgetBelow(low: Slot): void {
    this.boxes.forgetBelow(low);
    this.keys.forgetBelow(low);
  }

  get size(): number {
    return this.boxes.size + this.keys.size;
  }

  private mismatch(signer: NodeId, slot: Slot): Evidence[] {
    const box = this.boxes.get(slot, signer);
    const key = this.keys.get(slot, signer);
    if (box === undefined || key === undefined || box.ballot.round !== key.ballot.round) return [];
    return this.opensBox(box, key, slot) ? [] : [{ kind: 'commitment-mismatch', commitment: box.envelope, reveal: key.envelope }];
  }

  /** Memoized per (key, box) record pair: `decision` asks again on every reveal of the slot. */
  private opensBox(box: Box, key: Key, slot: Slot): boolean {
    const known = this.openings.get(key);
    if (known !== undefined && known.box === box) return known.opens;
    const vote = { clusterId: this.clusterId, round: box.ballot.round, leader: box.ballot.leader, slot, digest: key.digest };
    const result = opens(box.commitment, vote, key.key);
    this.openings.set(key, { box, opens: result });
    return result;
  }
}
