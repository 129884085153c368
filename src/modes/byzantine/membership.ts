// What a node of a reconfigurable cluster does about its configurations, besides counting each
// slot's votes against that slot's configuration (the roles do, through the context): it builds
// the configuration history with Byzantine quorums, retries the votes held until decisions made
// their slot's configuration known, and tells when it is no member of the current configuration
// (docs/PROTOCOL.md, "Reconfiguration through the log").
import { RECONFIG_WINDOW_SLOTS } from '../../base/limits.ts';
import type { Ballot, Slot } from '../../base/types.ts';
import type { Reconfiguration } from '../../core/config.ts';
import { byzantineQuorumOf, ConfigurationHistory, isMember } from '../../core/configuration.ts';
import type { Outbox } from '../../core/outbox.ts';
import type { CertifiedPromise, SignedEnvelope } from '../../messages/types.ts';
import { chooseFromPromises, promisedBy, unjudgeableSlot } from './certificates.ts';
import type { ReplicaContext } from './context.ts';

/** A reconfigurable Byzantine cluster's configuration history: quorums of ⌈(n + f + 1)/2⌉ of each configuration's n. */
export function byzantineConfigurations(r: Reconfiguration): ConfigurationHistory {
  return new ConfigurationHistory(r.members, r.universe, RECONFIG_WINDOW_SLOTS, byzantineQuorumOf);
}

/** Not a member of the current configuration (yet, or any more): it may lag behind the change that made it one. */
export function isOutsider(ctx: ReplicaContext): boolean {
  return ctx.reconfigurable && !isMember(ctx.current(), ctx.id);
}

/**
 * As the leader of `ballot`, may we send the NewBallot for these promises? In a static cluster,
 * yes. With reconfiguration only a member leads, on a quorum of the configuration it starts in,
 * and only with a NewBallot it would itself judge justified (its checkpoint's slot may have
 * another configuration than ours).
 */
export function mayLead(ctx: ReplicaContext, ballot: Ballot, promises: readonly SignedEnvelope[]): boolean {
  if (!ctx.reconfigurable) return true;
  const current = ctx.current();
  if (!isMember(current, ctx.id) || !promisedBy(current, promises.map((e) => e.signer))) return false;
  return chooseFromPromises(ctx.certificates, ballot, promises).ok;
}

/** The highest slot whose configuration a promise a NewBallot carries needs and we do not know yet (its certificates' or its checkpoint's), or null. */
export function unjudgeableCarried(ctx: ReplicaContext, promise: CertifiedPromise): Slot | null {
  const checkpointSlot = ctx.reconfigurable && promise.checkpoint !== null && ctx.membership(promise.checkpoint.slot) === null ? promise.checkpoint.slot : -1;
  const slot = Math.max(unjudgeableSlot(ctx.certificates, promise) ?? -1, checkpointSlot);
  return slot >= 0 ? slot : null;
}

/** Votes that waited for their slot's configuration, retried each time decisions may have made one known. */
export class HeldVotes {
  readonly #ctx: ReplicaContext;
  readonly #firstUndecided: () => Slot;
  readonly #retry: (out: Outbox) => void;
  /** The first undecided slot when held votes were last retried. */
  #retriedAt = -1;

  constructor(ctx: ReplicaContext, firstUndecided: () => Slot, retry: (out: Outbox) => void) {
    this.#ctx = ctx;
    this.#firstUndecided = firstUndecided;
    this.#retry = retry;
  }

  /** Retrying may decide slots, which may make more configurations known: until nothing changes. */
  retry(out: Outbox): void {
    if (!this.#ctx.reconfigurable) return;
    while (this.#retriedAt !== this.#firstUndecided()) {
      this.#retriedAt = this.#firstUndecided();
      this.#retry(out);
    }
  }
}
