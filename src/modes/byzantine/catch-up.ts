// Catch-up and state transfer: a replica behind its peers fetches certified decisions (each with
// its 2f+1 second votes, checked before it counts), and, when its peers have moved past a stable
// checkpoint it lacks, that checkpoint's state part by part (core/state-transfer.ts). It serves
// the same to others, a bounded number of replies per peer and period.
import { CATCHUP_ENTRIES_MAX, SIGNED_PAYLOAD_BYTES_MAX } from '../../base/limits.ts';
import type { NodeId, Slot } from '../../base/types.ts';
import type { Outbox } from '../../core/outbox.ts';
import type { Replica } from '../../core/replica.ts';
import type { Rng } from '../../core/rng.ts';
import { partsFor, STATE_REPLIES_PER_PEER_PER_PERIOD, StateTransfer } from '../../core/state-transfer.ts';
import { certifiedEntrySize, encodedSize, stateDigestOf } from '../../messages/codec.ts';
import type { CatchupRequest, CertifiedCatchupReply, CertifiedEntry, CheckpointCertificate, Heartbeat, StateManifest, StateParts, StateRequest } from '../../messages/types.ts';
import { bytesEqual } from '../../../crypto/digest.ts';
import type { SignedPayload } from './auth.ts';
import { validCheckpoint, validCommit } from './certificates.ts';
import type { Checkpoints, Stable } from './checkpoints.ts';
import { leaderOf } from './cluster.ts';
import type { BallotView, ReplicaContext, Router } from './context.ts';
import type { Learner } from './learner.ts';
import type { Watermarks } from './watermarks.ts';

export interface CatchUpParts {
  readonly ctx: ReplicaContext;
  readonly view: BallotView;
  readonly window: Watermarks;
  readonly learner: Learner;
  readonly checkpoints: Checkpoints;
  readonly replica: Replica;
  readonly router: Router;
  /** Makes a fetched, certified state the stable checkpoint, across every role. */
  readonly install: (stable: Stable, out: Outbox) => void;
  readonly rng: Rng;
}

export class CatchUp {
  readonly #p: CatchUpParts;
  readonly #transfer: StateTransfer;
  #outstanding = false;
  #peerDecidedUpTo: Slot = 0;
  /** State-transfer replies (manifests, parts) sent per peer this retransmit period. */
  readonly #served = new Map<NodeId, number>();

  constructor(parts: CatchUpParts) {
    this.#p = parts;
    this.#transfer = new StateTransfer(parts.ctx.id, parts.ctx.n);
  }

  onHeartbeat(from: NodeId, msg: Heartbeat, out: Outbox): void {
    const { view, ctx } = this.#p;
    if (msg.ballot.round !== view.round || from !== leaderOf(view.round, ctx.n)) return;
    this.catchUp(from, msg.decidedUpTo, out);
  }

  /** Heartbeats, catch-up and state transfer; false for any other message. */
  handle(from: NodeId, msg: SignedPayload, out: Outbox): boolean {
    switch (msg.type) {
      case 'heartbeat':
        this.onHeartbeat(from, msg, out);
        return true;
      case 'catchup-request':
        this.onCatchupRequest(from, msg, out);
        return true;
      case 'certified-catchup-reply':
        this.onCatchupReply(from, msg, out);
        return true;
      case 'state-manifest':
        this.onStateManifest(from, msg, out);
        return true;
      case 'state-request':
        this.onStateRequest(from, msg, out);
        return true;
      case 'state-parts':
        this.onStateParts(from, msg, out);
        return true;
      default:
        return false;
    }
  }

