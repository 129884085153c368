// The deployed leader's batching policy (eagerSlots = 1, core/pipeline.ts) under the simulator's
// faults, in every mode: as safe and live as the fully pipelined one the other sweeps run, and it
// does batch (fewer slots than commands when clients are many).
import type { Mode } from '../../src/base/mode.ts';
import { describe, expect, it } from 'vitest';
import { EAGER_SLOTS_DEFAULT } from '../../src/base/limits.ts';
import { simulate } from '../../src/sim/simulator.ts';
import { expectCleanSweep, SWEEP_FAULTS, SWEEP_TIMEOUT_MS } from '../adversary/sweep-helpers.ts';

const SEEDS: Readonly<Record<Mode, number>> = { crash: 200, byzantine: 80, 'commit-reveal': 80 };
const COMMANDS = 24;
const CLIENTS = 8;

describe('the deployed batching policy (eagerSlots = EAGER_SLOTS_DEFAULT) in the simulator', () => {
  for (const mode of ['crash', 'byzantine', 'commit-reveal'] as const) {
    it(`${mode}: safe and live under drop, dup, reorder and partitions over ${SEEDS[mode]} seeds`, { timeout: SWEEP_TIMEOUT_MS }, () => {
      expectCleanSweep(SEEDS[mode], (seed) => ({ mode, seed, f: 1, commands: COMMANDS, clients: CLIENTS, faults: SWEEP_FAULTS, eagerSlots: EAGER_SLOTS_DEFAULT }));
    });

    it(`${mode}: commands share slots that the fully pipelined leader would give one each`, () => {
      const slots = (eagerSlots?: number): number =>
        [1, 2, 3].reduce((sum, seed) => sum + simulate({ mode, seed, f: 1, commands: COMMANDS, clients: CLIENTS, thinkMs: 0, ...(eagerSlots === undefined ? {} : { eagerSlots }) }).slotsDecided, 0);
      const batched = slots(EAGER_SLOTS_DEFAULT);
      expect(batched).toBeLessThan(slots());
      expect(batched).toBeLessThan(3 * COMMANDS);
    });
  }

  it('the replay command of a run with eagerSlots carries it', () => {
    const r = simulate({ mode: 'crash', seed: 7, f: 1, commands: 4, eagerSlots: 1 });
    expect(r.replayCommand).toContain('--eager-slots 1');
  });
});
