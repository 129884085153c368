// Issue 10: a Byzantine cluster must keep serving once its state outgrows a frame, and a member
// that lost everything fetches the state by chunked transfer. The scenario is the large-state
// experiment's (experiments/large-state/), at ≈ 5 MB of state rather than its ≥ 50 MB, to keep CI short.
import { describe, expect, it } from 'vitest';
import { FRAME_BYTES_MAX } from '../../src/base/limits.ts';
import { runLargeState } from '../../experiments/large-state/large-state.ts';

describe('a state far larger than a frame', () => {
  it('seed 1: 4000 maximal puts (≈ 5 MB); a wiped member fetches the state in parts and is needed for the last quarter', () => {
    const run = runLargeState(4000);
    expect(run.result.safetyViolations).toEqual([]);
    expect(run.result.livenessFailure).toBeNull();
    expect(run.result.completed).toBe(4000);
    expect(run.stateBytes).toBeGreaterThan(4 * FRAME_BYTES_MAX);
    // The state came in many frames, none of them over the frame bound.
    expect(run.partReplies).toBeGreaterThan(2);
    expect(run.partBytes).toBeGreaterThan(FRAME_BYTES_MAX);
    expect(run.sameState).toBe(true);
    for (const [reason, count] of run.wipedDropped) expect(reason, `${count} dropped`).not.toMatch(/^state-/);
  }, 120_000);
});
