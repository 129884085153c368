// Client workload for simulations: single-key KV ops over a few hot keys, so concurrent
// clients contend and the linearizability check has something to bite on.
import { encodeKvOp, type KvOp } from '../app/kv.ts';
import type { Rng } from '../core/rng.ts';

export function randomKvOp(rng: Rng, keys: number, clientId: number, seq: number): KvOp {
  const key = `k${rng.int(keys)}`;
  const value = `c${clientId}.${seq}`;
  const roll = rng.int(10);
  if (roll < 4) return { type: 'put', key, value };
  if (roll < 7) return { type: 'get', key };
  if (roll < 8) return { type: 'delete', key };
  // cas on a recently written value or on absence, so some succeed and some fail.
  const expected = rng.int(3) === 0 ? null : `c${rng.int(clientId + 1)}.${Math.max(1, seq - 1 - rng.int(2))}`;
  return { type: 'cas', key, expected, value };
}

export function encodeRandomKvOp(rng: Rng, keys: number, clientId: number, seq: number): { op: KvOp; bytes: Uint8Array } {
  const op = randomKvOp(rng, keys, clientId, seq);
  return { op, bytes: encodeKvOp(op) };
}
