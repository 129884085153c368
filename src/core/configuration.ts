// Which acceptors count for which slot: reconfiguration through the log (seed 001, after "Paxos
// Made Moderately Complex": a membership change is a command decided in a slot c, and it governs
// the slots from c + α on). A proposer proposes slot s, and a learner decides it, only in the
// configuration of s, which is known once every slot up to s − α is decided; before that the
// slot waits (the window stalls). So every member that acts on slot s uses the same membership,
// whatever it decided beyond s − α, and quorums of one slot always intersect. Phase-1 and phase-2
// quorums of a configuration are majorities of its members (docs/PROTOCOL.md, "Reconfiguration").
//
// A static cluster (no reconfiguration) is the special case with one configuration for every slot.
import { CONFIGURATION_MEMBERS_MAX, NODE_ID_MAX, RECONFIG_WINDOW_SLOTS } from '../base/limits.ts';
import type { Batch, NodeId, Slot } from '../base/types.ts';
import type { QuorumSpec } from './quorum.ts';
import { SlotMap } from './slot-window.ts';

/** The acceptors of one configuration and its quorum sizes. */
export interface Membership {
  /**
   * Null in a static cluster: every node counts that the node's sender check admits (ids
   * 0..n−1; a lone node whatever its own id), as before reconfiguration existed.
   */
  readonly members: ReadonlySet<NodeId> | null;
  readonly phase1: number;
  readonly phase2: number;
}

export function isMember(membership: Membership, id: NodeId): boolean {
  return membership.members === null || membership.members.has(id);
}

/** Whether at least `size` of `voters` are members. */
export function hasQuorum(membership: Membership, voters: Iterable<NodeId>, size: number): boolean {
  let count = 0;
  for (const voter of voters) if (isMember(membership, voter) && ++count >= size) return true;
  return false;
}

/** The members, for messages: every id, or 'all' in a static cluster. */
export function formatMembers(membership: Membership): string {
  return membership.members === null ? 'all' : `{${[...membership.members].sort((a, b) => a - b).join(',')}}`;
}

export interface Configurations {
  /** The configuration of `slot`; null while some slot up to slot − α is undecided here (below `firstUndecided`). */
  at(slot: Slot, firstUndecided: Slot): Membership | null;
  /** A decided slot: its membership changes take effect α slots later. Called once per slot. */
  record(slot: Slot, batch: Batch): void;
  /** Every slot below this is settled and will never be asked for again. */
  forgetBelow(slot: Slot): void;
  /**
   * The first slot that every change decided so far governs. A leader fills the slots below it
   * with no-ops when it has no commands, so a change takes effect without waiting for load.
   */
  readonly settledFrom: Slot;
}

/** Every slot: the spec's quorum sizes (flexible quorums included) over the n members. */
export class StaticConfiguration implements Configurations {
  readonly settledFrom = 0;
  readonly #membership: Membership;

  constructor(quorums: QuorumSpec) {
    this.#membership = { members: null, phase1: quorums.phase1, phase2: quorums.phase2 };
  }

  at(): Membership {
    return this.#membership;
  }

  record(): void {}

  forgetBelow(): void {}
}

// --- Membership commands ---------------------------------------------------------------------

export type MembershipChange =
  | { readonly kind: 'add'; readonly node: NodeId }
  | { readonly kind: 'remove'; readonly node: NodeId }
  /** One member out, another in, in one slot. */
  | { readonly kind: 'replace'; readonly out: NodeId; readonly in: NodeId };

/** Ops starting with these bytes are membership commands, never the application's (0xff is no kv tag). */
const MEMBERSHIP_MAGIC = [0xff, 0x42, 0x50, 0x4d, 0x01]; // 0xff "BPM" v1
const KIND_ADD = 1;
const KIND_REMOVE = 2;
const KIND_REPLACE = 3;

