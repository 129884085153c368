// What a commit-reveal learner knows about one slot: the signed commitments ("boxes", from the
// leader's Bundle or straight from acceptors) and the signed reveals ("keys", always straight
// from acceptors). A slot is decided by 2f+1 acceptors whose key opens their box, in one ballot,
// to the digest of a batch the learner holds. Conflicts found on the way are evidence.
import type { Ballot, Batch, NodeId, Slot } from '../../base/types.ts';
import type { CertifiedEntry, Commitment, Reveal, SignedEnvelope } from '../../messages/types.ts';
import type { Evidence } from '../../messages/evidence.ts';
import { opens } from '../../../crypto/commitment.ts';
import { bytesEqual, toHex } from '../../../crypto/digest.ts';

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

interface SlotLedger {
  readonly boxes: Map<NodeId, Box>;
  readonly keys: Map<NodeId, Key>;
}

export class RevealLedger {
  private readonly clusterId: Uint8Array;
  private readonly quorum: number;
  private readonly slots = new Map<Slot, SlotLedger>();
  private readonly openings = new WeakMap<Key, { readonly box: Box; readonly opens: boolean }>();

  constructor(clusterId: Uint8Array, quorum: number) {
    this.clusterId = clusterId;
    this.quorum = quorum;
  }

  /** Records a signed commitment; returns evidence if the signer committed differently before. */
  addBox(signer: NodeId, msg: Commitment, envelope: SignedEnvelope): Evidence[] {
    const ledger = this.ledger(msg.slot);
    const previous = ledger.boxes.get(signer);
    if (previous !== undefined && previous.ballot.round > msg.ballot.round) return [];
    if (previous !== undefined && previous.ballot.round === msg.ballot.round) {
      return bytesEqual(previous.commitment, msg.commitment) ? [] : [{ kind: 'equivocation', first: previous.envelope, second: envelope }];
    }
    ledger.boxes.set(signer, { ballot: msg.ballot, commitment: msg.commitment, envelope });
    return this.mismatch(signer, msg.slot, ledger);
  }

  /** Records a signed reveal; returns evidence if it contradicts the signer's earlier reveal or box. */
  addKey(signer: NodeId, msg: Reveal, envelope: SignedEnvelope): Evidence[] {
    const ledger = this.ledger(msg.slot);
    const previous = ledger.keys.get(signer);
    if (previous !== undefined && previous.ballot.round > msg.ballot.round) return [];
    if (previous !== undefined && previous.ballot.round === msg.ballot.round) {
      const same = bytesEqual(previous.digest, msg.digest) && bytesEqual(previous.key, msg.key);
      return same ? [] : [{ kind: 'equivocation', first: previous.envelope, second: envelope }];
    }
    ledger.keys.set(signer, { ballot: msg.ballot, digest: msg.digest, key: msg.key, envelope });
    return this.mismatch(signer, msg.slot, ledger);
  }

  /**
   * 2f+1 acceptors whose keys open their boxes to one digest in one ballot, for which `batchOf`
   * knows the batch: the decision and its certificate (the boxes, then the keys).
   */
  decision(slot: Slot, batchOf: (digestHex: string) => Batch | undefined): { readonly entry: CertifiedEntry; readonly round: number } | null {
    const ledger = this.slots.get(slot);
    if (ledger === undefined) return null;
    const groups = new Map<string, { box: Box; key: Key }[]>();
    for (const [signer, key] of ledger.keys) {
      const box = ledger.boxes.get(signer);
      if (box === undefined || box.ballot.round !== key.ballot.round || !this.opensBox(box, key, slot)) continue;
      const id = `${key.ballot.round}/${toHex(key.digest)}`;
      const group = groups.get(id) ?? [];
      group.push({ box, key });
      groups.set(id, group);
      if (group.length < this.quorum) continue;
      const batch = batchOf(toHex(key.digest));
      if (batch === undefined) continue;
      const chosen = group.slice(0, this.quorum);
      const accepteds = [...chosen.map((p) => p.box.envelope), ...chosen.map((p) => p.key.envelope)];
      return { entry: { slot, batch, accepteds }, round: key.ballot.round };
    }
    return null;
  }

  /** Acceptors whose key arrived without their box, and whose box arrived without their key. */
  missing(slot: Slot): { readonly boxless: NodeId[]; readonly keyless: NodeId[] } {
    const ledger = this.slots.get(slot);
    if (ledger === undefined) return { boxless: [], keyless: [] };
    return {
      boxless: [...ledger.keys.keys()].filter((id) => !ledger.boxes.has(id)),
      keyless: [...ledger.boxes.keys()].filter((id) => !ledger.keys.has(id)),
    };
  }

  /** Boxes of one ballot for one slot: what a leader bundles. */
  boxesOf(slot: Slot, round: number): SignedEnvelope[] {
    const ledger = this.slots.get(slot);
    if (ledger === undefined) return [];
    return [...ledger.boxes.entries()]
      .filter(([, box]) => box.ballot.round === round)
      .sort(([a], [b]) => a - b)
      .map(([, box]) => box.envelope);
  }

  forget(slot: Slot): void {
    this.slots.delete(slot);
  }

  forgetBelow(low: Slot): void {
    for (const slot of this.slots.keys()) if (slot < low) this.slots.delete(slot);
  }

  get size(): number {
    let size = 0;
    for (const ledger of this.slots.values()) size += ledger.boxes.size + ledger.keys.size;
    return size;
  }

  private ledger(slot: Slot): SlotLedger {
    let ledger = this.slots.get(slot);
    if (ledger === undefined) this.slots.set(slot, (ledger = { boxes: new Map(), keys: new Map() }));
    return ledger;
  }

  private mismatch(signer: NodeId, slot: Slot, ledger: SlotLedger): Evidence[] {
    const box = ledger.boxes.get(signer);
    const key = ledger.keys.get(signer);
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
