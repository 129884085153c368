// Safety checks over one simulated run: agreement, validity, exactly-once execution, no command
// the application refuses applied (validated proposals), and linearizability of what clients
// observed. Each returns violations; none throws.
import { checkLinearizable, type HistoryOp } from './linearizability.ts';
import { commandKey, type Batch, type Command, type NodeId, type Slot } from '../base/types.ts';
import { batchDigest } from '../messages/codec.ts';
import { bytesEqual, toHex } from '../../crypto/digest.ts';

export type ViolationKind = 'agreement' | 'validity' | 'exactly-once' | 'invalid-command' | 'linearizability';

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

  /** Whether a decided command carries a valid client signature (Byzantine modes); crash mode has none. */
  private readonly signedByClient: (command: Command) => boolean;

  /** The application's predicate (StateMachine.validate); null when it accepts every op. */
  private readonly validOp: ((op: Uint8Array) => boolean) | null;

  constructor(seed: number, signedByClient: (command: Command) => boolean = () => true, validOp: ((op: Uint8Array) => boolean) | null = null) {
    this.seed = seed;
    this.signedByClient = signedByClient;
    this.validOp = validOp;
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
    } else if (first.digestHex !== digestHex) {
      this.report('agreement', `slot ${slot}: n${first.node} decided ${first.digestHex.slice(0, 12)}, n${node} decided ${digestHex.slice(0, 12)}`);
    }
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