export function encodeMembershipChange(change: MembershipChange): Uint8Array {
  const ids = change.kind === 'replace' ? [change.out, change.in] : [change.node];
  for (const id of ids) if (!Number.isInteger(id) || id < 0 || id > NODE_ID_MAX) throw new RangeError(`membership: node id ${id} not in 0..${NODE_ID_MAX}`);
  const kind = change.kind === 'add' ? KIND_ADD : change.kind === 'remove' ? KIND_REMOVE : KIND_REPLACE;
  return Uint8Array.from([...MEMBERSHIP_MAGIC, kind, ...ids]);
}

export function isMembershipOp(op: Uint8Array): boolean {
  return op.length >= MEMBERSHIP_MAGIC.length && MEMBERSHIP_MAGIC.every((b, i) => op[i] === b);
}

/** The change a membership op asks for, or null if it is malformed (then it changes nothing, on every replica alike). */
export function decodeMembershipChange(op: Uint8Array): MembershipChange | null {
  if (!isMembershipOp(op)) return null;
  const body = op.subarray(MEMBERSHIP_MAGIC.length);
  const kind = body[0];
  if (kind === KIND_ADD && body.length === 2) return { kind: 'add', node: body[1]! };
  if (kind === KIND_REMOVE && body.length === 2) return { kind: 'remove', node: body[1]! };
  if (kind === KIND_REPLACE && body.length === 3) return { kind: 'replace', out: body[1]!, in: body[2]! };
  return null;
}

/**
 * What a replica answers a membership command with: the slot it was decided in and the members of
 * the configuration it takes effect in (that of slot + α; the same as before if the change did not
 * apply). Every replica answers alike, so a Byzantine-mode client's f+1 matching replies work too.
 */
export interface MembershipResult {
  readonly slot: Slot;
  readonly members: readonly NodeId[];
}

export function encodeMembershipResult(result: MembershipResult): Uint8Array {
  return Uint8Array.from([...u48(result.slot), result.members.length, ...[...result.members].sort((a, b) => a - b)]);
}

/** The result a membership command got; throws RangeError if `bytes` is not one. */
export function decodeMembershipResult(bytes: Uint8Array): MembershipResult {
  const size = bytes[6];
  if (bytes.length < 7 || size === undefined || bytes.length !== 7 + size) throw new RangeError(`membership result: ${bytes.length} bytes, not a slot and a member list`);
  return { slot: readU48(bytes, 0), members: [...bytes.subarray(7)] };
}

/** The member a change takes out and the node it brings in, each null where there is none. */
export function changeSides(change: MembershipChange): { readonly leaving: NodeId | null; readonly joining: NodeId | null } {
  return {
    leaving: change.kind === 'add' ? null : change.kind === 'remove' ? change.node : change.out,
    joining: change.kind === 'remove' ? null : change.kind === 'add' ? change.node : change.in,
  };
}

/** Why `change` does not apply to `members` (every replica then ignores it alike), or null if it does. */
export function changeRefusal(members: ReadonlySet<NodeId>, change: MembershipChange, universe: number): string | null {
  const { leaving, joining } = changeSides(change);
  if (leaving !== null && !members.has(leaving)) return `n${leaving} is not a member`;
  if (joining !== null && members.has(joining)) return `n${joining} is a member already`;
  if (joining !== null && joining >= universe) return `n${joining} is outside the cluster's ids 0..${universe - 1}`;
  const size = members.size - (leaving === null ? 0 : 1) + (joining === null ? 0 : 1);
  if (size === 0) return `n${leaving} is the last member; a cluster needs at least one`;
  if (size > CONFIGURATION_MEMBERS_MAX) return `a configuration holds at most ${CONFIGURATION_MEMBERS_MAX} members`;
  return null;
}

/** The members after `change`, or null if it does not apply to `members` (it is then ignored). */
export function applyChange(members: ReadonlySet<NodeId>, change: MembershipChange, universe: number): ReadonlySet<NodeId> | null {
  if (changeRefusal(members, change, universe) !== null) return null;
  const { leaving, joining } = changeSides(change);
  const next = new Set(members);
  if (leaving !== null) next.delete(leaving);
  if (joining !== null) next.add(joining);
  return next;
}

/** A configuration's members and quorum sizes. */
export type MemberSet = Membership & { readonly members: ReadonlySet<NodeId> };

