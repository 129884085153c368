// Membership churn (`--faults churn`, every mode): during the fault phase an operator client adds,
// removes and replaces members through the log, one change at a time, while the workload runs. The
// universe holds CHURN_SPARES nodes beyond the first configuration; a spare starts, on empty
// storage, when a change brings it in, and catches up through the ordinary catch-up path. A
// removed node keeps running (a removed leader must step down by itself). The operator keeps
// configurations between the first one's size and the universe's, so the faults (at most f
// down or Byzantine at once, f of the first configuration) never take away a quorum. In the
// Byzantine modes the spares take a cluster of 3f+1 to 3f+4 = 3(f+1)+1 members: f grows by one.
import type { Mode } from '../base/mode.ts';
import type { Reconfiguration } from '../core/config.ts';
import { changeSides, encodeMembershipChange, type MembershipChange } from '../core/configuration.ts';
import { sessionFromWords } from '../core/client.ts';
import { membersFor } from '../core/quorum.ts';
import { SeededRng } from '../core/rng.ts';
import type { NodeId } from '../base/types.ts';
import type { ClientReply } from '../messages/types.ts';
import type { SafetyChecker } from './checker.ts';
import { SimSession } from './client-session.ts';
import type { ModeSetup } from './modes.ts';
import type { Network } from './network.ts';
import type { SimTrace } from './sim-trace.ts';
import type { World } from './world.ts';

/** Nodes beyond the first configuration that changes may bring in: crash mode's, and the Byzantine modes' (4 → 7, f 1 → 2). */
export const CHURN_SPARES = 2;
export const CHURN_SPARES_BYZANTINE = 3;
/** The operator's rng streams: its choices, and its client session. */
const CHURN_STREAM = 6000;
const OPERATOR_CLIENT_STREAM = 6001;

/** The reconfigurable cluster a churn run starts from: members 0..n−1 (n = 2f+1, or 3f+1 in the Byzantine modes), spares after them. */
export function churnReconfiguration(f: number, mode: Mode = 'crash'): Reconfiguration {
  const n = membersFor(mode, f);
  return { members: Array.from({ length: n }, (_, id) => id), universe: n + (mode === 'crash' ? CHURN_SPARES : CHURN_SPARES_BYZANTINE) };
}

export class Churn {
  private readonly w: World;
  private readonly trace: SimTrace;
  private readonly network: Network;
  private readonly checker: SafetyChecker;
  private readonly join: (id: NodeId) => void;
  private readonly rng: SeededRng;
  private readonly session: SimSession;
  private readonly minMembers: number;
  private readonly maxMembers: number;
  /** The members as the operator's completed changes left them. */
  private members: Set<NodeId>;
  private outstanding: { readonly change: MembershipChange; readonly next: Set<NodeId> } | null = null;
  /** The scripted changes not yet submitted (SimOptions.churnPlan), or null to draw them. */
  private readonly plan: MembershipChange[] | null;
  /** Changes completed: the run's coverage of churn. */
  completed = 0;

  constructor(world: World, trace: SimTrace, network: Network, checker: SafetyChecker, makeClient: ModeSetup['makeClient'], join: (id: NodeId) => void) {
    this.w = world;
    this.trace = trace;
    this.network = network;
    this.checker = checker;
    this.join = join;
    this.rng = new SeededRng(world.o.seed, CHURN_STREAM);
    const { members: initial, universe } = churnReconfiguration(world.o.f, world.o.mode);
    this.members = new Set(initial);
    this.minMembers = initial.length;
    this.maxMembers = universe;
    this.plan = world.o.churnPlan === undefined ? null : [...world.o.churnPlan];
    const session = sessionFromWords(this.rng.nextU32(), this.rng.nextU32());
    const client = makeClient(this.clientIndex + 1, session, new SeededRng(world.o.seed, OPERATOR_CLIENT_STREAM));
    this.session = new SimSession(client, this.clientIndex, world, network, {
      complete: () => {
        this.members = this.outstanding!.next;
        this.trace.note(`churn: ${describe(this.outstanding!.change)} decided`);
        this.outstanding = null;
        this.completed++;
      },
      // An operator's command is as exactly-once as any other.
      evicted: (seq) => checker.recordEviction(client.id, seq),
      refused: (reason) => this.abandon(reason),
    });
  }

  /** The operator's client index (after the workload's): replies and timers to it come here. */
  get clientIndex(): number {
    return this.w.o.clients;
  }

  /** The change times over the fault phase, from the churn stream. */
  schedule(): void {
    for (let t = 150 + this.rng.next() * 300; t < this.w.o.faultPhaseMs; t += 250 + this.rng.next() * 400) {
      this.w.queue.push(t, { kind: 'churn' });
    }
  }

  /** A change is due: skipped while the last one is still outstanding. */
  change(): void {
    if (this.outstanding !== null || this.plan?.length === 0) return;
    const change = this.plan?.shift() ?? this.draw();
    const { leaving, joining } = changeSides(change);
    const next = new Set(this.members);
    if (leaving !== null) next.delete(leaving);
    if (joining !== null) {
      next.add(joining);
      this.join(joining);
    }
    this.outstanding = { change, next };
    const op = encodeMembershipChange(change);
    const { client } = this.session;
    this.checker.recordSubmitted({ clientId: client.id, session: client.session, seq: client.nextSeq, op });
    this.trace.note(`churn: ${describe(change)} submitted`);
    this.session.submit(op);
  }

  arrive(from: NodeId, reply: ClientReply): void {
    this.session.arrive(from, reply);
  }

  timeout(generation: number): void {
    this.session.timeout(generation);
  }

  private draw(): MembershipChange {
    const members = [...this.members].sort((a, b) => a - b);
    const outside = Array.from({ length: this.maxMembers }, (_, id) => id).filter((id) => !this.members.has(id));
    const kinds: MembershipChange['kind'][] = [];
    if (members.length < this.maxMembers) kinds.push('add');
    if (members.length > this.minMembers) kinds.push('remove');
    if (outside.length > 0) kinds.push('replace');
    const pick = <T>(items: readonly T[]): T => items[this.rng.int(items.length)]!;
    switch (pick(kinds)) {
      case 'add':
        return { kind: 'add', node: pick(outside) };
      case 'remove':
        return { kind: 'remove', node: pick(members) };
      case 'replace':
        return { kind: 'replace', out: pick(members), in: pick(outside) };
    }
  }

  /** Never in a reconfigurable cluster; if it were, the change is not made and churn goes on. */
  private abandon(reason: string): void {
    this.trace.note(`churn: ${describe(this.outstanding!.change)} refused: ${reason}`);
    this.outstanding = null;
  }
}

function describe(change: MembershipChange): string {
  switch (change.kind) {
    case 'add':
      return `add n${change.node}`;
    case 'remove':
      return `remove n${change.node}`;
    case 'replace':
      return `replace n${change.out} by n${change.in}`;
  }
}
