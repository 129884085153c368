// Safety checks over one simulated run: agreement, validity, exactly-once execution, no command
// the application refuses applied (validated proposals), and linearizability of what clients
// observed, and that every decision was chosen: when a learner decides slot s, a phase-2 quorum
// of the configuration of s (computed here from the agreed log, with the true window α) has
// already announced Accepted (commit-reveal: Reveal) for that value in one ballot, the Byzantine
// members counted as having voted for anything. Each returns violations; none throws.
import { checkLinearizable, type HistoryOp } from './linearizability.ts';
import { commandKey, type Ballot, type Batch, type Command, type NodeId, type Slot } from '../base/types.ts';
import { formatMembers, hasQuorum, type Configurations } from '../core/configuration.ts';
import { batchDigest } from '../messages/codec.ts';
import { bytesEqual, toHex } from '../../crypto/digest.ts';

export type ViolationKind = 'agreement' | 'validity' | 'exactly-once' | 'invalid-command' | 'linearizability' | 'quorum';

/** A decision to judge once the configuration of its slot is known: the voters for its value then, by ballot. */
interface DecisionVotes {
  readonly node: NodeId;
  readonly slot: Slot;
  readonly voters: readonly ReadonlySet<NodeId>[];
}

export interface Violation {
  readonly seed: number;
  readonly kind: ViolationKind;
  readonly detail: string;
}

export class SafetyChecker {
  private readonly seed: number;
  /** First decision seen for each slot, by any learner. */
  private readonly decided = new Map<Slot, { node: NodeId; digestHex: string }>();
  private readonly submitted = new Map<string, Uint8Array>();
  /** Commands executed by each node incarnation. */
  private readonly executed = new Map<string, Set<string>>();
  readonly violations: Violation[] = [];
  /** Null: no quorum check. */
  private readonly configurations: Configurations | null;
  /** Byzantine members: they may have voted anything, to anyone, in any way the network does not show. */
  private readonly faulty: ReadonlySet<NodeId>;
  /** Acceptors that announced Accepted, by slot, by ballot and digest. */
  private readonly accepted = new Map<Slot, Map<string, Set<NodeId>>>();
  /** Every slot below this has a decision. */
  private firstUndecided: Slot = 0;
  private readonly unjudged: DecisionVotes[] = [];

  /** Whether a decided command carries a valid client signature (Byzantine modes); crash mode has none. */
  private readonly signedByClient: (command: Command) => boolean;

  /** The application's predicate (StateMachine.validate); null when it accepts every op. */
  private readonly validOp: ((op: Uint8Array) => boolean) | null;

  constructor(
    seed: number,
    signedByClient: (command: Command) => boolean = () => true,
    configurations: Configurations | null = null,
    validOp: ((op: Uint8Array) => boolean) | null = null,
    faulty: ReadonlySet<NodeId> = new Set(),
  ) {
    this.seed = seed;
    this.faulty = faulty;
    this.signedByClient = signedByClient;
    this.configurations = configurations;
    this.validOp = validOp;
  }

  recordAccepted(node: NodeId, ballot: Ballot, slot: Slot, digest: Uint8Array): void {
    if (this.configurations === null) return;
    let bySlot = this.accepted.get(slot);
    if (bySlot === undefined) this.accepted.set(slot, (bySlot = new Map()));
    const key = `${ballot.round}/${ballot.leader}/${toHex(digest)}`;
    let voters = bySlot.get(key);
    if (voters === undefined) bySlot.set(key, (voters = new Set()));
    voters.add(node);
  }

  recordSubmitted(command: Pick<Command, 'clientId' | 'session' | 'seq' | 'op'>): void {
    this.submitted.set(commandKey(command), command.op);
  }

  /** Agreement: no two learners decide different batches for one slot. Validity: only submitted commands. */
  recordDecision(node: NodeId, slot: Slot, batch: Batch): void {
    const digestHex = toHex(batchDigest(batch));
    const first = this.decided.get(slot);
    if (first === undefined) {
      this.decided.set(slot, { node, digestHex });
      this.checkValidity(node, slot, batch);
      this.configurations?.record(slot, batch);
      while (this.decided.has(this.firstUndecided)) this.firstUndecided++;
    } else if (first.digestHex !== digestHex) {
      this.report('agreement', `slot ${slot}: n${first.node} decided ${first.digestHex.slice(0, 12)}, n${node} decided ${digestHex.slice(0, 12)}`);
    }
    if (this.configurations !== null) this.judgeOrKeep(node, slot, digestHex);
  }