/** Crash mode's quorums of a configuration: majorities of its members. */
export function majorityOf(members: ReadonlySet<NodeId>): MemberSet {
  const majority = Math.floor(members.size / 2) + 1;
  return { members, phase1: majority, phase2: majority };
}

/** The faults a Byzantine configuration of `size` members tolerates: the largest f with 3f + 1 ≤ size. */
export function byzantineFaultsOf(size: number): number {
  return Math.floor((size - 1) / 3);
}

/**
 * The Byzantine modes' quorums of a configuration: any two share f + 1 members, one of them
 * honest. That is ⌈(n + f + 1) / 2⌉, which is 2f + 1 when n = 3f + 1 (a size between, such as 5
 * or 6 with f = 1, needs more than 2f + 1: two sets of 3 among 5 may share only a faulty member).
 */
export function byzantineQuorumOf(members: ReadonlySet<NodeId>): MemberSet {
  const quorum = Math.ceil((members.size + byzantineFaultsOf(members.size) + 1) / 2);
  return { members, phase1: quorum, phase2: quorum };
}

// --- The configuration history -------------------------------------------------------------

interface Epoch {
  /** First slot this configuration governs. */
  readonly from: Slot;
  readonly membership: MemberSet;
}

/** A snapshot's configuration part, decoded and checked (ConfigurationHistory.decodePart). */
export type ConfigurationPart = readonly Epoch[];

/**
 * The configurations of a reconfigurable cluster: the initial one, and one per applicable change
 * decided, each governing from its slot + α. Changes are recorded as slots are decided, in any
 * order; the configuration of a slot is read only once everything that can change it is decided.
 *
 * A snapshot at `executedUpTo` X carries, as one state part, what the changes at slots below X
 * make of the slots from X on (encodeAt): the configuration governing X and those still pending,
 * at most α slots of them. Restoring it, or forgetting below X, folds those changes into `base`.
 */
export class ConfigurationHistory implements Configurations {
  /** α: a change decided in slot c governs slots from c + delaySlots on. */
  protected readonly delaySlots: number;
  private readonly universe: number;
  /** What the changes already folded away left: the epochs governing the slots from the last fold on. */
  private base: readonly Epoch[];
  /** Decided changes not folded into `base`, by slot. */
  private readonly changes = new SlotMap<MembershipChange[]>();
  private epochs: readonly Epoch[];
  private lastChangeSlot: Slot = -1;
  /** A configuration's quorums from its members: majorities in crash mode (byzantineQuorumOf in the Byzantine modes). */
  private readonly quorumsOf: (members: ReadonlySet<NodeId>) => MemberSet;

  constructor(initial: readonly NodeId[], universe: number, delaySlots = RECONFIG_WINDOW_SLOTS, quorumsOf = majorityOf) {
    this.delaySlots = delaySlots;
    this.universe = universe;
    this.quorumsOf = quorumsOf;
    this.base = [{ from: 0, membership: quorumsOf(new Set(initial)) }];
    this.epochs = this.base;
  }

  get settledFrom(): Slot {
    const lastEpoch = this.epochs.at(-1)!.from;
    return Math.max(lastEpoch, this.lastChangeSlot < 0 ? 0 : this.lastChangeSlot + this.delaySlots);
  }

  at(slot: Slot, firstUndecided: Slot): Membership | null {
    if (!this.knows(slot, firstUndecided)) return null;
    return governing(this.epochs, slot)[0]!.membership;
  }

  /** The configuration of the last slot known here: what vouches for a state beyond what this node decided. */
  newestKnown(firstUndecided: Slot): MemberSet {
    return governing(this.epochs, firstUndecided + this.delaySlots - 1)[0]!.membership;
  }

  record(slot: Slot, batch: Batch): void {
    const changes: MembershipChange[] = [];
    for (const command of batch.commands) {
      const change = decodeMembershipChange(command.op);
      if (change !== null) changes.push(change);
    }
    if (changes.length === 0) return;
    this.changes.set(slot, changes);
    this.lastChangeSlot = Math.max(this.lastChangeSlot, slot);
    this.epochs = this.fold();
  }

