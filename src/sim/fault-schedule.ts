// When partitions and crashes happen during the fault phase: drawn all at once before the run, from
// the fault stream, apart from the scheduling stream that drops, duplicates and delays messages.
import type { NodeId } from '../base/types.ts';
import type { SeededRng } from '../core/rng.ts';
import type { World } from './world.ts';

export function scheduleFaults(w: World, rng: SeededRng): void {
  const { partition, crash } = w.o.faults;
  // A partition needs two sides.
  if (partition && w.n > 1) {
    for (let t = 100 + rng.next() * 400; t < w.o.faultPhaseMs; ) {
      const groupA = randomProperSubset(w.n, rng);
      const healAt = Math.min(w.o.faultPhaseMs, t + 100 + rng.next() * 700);
      w.queue.push(t, { kind: 'partition', groupA, healAt });
      t = healAt + 50 + rng.next() * 400;
    }
  }
  if (crash) {
    for (let t = 100 + rng.next() * 500; t < w.o.faultPhaseMs; t += 100 + rng.next() * 600) {
      w.queue.push(t, { kind: 'crash', node: rng.int(w.n), downMs: 50 + rng.next() * 700 });
    }
  }
}

function randomProperSubset(n: number, rng: SeededRng): NodeId[] {
  const size = 1 + rng.int(n - 1);
  const ids = [...Array(n).keys()];
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids.slice(0, size).sort((a, b) => a - b);
}
