// Validated proposals (seed 000 §6): a Byzantine leader proposes a command the application
// refuses (signed by a rogue client it colludes with); honest acceptors do not Verify it, so it
// is never decided, and the checker's "no invalid command applied" holds. The mutation proves
// that check can fail: acceptors that skip validation let the command land, and it is reported.
import { describe, expect, it } from 'vitest';
import type { Adversary, AdversaryContext } from '../../src/adversary/adversary.ts';
import { adversaryNamed } from '../../src/adversary/strategies.ts';
import { encodeKvOp } from '../../src/app/kv.ts';
import type { Command } from '../../src/base/types.ts';
import type { Effect, Input } from '../../src/core/effects.ts';
import type { ProtocolNode } from '../../src/core/protocol.ts';
import { kvApp } from '../../src/app/apps.ts';
import { signCommand } from '../../src/modes/byzantine/auth.ts';
import { simKeyPair } from '../../src/sim/modes.ts';
import { SafetyChecker } from '../../src/sim/checker.ts';
import { simulate, type SimOptions } from '../../src/sim/simulator.ts';
import { nativeBackend } from '../../crypto/ed25519.ts';

import { REFUSED_MARK, RefusingKv, validKvOp } from '../app/refusing-kv.ts';

const ROGUE_CLIENT = 1;
/** A session the honest client 1 never draws in these runs: the rogue command is its own. */
const ROGUE_SESSION = 2 ** 40;

/** The command a rogue client hands the Byzantine leader, signed with that client's key in the run of `seed`. */
function rogueCommand(seed: number, ctx: AdversaryContext): Command {
  const unsigned = { clientId: ROGUE_CLIENT, session: ROGUE_SESSION, seq: 1, op: encodeKvOp({ type: 'put', key: 'k0', value: `${REFUSED_MARK}!` }) };
  const key = simKeyPair(seed, 'client', ROGUE_CLIENT);
  return { ...unsigned, signature: signCommand(nativeBackend, key.secretKey, ctx.auth.clusterId, unsigned, key.publicKey) };
}

/** skips-validation, handed the rogue command the first time it leads: it proposes it, batched with honest ones. */
function rogueLeader(seed: number): Adversary {
  const inner = adversaryNamed('skips-validation')!;
  return {
    name: 'rogue-leader',
    description: 'skips-validation, given a refused command by a colluding client',
    create: (ctx): ProtocolNode => {
      const node = inner.create(ctx);
      let handed = false;
      return {
        id: node.id,
        get isLeader() {
          return node.isLeader;
        },
        get ballot() {
          return node.ballot;
        },
        stats: node.stats,
        start: () => node.start(),
        step: (input: Input): Effect[] => {
          const effects = node.step(input);
          if (handed || !node.isLeader) return effects;
          handed = true;
          return [...effects, ...node.step({ type: 'request', msg: { type: 'request', command: rogueCommand(seed, ctx) } })];
        },
      };
    },
  };
}

function run(seed: number, app: SimOptions['app'], validOp?: SimOptions['validOp']) {
  const dropped = new Map<number, ProtocolNode['stats']['dropped']>();
  const result = simulate({
    mode: 'byzantine',
    seed,
    f: 1,
    commands: 20,
    app,
    ...(validOp === undefined ? {} : { validOp }),
    // Node 0 leads the first ballot.
    byzantine: { strategies: [rogueLeader(seed)], nodes: [0] },
    hooks: { onBoot: (id, core) => dropped.set(id, core.stats.dropped) },
  });
  const refusals = [1, 2, 3].reduce((sum, id) => sum + (dropped.get(id)?.get('accept:invalid-batch') ?? 0), 0);
  return { result, refusals };
}

describe('validated proposals in the simulator (seed 000 §6)', () => {
  it('an application that accepts every op its clients send changes nothing: the same run, hash for hash', () => {
    const options: SimOptions = { mode: 'byzantine', seed: 5, f: 1, commands: 20 };
    expect(simulate({ ...options, app: () => new RefusingKv() }).traceHash).toBe(simulate(options).traceHash);
  });

  it('honest acceptors refuse a Byzantine leader\'s invalid batch: it is never applied, and the run stays safe and live', () => {
    for (const seed of [1, 2, 3]) {
      const { result, refusals } = run(seed, () => new RefusingKv());
      const replay = `seed ${seed}`;
      expect(refusals, replay).toBeGreaterThan(0);
      expect(result.safetyViolations, replay).toEqual([]);
      expect(result.livenessFailure, replay).toBeNull();
      expect(result.completed, replay).toBe(20);
    }
  });

  it('mutation: acceptors that skip validation let the invalid command land, and "no invalid command applied" reports it', () => {
    const { result, refusals } = run(1, kvApp, validKvOp);
    expect(refusals).toBe(0);
    expect(result.safetyViolations.map((v) => v.kind)).toContain('invalid-command');
  });
});

describe('the checker\'s "no invalid command applied"', () => {
  it('reports an honest replica applying a command the predicate refuses, and nothing else', () => {
    const good = { clientId: 1, session: 1, seq: 1, op: encodeKvOp({ type: 'put', key: 'k', value: 'v' }), signature: new Uint8Array(0) };
    const bad = { ...good, seq: 2, op: encodeKvOp({ type: 'put', key: 'k', value: REFUSED_MARK }) };
    const checker = new SafetyChecker(7, () => true, null, validKvOp);
    checker.recordExecution(0, 1, good);
    expect(checker.violations).toEqual([]);
    checker.recordExecution(0, 1, bad);
    expect(checker.violations.map((v) => v.kind)).toEqual(['invalid-command']);
  });
});
