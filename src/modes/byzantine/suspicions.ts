// Suspects: a replica whose ballot does not work for it says so, signed, but stays: alone (cut
// off, or merely slow) it would strand itself in a round nobody else joins, and could never come
// back (a promise binds). It leaves once f+1 members suspect the round, one of them honest, and
// passes their Suspects on so every member can leave too.
import type { NodeId } from '../../base/types.ts';
import type { Outbox } from '../../core/outbox.ts';
import type { SignedEnvelope, Suspect } from '../../messages/types.ts';
import type { Backoff } from './backoff.ts';
import type { BallotView, ReplicaContext } from './context.ts';
import type { EvidenceGatherer } from './evidence-gathering.ts';

export class Suspicions {
  readonly #ctx: ReplicaContext;
  readonly #view: BallotView;
  readonly #backoff: Backoff;
  readonly #gatherer: () => EvidenceGatherer;
  readonly #leave: (round: number, out: Outbox) => void;
  /** Each member's latest Suspect (ourselves included), for a round we could still be in: bounded by n. */
  readonly #latest = new Map<NodeId, { readonly round: number; readonly envelope: SignedEnvelope }>();
  /** Our Suspect of the current round, repeated while it stands so peers that reconnect see it. */
  #own: SignedEnvelope | null = null;

  constructor(ctx: ReplicaContext, view: BallotView, backoff: Backoff, gatherer: () => EvidenceGatherer, leave: (round: number, out: Outbox) => void) {
    this.#ctx = ctx;
    this.#view = view;
    this.#backoff = backoff;
    this.#gatherer = gatherer;
    this.#leave = leave;
  }

  /** Our ballot does not work for us: say so, once per round. */
  suspect(out: Outbox): void {
    if (this.#own !== null) return;
    // A ballot failed us: the next one gets longer (backoff), as when we left on our own.
    this.#backoff.failed();
    this.#own = this.#ctx.auth.seal({ type: 'suspect', ballot: this.#view.ballot });
    out.broadcast(this.#own);
  }

  onSuspect(from: NodeId, msg: Suspect, envelope: SignedEnvelope, out: Outbox): void {
    const view = this.#view;
    if (msg.ballot.round < view.round || !view.roundInReach(msg.ballot)) return this.#ctx.drop('suspect', 'round-out-of-range');
    const previous = this.#latest.get(from);
    // A repeat still counts: the round it suspects may have become ours since it first came.
    if (previous === undefined || previous.round < msg.ballot.round) this.#latest.set(from, { round: msg.ballot.round, envelope });
    const against = [...this.#latest.values()].filter((s) => s.round === view.round).map((s) => s.envelope);
    if (against.length < this.#ctx.weak) return;
    // Repeated like passed-on promises: lost, they would leave us alone in the next round.
    this.#gatherer().passOn(against, out);
    this.#leave(view.round + 1, out);
  }

  /** We moved to another round: our Suspect was about the one we left. */
  withdraw(): void {
    this.#own = null;
  }

  /** Execution advanced: the ballot works for us after all; stop repeating our Suspect (peers keep theirs). */
  progressed(): void {
    if (this.#view.status !== 'normal' || this.#own === null) return;
    this.#own = null;
    this.#latest.delete(this.#ctx.id);
  }

  retransmit(out: Outbox): void {
    if (this.#own !== null) out.broadcastToPeers(this.#own);
  }
}
