// The leader (proposer) of a Byzantine ballot: queues client commands, packs them into batches
// within the frame budget, and sends Accept(b, s, batch) for slots within the pipelining window
// and the watermarks; Accepts not yet decided go out again every few periods. In a reconfigurable
// cluster it opens slot s only once it knows the configuration of s, as a member of it, with a
// quorum of it among its ballot's promisers; with nothing queued it fills the slots a decided
// change waits for with no-ops, so the change takes effect without client load.
import { CLIENT_QUEUE_MAX, IDLE_HEARTBEAT_PERIODS, LEADER_RESEND_PERIODS } from '../../base/limits.ts';
import { commandKey, type Command, type Slot } from '../../base/types.ts';
import { isMember } from '../../core/configuration.ts';
import type { Outbox } from '../../core/outbox.ts';
import { mayOpenSlot } from '../../core/pipeline.ts';
import type { Replica } from '../../core/replica.ts';
import { SlotMap } from '../../core/slot-window.ts';
import { commandSize } from '../../messages/codec.ts';
import type { Accept, CertifiedEntry } from '../../messages/types.ts';
import { promisedBy } from './certificates.ts';
import type { BallotView, Flight, ReplicaContext } from './context.ts';
import { batchBytesOf } from './frame-budget.ts';
import type { Watermarks } from './watermarks.ts';

export class Leader {
  readonly #ctx: ReplicaContext;
  readonly #view: BallotView;
  readonly #window: Watermarks;
  readonly #replica: Replica;
  readonly #queue: Command[] = [];
  /** Commands queued or proposed in an undecided slot of this ballot: a client's resend is not proposed twice. */
  readonly #queued = new Set<string>();
  /** Encoded bytes of the queued commands: whether they fill a batch by size. */
  #queueBytes = 0;
  #nextSlot: Slot;
  readonly #inFlight = new SlotMap<Flight>();
  /** Retransmit periods in a row with nothing to send but the heartbeat, and where the log stood. */
  #idle = { periods: 0, firstUndecided: -1 };

  constructor(ctx: ReplicaContext, view: BallotView, window: Watermarks, replica: Replica, nextSlot: Slot) {
    this.#ctx = ctx;
    this.#view = view;
    this.#window = window;
    this.#replica = replica;
    this.#nextSlot = nextSlot;
  }

  enqueue(command: Command): void {
    const key = commandKey(command);
    if (this.#queued.has(key) || this.#queue.length >= CLIENT_QUEUE_MAX) return;
    this.#queued.add(key);
    this.#queue.push(command);
    this.#queueBytes += commandSize(command);
  }

  /** Opens slots for queued commands while the window has room (core/pipeline.ts decides when). */
  propose(firstUndecided: Slot, out: Outbox): void {
    if (!this.#view.isLeader) return;
    const { config, auth } = this.#ctx;
    const high = Math.min(firstUndecided + config.windowSlots, this.#window.high);
    for (;;) {
      const fill = this.#queue.length === 0 && this.#nextSlot < this.#ctx.settledFrom() && this.#nextSlot < high;
      const open = mayOpenSlot({
        eagerSlots: config.eagerSlots,
        openSlots: this.#inFlight.size,
        windowHasRoom: this.#nextSlot < high,
        queued: this.#queue.length > 0,
        batchFull: this.#queue.length >= config.batchCommandsMax || batchBytesOf(this.#queue.length, this.#queueBytes) > config.batchBytesMax,
      });
      if (!(open || fill) || (this.#ctx.reconfigurable && this.#mayOpen(this.#nextSlot) !== true)) return;
      const commands = fill ? [] : this.#takeBatch();
      if (commands.length === 0 && !fill) return;
      const slot = this.#nextSlot++;
      const accept: Accept = { type: 'accept', ballot: this.#view.ballot, slot, batch: { commands }, decidedUpTo: firstUndecided };
      const envelope = auth.seal(accept);
      this.#inFlight.set(slot, { envelope, age: 0 });
      out.broadcast(envelope);
    }
  }

  /** Each retransmit period, as leader: the heartbeat (less often while idle), then Accepts unanswered for a while. */
  retransmit(firstUndecided: Slot, others: Iterable<[Slot, Flight]>, isDecided: (slot: Slot) => boolean, out: Outbox): void {
    const flights = [...this.#inFlight, ...others];
    const idle = flights.length === 0 && this.#queue.length === 0 && firstUndecided === this.#idle.firstUndecided;
    this.#idle = { periods: idle ? this.#idle.periods + 1 : 0, firstUndecided };
    if (this.#idle.periods < IDLE_HEARTBEAT_PERIODS || this.#idle.periods % IDLE_HEARTBEAT_PERIODS === 0) {
      out.broadcastToPeers(this.#ctx.auth.seal({ type: 'heartbeat', ballot: this.#view.ballot, decidedUpTo: firstUndecided }));
    }
    for (const [slot, flight] of flights) {
      if (isDecided(slot)) continue;
      if (++flight.age >= LEADER_RESEND_PERIODS) {
        flight.age = 0;
        out.broadcastToPeers(flight.envelope);
      }
    }
  }

  /** The next slot's configuration is known, and we may not open it in this ballot: only a new ballot goes on. */
  stalled(): boolean {
    return this.#ctx.reconfigurable && this.#mayOpen(this.#nextSlot) === false;
  }

  /** Whether we may open `slot`: null while its configuration is not known here (the window stalls). */
  #mayOpen(slot: Slot): boolean | null {
    const membership = this.#ctx.membership(slot);
    if (membership === null) return null;
    const promisers = this.#view.promisers;
    return isMember(membership, this.#ctx.id) && (promisers === null || promisedBy(membership, promisers));
  }

  decided(entry: CertifiedEntry): void {
    if (!this.#inFlight.delete(entry.slot)) return;
    for (const command of entry.batch.commands) this.#queued.delete(commandKey(command));
  }

  /** Leading the ballot we joined: continue after the slots its NewBallot settled. */
  startAt(slot: Slot): void {
    this.#nextSlot = slot;
  }

  resetBallot(): void {
    this.#inFlight.clear();
    this.#queue.length = 0;
    this.#queueBytes = 0;
    this.#queued.clear();
  }

  forgetBelow(low: Slot): void {
    this.#inFlight.forgetBelow(low);
    if (this.#nextSlot < low) this.#nextSlot = low;
  }

  footprint(): Record<string, number> {
    return { queue: this.#queue.length, inFlight: this.#inFlight.size };
  }

  #takeBatch(): Command[] {
    const { config } = this.#ctx;
    const commands: Command[] = [];
    let commandBytes = 0;
    while (this.#queue.length > 0 && commands.length < config.batchCommandsMax) {
      // Config guarantees any one command fits, so a batch is never empty for want of room.
      const size = commandSize(this.#queue[0]!);
      if (batchBytesOf(commands.length + 1, commandBytes + size) > config.batchBytesMax) break;
      const command = this.#queue.shift()!;
      this.#queueBytes -= size;
      // Executed meanwhile (e.g. re-proposed by an earlier leader): do not order it again.
      if (this.#replica.lookup(command.clientId, command.session, command.seq).kind === 'new') {
        commands.push(command);
        commandBytes += size;
      } else {
        this.#queued.delete(commandKey(command));
      }
    }
    return commands;
  }
}
