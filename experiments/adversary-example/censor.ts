// A worked example of a custom Byzantine strategy, written only against the documented
// adversary API (src/adversary/adversary.ts). Run it with
//
//   npx byzpaxos sim --mode byzantine --f 1 --seeds 50 --adversary-module experiments/adversary-example/censor.ts --json
//
// The censor wants client 1 starved. It never lies and never signs two things for one slot:
// everything it sends, an honest node could have sent. It only leaves things out.
//   - As leader it pretends client 1's requests never reached it, so it never proposes them.
//   - As acceptor it withholds its votes (Verify, Accepted) for any batch holding a command of
//     client 1, hoping the batch never gathers a quorum.
// Signatures cannot expose an omission. What defeats it is counting: a quorum is 2f+1 of
// 3f+1, so f censors cannot block one, and the progress timer of the honest replicas holding
// client 1's command replaces a leader that does not order it.
import { Tamper, type Adversary } from '../../src/adversary/adversary.ts';
import type { Effect, Input } from '../../src/core/effects.ts';
import { batchDigest, frameType } from '../../src/messages/codec.ts';
import { toHex } from '../../crypto/digest.ts';

const CENSORED_CLIENT = 1;

class Censor extends Tamper {
  /** Digests of batches carrying a censored command, learned from the Accepts that proposed them. */
  private readonly tainted = new Set<string>();

  override step(input: Input): Effect[] {
    // Unheard, not refused: the honest node inside never learns of the command, so it neither
    // proposes it nor counts it as waiting (and never votes to replace a leader over it).
    if (input.type === 'request' && input.msg.command.clientId === CENSORED_CLIENT) return [];
    if (input.type === 'message' && input.msg.type === 'signed' && frameType(input.msg.payload) === 'accept') {
      // Check the signature like the honest node will: only a genuine Accept taints a digest.
      const accept = this.ctx.auth.open(input.msg);
      if (accept?.type === 'accept' && accept.batch.commands.some((c) => c.clientId === CENSORED_CLIENT)) {
        this.tainted.add(toHex(batchDigest(accept.batch)));
      }
    }
    return super.step(input);
  }

  // Every effect of the honest node passes through here; returning [] suppresses it.
  protected rewrite(effect: Effect): Effect[] {
    if (effect.type !== 'broadcast') return [effect];
    // innerOf decodes this node's own envelopes; peers' signatures need ctx.auth.open instead.
    const vote = this.innerOf(effect.msg);
    const withheld = (vote?.type === 'verify' || vote?.type === 'accepted') && this.tainted.has(toHex(vote.digest));
    return withheld ? [] : [effect];
  }
}

export default {
  name: 'censor',
  description: `starves client ${CENSORED_CLIENT}: never proposes its commands, withholds votes for batches holding them`,
  create: (ctx) => new Censor(ctx),
} satisfies Adversary;
