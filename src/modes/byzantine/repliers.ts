// Which replicas answer a client unasked. A client needs f+1 matching replies, so f+1 replicas
// suffice while all is well: the followers picked by the client's id (the leader does the most
// work already, and the pick spreads the replies evenly over the others). A follower the client
// itself asked answers too: the client asks everyone once it has waited in vain, and then every
// honest follower answers, at least 2f ≥ f+1 of them whoever is faulty.
import type { ClientId, NodeId } from '../../base/types.ts';

/** Whether replica `id` answers `clientId`'s executed commands without having been asked. */
export function designatedReplier(id: NodeId, clientId: ClientId, leader: NodeId, n: number, f: number): boolean {
  const followers = n - 1;
  // Too few followers to pick f+1 from (n = 1): everyone answers.
  if (followers < f + 1) return true;
  if (id === leader) return false;
  // Followers in ring order after the leader: 0 .. n-2; the client's pick starts at clientId mod (n-1).
  const position = (id - leader - 1 + n) % n;
  const start = clientId % followers;
  return (position - start + followers) % followers <= f;
}