  /** A ballot we joined settles the slots below its checkpoint: install it from our own snapshot, or fetch its state from a promiser. */
  adopt(checkpoint: CheckpointCertificate, promisers: readonly NodeId[], out: Outbox): void {
    if (checkpoint.slot <= this.#p.window.low) return;
    if (this.#p.replica.executedUpTo < checkpoint.slot) return this.catchUp(promisers.find((p) => p !== this.#p.ctx.id) ?? 0, checkpoint.slot, out);
    const own = this.#p.checkpoints.ownSnapshot(checkpoint.slot);
    if (own !== undefined) this.#p.install({ certificate: checkpoint, snapshot: own }, out);
  }

  catchUp(peer: NodeId, theirDecidedUpTo: Slot, out: Outbox): void {
    const { ctx, learner } = this.#p;
    if (theirDecidedUpTo > this.#peerDecidedUpTo) this.#peerDecidedUpTo = theirDecidedUpTo;
    if (peer === ctx.id || this.#outstanding || theirDecidedUpTo <= learner.firstUndecided) return;
    this.#outstanding = true;
    out.send(peer, ctx.auth.seal({ type: 'catchup-request', fromSlot: learner.firstUndecided }));
    out.setTimer('catchup', ctx.config.catchupRetryMs);
  }

  onCatchupRequest(from: NodeId, msg: CatchupRequest, out: Outbox): void {
    const { ctx, learner, window, checkpoints } = this.#p;
    if (msg.fromSlot < window.low && checkpoints.stable !== null) this.#sendManifest(from, out);
    const entries: CertifiedEntry[] = [];
    const decidedUpTo = learner.firstUndecided;
    // The reply holds what fits one frame; the requester asks again from where it ends.
    let room = SIGNED_PAYLOAD_BYTES_MAX - encodedSize({ type: 'certified-catchup-reply', entries: [], decidedUpTo });
    for (let slot = Math.max(msg.fromSlot, window.low); slot < decidedUpTo && entries.length < CATCHUP_ENTRIES_MAX; slot++) {
      const entry = learner.get(slot)!;
      room -= certifiedEntrySize(entry);
      if (room < 0) {
        if (entries.length === 0) ctx.drop('catchup-request', 'oversized-entry');
        break;
      }
      entries.push(entry);
    }
    if (entries.length > 0) out.send(from, ctx.auth.seal({ type: 'certified-catchup-reply', entries, decidedUpTo }));
  }

  onCatchupReply(from: NodeId, msg: CertifiedCatchupReply, out: Outbox): void {
    const { ctx, learner, window, router } = this.#p;
    for (const entry of msg.entries) {
      if (learner.has(entry.slot) || !window.contains(entry.slot)) continue;
      if (!validCommit(ctx.certificates, entry)) return ctx.drop('certified-catchup-reply', 'bad-certificate');
      router.decide(entry, out);
    }
    this.#done(out);
    this.catchUp(from, msg.decidedUpTo, out);
  }

  /** A peer's stable checkpoint, beyond what we executed: fetch the parts of its state we lack. */
  onStateManifest(from: NodeId, msg: StateManifest, out: Outbox): void {
    const { ctx, replica } = this.#p;
    const { checkpoint } = msg;
    if (checkpoint.slot <= replica.executedUpTo || checkpoint.slot % ctx.config.checkpointInterval !== 0) return;
    if (this.#transfer.slot !== null && this.#transfer.slot >= checkpoint.slot) return;
    if (msg.executedUpTo !== checkpoint.slot || msg.digests.length !== replica.partCount) return ctx.drop('state-manifest', 'bad-manifest');
    if (!bytesEqual(stateDigestOf(msg), checkpoint.stateDigest) || !validCheckpoint(ctx.certificates, checkpoint)) {
      return ctx.drop('state-manifest', 'bad-certificate');
    }
    this.#transfer.begin(checkpoint, msg.digests, replica.snapshot(), from);
    this.#requestState(out);
  }

  /** Parts of a checkpoint's state we hold: the stable one, or one of our own not yet stable. */
  onStateRequest(from: NodeId, msg: StateRequest, out: Outbox): void {
    const { ctx, checkpoints } = this.#p;
    const snapshot = checkpoints.snapshotAt(msg.slot);
    if (snapshot === undefined) {
      // We moved on: point the requester at our stable checkpoint instead.
      const stable = checkpoints.stable;
      if (stable !== null && stable.certificate.slot > msg.slot) this.#sendManifest(from, out);
      return;
    }
    if (!this.#mayServe(from)) return;
    const parts = partsFor(snapshot, msg, SIGNED_PAYLOAD_BYTES_MAX);
    if (parts === null) return ctx.drop('state-request', 'bad-part-index');
    out.send(from, ctx.auth.seal({ type: 'state-parts', slot: msg.slot, parts }));
  }

  onStateParts(from: NodeId, msg: StateParts, out: Outbox): void {
    const { ctx, replica } = this.#p;
    const progress = this.#transfer.receive(from, msg);
    switch (progress.kind) {
      case 'ignored':
        return;
      case 'bad':
        for (let i = 0; i < progress.bad; i++) ctx.drop('state-parts', 'bad-part');
        return this.#requestState(out);
      case 'progress':
        return this.#requestState(out);
      case 'complete':
        // Executed past it meanwhile: installing it would move the state back.
        if (progress.certificate.slot <= replica.executedUpTo) return;
        try {
          replica.restore(progress.snapshot);
        } catch {
          // Only more than f faulty members could certify a state that does not decode.
          return ctx.drop('state-parts', 'bad-snapshot');
        }
        this.#p.install({ certificate: progress.certificate, snapshot: progress.snapshot }, out);
        this.#done(out);
        this.catchUp(from, this.#peerDecidedUpTo, out);
    }
  }

  /** The catch-up timer fired: the request (or the transfer's) went unanswered; ask another peer. */
  onTimeout(out: Outbox): void {
    const { ctx, rng } = this.#p;
    this.#outstanding = false;
    if (this.#transfer.slot !== null) {
      this.#transfer.nextPeer();
      return this.#requestState(out);
    }
    if (ctx.n > 1) this.catchUp((ctx.id + 1 + rng.int(ctx.n - 1)) % ctx.n, this.#peerDecidedUpTo, out);
  }

  /** A node that is no member as far as it knows: ask a random peer for what it decided, whether or not one seems ahead. */
  askAround(out: Outbox): void {
    const { ctx, rng, learner } = this.#p;
    if (this.#outstanding || ctx.n < 2) return;
    this.catchUp((ctx.id + 1 + rng.int(ctx.n - 1)) % ctx.n, learner.firstUndecided + 1, out);
  }

  /** A new retransmit period: each peer's share of state replies starts afresh. */
  newPeriod(): void {
    this.#served.clear();
  }

  /** The low watermark reached `low`: a transfer of an older state is moot. */
  forgetBelow(low: Slot): void {
    if (this.#transfer.slot !== null && this.#transfer.slot <= low) this.#transfer.abort();
  }

  footprint(): Record<string, number> {
    return { transferMissing: this.#transfer.missing, stateServed: this.#served.size };
  }

  #done(out: Outbox): void {
    this.#outstanding = false;
    out.clearTimer('catchup');
  }

  #requestState(out: Outbox): void {
    const request = this.#transfer.request();
    if (request === null) return;
    this.#outstanding = true;
    out.send(request.to, this.#p.ctx.auth.seal(request.msg));
    out.setTimer('catchup', this.#p.ctx.config.catchupRetryMs);
  }

  /** Counts a state-transfer reply (a manifest or parts, each up to a frame) to `to`; false past its share this period. */
  #mayServe(to: NodeId): boolean {
    const served = this.#served.get(to) ?? 0;
    if (served >= STATE_REPLIES_PER_PEER_PER_PERIOD) {
      this.#p.ctx.drop('state-request', 'rate-limited');
      return false;
    }
    this.#served.set(to, served + 1);
    return true;
  }

  #sendManifest(to: NodeId, out: Outbox): void {
    if (!this.#mayServe(to)) return;
    const { certificate, snapshot } = this.#p.checkpoints.stable!;
    out.send(to, this.#p.ctx.auth.seal({ type: 'state-manifest', checkpoint: certificate, executedUpTo: snapshot.executedUpTo, digests: snapshot.digests }));
  }
}
