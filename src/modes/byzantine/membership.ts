// What a node of a reconfigurable cluster does about its configurations, besides counting each
// slot's votes against that slot's configuration (the roles do, through the context): it builds
// the configuration history with Byzantine quorums, retries the votes held until decisions made
// their slot's configuration known, and tells when it is no member of the current configuration
// (docs/PROTOCOL.md, "Reconfiguration through the log").
import { RECONFIG_WINDOW_SLOTS } from '../../base/limits.ts';
import type { Slot } from '../../base/types.ts';
import type { Reconfiguration } from '../../core/config.ts';
import { byzantineQuorumOf, ConfigurationHistory, isMember } from '../../core/configuration.ts';
import type { Outbox } from '../../core/outbox.ts';
import type { ReplicaContext } from './context.ts';

/** A reconfigurable Byzantine cluster's configuration history: quorums of ⌈(n + f + 1)/2⌉ of each configuration's n. */
export function byzantineConfigurations(r: Reconfiguration): ConfigurationHistory {
  return new ConfigurationHistory(r.members, r.universe, RECONFIG_WINDOW_SLOTS, byzantineQuorumOf);
}

/** Not a member of the current configuration (yet, or any more): it may lag behind the change that made it one. */
export function isOutsider(ctx: ReplicaContext): boolean {
  return ctx.reconfigurable && !isMember(ctx.current(), ctx.id);
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