  /** At the end of a run: every decision not yet judged, now that the log is as complete as it gets. */
  checkQuorums(): void {
    for (const votes of this.unjudged.splice(0)) {
      if (!this.judge(votes)) this.report('quorum', `slot ${votes.slot}: n${votes.node} decided it, but slots up to ${votes.slot} − α were never all decided, so its configuration is unknown`);
    }
  }

  /** The voters for the decided value as they are now, judged at once if the slot's configuration is known. */
  private judgeOrKeep(node: NodeId, slot: Slot, digestHex: string): void {
    const voters: ReadonlySet<NodeId>[] = [];
    for (const [key, set] of this.accepted.get(slot) ?? []) if (key.endsWith(`/${digestHex}`)) voters.push(new Set(set));
    const votes = { node, slot, voters };
    if (!this.judge(votes)) this.unjudged.push(votes);
  }

  /** False while the configuration of the slot is unknown; otherwise reports a decision no phase-2 quorum of it had chosen. */
  private judge({ node, slot, voters }: DecisionVotes): boolean {
    const membership = this.configurations!.at(slot, this.firstUndecided);
    if (membership === null) return false;
    if (!voters.some((set) => hasQuorum(membership, new Set([...set, ...this.faulty]), membership.phase2))) {
      const heard = voters.map((set) => `{${[...set].sort((a, b) => a - b).join(',')}}`).join(' ') || 'none';
      this.report('quorum', `slot ${slot}: n${node} decided a value that no phase-2 quorum of its configuration ${formatMembers(membership)} had accepted (voters by ballot: ${heard})`);
    }
    return true;
  }

  /**
   * Exactly-once: within one incarnation of a replica, a command takes effect at most once.
   * Validated proposals: an honest replica applies no command its application refuses.
   */
  recordExecution(node: NodeId, incarnation: number, command: Pick<Command, 'clientId' | 'session' | 'seq' | 'op'>): void {
    if (this.validOp !== null && !this.validOp(command.op)) {
      this.report('invalid-command', `n${node} applied c${command.clientId}#${command.seq}, which the application refuses`);
    }
    const who = `${node}/${incarnation}`;
    let set = this.executed.get(who);
    if (set === undefined) this.executed.set(who, (set = new Set()));
    const key = commandKey(command);
    if (set.has(key)) this.report('exactly-once', `n${node} executed c${command.clientId}#${command.seq} twice`);
    set.add(key);
  }

  /** A client was told its session was evicted: the simulator's few sessions never reach the bounds, so the replicas lost one. */
  recordEviction(clientId: number, seq: number): void {
    this.report('exactly-once', `c${clientId}#${seq}: f+1 replicas answered that its session was evicted`);
  }

  checkHistory(history: readonly HistoryOp[]): void {
    const verdict = checkLinearizable(history);
    if (!verdict.ok) this.report('linearizability', `key ${verdict.key}: ${verdict.detail}`);
  }

  private checkValidity(node: NodeId, slot: Slot, batch: Batch): void {
    for (const command of batch.commands) {
      const op = this.submitted.get(commandKey(command));
      if (op === undefined || !bytesEqual(op, command.op)) {
        this.report('validity', `slot ${slot}: n${node} decided c${command.clientId}#${command.seq}, which no client submitted`);
      } else if (!this.signedByClient(command)) {
        this.report('validity', `slot ${slot}: n${node} decided c${command.clientId}#${command.seq} without a valid client signature`);
      }
    }
  }

  private report(kind: ViolationKind, detail: string): void {
    // One violation of a kind says enough; hundreds of echoes only bury it.
    if (this.violations.filter((v) => v.kind === kind).length >= 3) return;
    this.violations.push({ seed: this.seed, kind, detail });
  }
}