  forgetBelow(slot: Slot): void {
    this.base = governing(this.fold(slot), slot);
    this.changes.forgetBelow(slot);
    this.epochs = this.fold();
  }

  /** The state part of a snapshot at `executedUpTo`: every slot below it is decided here. */
  encodeAt(executedUpTo: Slot): Uint8Array {
    const epochs = governing(this.fold(executedUpTo), executedUpTo);
    const bytes: number[] = [epochs.length];
    for (const { from, membership } of epochs) {
      bytes.push(...u48(from), membership.members.size, ...[...membership.members].sort((a, b) => a - b));
    }
    return Uint8Array.from(bytes);
  }

  /** Installs a snapshot's configuration part (`executedUpTo` its position), checked by decodePart. */
  install(part: ConfigurationPart, executedUpTo: Slot): void {
    this.base = part;
    this.changes.forgetBelow(executedUpTo);
    this.epochs = this.fold();
  }

  /**
   * What a replica answers the membership command it executes in `slot`: every slot up to it is
   * decided, so the configuration it takes effect in, that of slot + α, is known.
   */
  resultAt(slot: Slot): Uint8Array {
    const effective = slot + this.delaySlots;
    if (!this.knows(effective, slot + 1)) throw new Error(`configuration: slot ${effective} is not known once ${slot} is decided`);
    return encodeMembershipResult({ slot, members: [...governing(this.epochs, effective)[0]!.membership.members] });
  }

  /** Whether every slot that can change the configuration of `slot` is decided. */
  protected knows(slot: Slot, firstUndecided: Slot): boolean {
    return slot - this.delaySlots < firstUndecided;
  }

  /** The epochs from `base` and the changes at slots below `below`, in slot order. */
  private fold(below = Infinity): Epoch[] {
    const epochs = [...this.base];
    let members = epochs.at(-1)!.membership.members;
    for (const c of [...this.changes.keys()].sort((a, b) => a - b)) {
      if (c >= below) break;
      for (const change of this.changes.get(c)!) members = applyChange(members, change, this.universe) ?? members;
      if (members !== epochs.at(-1)!.membership.members) epochs.push({ from: c + this.delaySlots, membership: this.quorumsOf(members) });
    }
    return epochs;
  }

  /** A snapshot's configuration part; throws RangeError if it is malformed. Changes nothing. */
  decodePart(part: Uint8Array): ConfigurationPart {
    const fail = (why: string): never => {
      throw new RangeError(`configuration part: ${why}`);
    };
    const epochs: Epoch[] = [];
    let at = 1;
    const count = part[0] ?? fail('empty');
    for (let i = 0; i < count; i++) {
      if (at + 7 > part.length) fail('truncated');
      const from = readU48(part, at);
      const size = part[at + 6]!;
      at += 7;
      if (size < 1 || size > CONFIGURATION_MEMBERS_MAX || at + size > part.length) fail(`bad member count ${size}`);
      const members = new Set(part.subarray(at, at + size));
      at += size;
      if (members.size !== size || [...members].some((id) => id >= this.universe)) fail('bad members');
      if (epochs.length > 0 && from <= epochs.at(-1)!.from) fail('epochs out of order');
      epochs.push({ from, membership: this.quorumsOf(members) });
    }
    if (count < 1 || at !== part.length) fail('bad length');
    return epochs;
  }
}

/** The epoch governing `slot` and every later one. */
function governing(epochs: readonly Epoch[], slot: Slot): readonly Epoch[] {
  let index = 0;
  for (let i = 0; i < epochs.length; i++) if (epochs[i]!.from <= slot) index = i;
  return epochs.slice(index);
}

function u48(value: number): number[] {
  const bytes: number[] = [];
  for (let shift = 40; shift >= 0; shift -= 8) bytes.push(Math.floor(value / 2 ** shift) % 256);
  return bytes;
}

function readU48(bytes: Uint8Array, at: number): number {
  let value = 0;
  for (let i = 0; i < 6; i++) value = value * 256 + bytes[at + i]!;
  return value;
}
