// Tunables of a Byzantine-mode node. Times are milliseconds of the driver's clock.
import { BATCH_COMMANDS_MAX, PREPARED_CERTIFICATES_MAX } from '../../core/limits.ts';
import { byzantineQuorums, type QuorumSpec } from '../../core/quorum.ts';
import { requireCount, requirePositive } from '../../core/validate.ts';

export interface ByzantineConfig {
  /** 'commit-reveal': acceptors bit-commit (Commitment to the leader, Reveal to learners) instead of Accepted. */
  readonly mode: 'byzantine' | 'commit-reveal';
  readonly quorums: QuorumSpec & { readonly weak: number };
  /** Pipelining window α: slots the leader may open beyond the first undecided one. */
  readonly windowSlots: number;
  readonly batchCommandsMax: number;
  /** A checkpoint every K slots; its certificate lets logs be truncated below it. */
  readonly checkpointInterval: number;
  /** Watermarks: acceptors take slots in [low, low + watermarkSlots) only, low = stable checkpoint. */
  readonly watermarkSlots: number;
  /** Resend own undelivered messages (and the leader's heartbeat) this often: the network loses them. */
  readonly retransmitMs: number;
  /** A replica holding a client command that makes no progress for this long suspects the leader. */
  readonly progressTimeoutMs: number;
  /** Waiting for a NewBallot this long moves on to the next ballot (doubling each time, capped). */
  readonly viewChangeTimeoutMs: number;
  readonly backoffMaxMs: number;
  readonly catchupRetryMs: number;
}

export function defaultByzantineConfig(f: number, overrides: Partial<ByzantineConfig> = {}): ByzantineConfig {
  const config: ByzantineConfig = {
    mode: 'byzantine',
    quorums: byzantineQuorums(f),
    windowSlots: 8,
    batchCommandsMax: 32,
    checkpointInterval: 16,
    watermarkSlots: 64,
    retransmitMs: 60,
    progressTimeoutMs: 400,
    viewChangeTimeoutMs: 300,
    backoffMaxMs: 4000,
    catchupRetryMs: 100,
    ...overrides,
  };
  validateByzantineConfig(config);
  return config;
}

export function validateByzantineConfig(c: ByzantineConfig): void {
  requireCount('batchCommandsMax', c.batchCommandsMax, BATCH_COMMANDS_MAX);
  requireCount('checkpointInterval', c.checkpointInterval, PREPARED_CERTIFICATES_MAX);
  requireCount('watermarkSlots', c.watermarkSlots, PREPARED_CERTIFICATES_MAX);
  requireCount('windowSlots', c.windowSlots, c.watermarkSlots);
  if (c.watermarkSlots < 2 * c.checkpointInterval) {
    throw new RangeError('config.watermarkSlots must be at least 2 × checkpointInterval, or the log stalls before a checkpoint stabilizes');
  }
  requirePositive('retransmitMs', c.retransmitMs);
  requirePositive('progressTimeoutMs', c.progressTimeoutMs);
  requirePositive('viewChangeTimeoutMs', c.viewChangeTimeoutMs);
  requirePositive('backoffMaxMs', c.backoffMaxMs);
  requirePositive('catchupRetryMs', c.catchupRetryMs);
  if (c.progressTimeoutMs <= 2 * c.retransmitMs) throw new RangeError('config.progressTimeoutMs must exceed two retransmit periods');
}
