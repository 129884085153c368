// Tunables of a Byzantine-mode node. Times are milliseconds of the driver's clock.
import { BATCH_BYTES_PREFERRED, BATCH_COMMANDS_MAX, EAGER_SLOTS_DEFAULT, WATERMARK_SLOTS_MIN, PREPARED_CERTIFICATES_MAX, SIGNED_PAYLOAD_BYTES_MAX } from '../../base/limits.ts';
import { validateReconfiguration, type Reconfiguration } from '../../core/config.ts';
import { byzantineFaultsOf, byzantineQuorumOf } from '../../core/configuration.ts';
import { byzantineQuorums, type QuorumSpec } from '../../core/quorum.ts';
import { requireCount, requirePositive } from '../../core/validate.ts';
import { batchBytesBudget, MAXIMAL_COMMAND_BATCH_BYTES, sealedBytesMax, type FrameShape } from './frame-budget.ts';

export interface ByzantineConfig {
  /** 'commit-reveal': acceptors bit-commit (Commitment to the leader, Reveal to learners) instead of Accepted. */
  readonly mode: 'byzantine' | 'commit-reveal';
  /**
   * A static cluster's quorums. With `reconfiguration`, each configuration's come from its members
   * (configuration.ts, byzantineQuorumOf), and these are the bounds over every configuration the
   * universe allows: n the universe, phase1 the promises a NewBallot may carry (one per node),
   * phase2 the largest quorum, weak the f + 1 of the largest configuration (what a client needs).
   */
  readonly quorums: QuorumSpec & { readonly weak: number };
  /** Null: members 0..n−1 for good. Otherwise membership changes through the log (configuration.ts). */
  readonly reconfiguration: Reconfiguration | null;
  /** Pipelining window α: slots the leader may open beyond the first undecided one. */
  readonly windowSlots: number;
  /** Undecided slots of its own below which a leader opens one per queued command at once (core/pipeline.ts). */
  readonly eagerSlots: number;
  readonly batchCommandsMax: number;
  /**
   * Most encoded bytes of one slot's batch. Promises carry a prepared batch per slot between the
   * watermarks and a NewBallot carries a quorum of promises, so this bounds them; the default is
   * the largest for which every sealed message fits one frame (frame-budget.ts).
   */
  readonly batchBytesMax: number;
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

/**
 * Default watermarks: 64 slots, halved while a quorum of promises would leave a slot less than
 * BATCH_BYTES_PREFERRED (down to WATERMARK_SLOTS_MIN), or no room for one maximal command.
 */
const WATERMARK_SLOTS_DEFAULT = 64;

function defaultWatermarkSlots(quorums: ByzantineConfig['quorums']): number {
  let watermarkSlots = WATERMARK_SLOTS_DEFAULT;
  const budget = () => batchBytesBudget({ quorums, watermarkSlots });
  while (watermarkSlots > WATERMARK_SLOTS_MIN && budget() < BATCH_BYTES_PREFERRED) watermarkSlots /= 2;
  while (watermarkSlots > 2 && budget() < MAXIMAL_COMMAND_BATCH_BYTES) watermarkSlots /= 2;
  return watermarkSlots;
}

/** The bounds over every configuration of a reconfigurable cluster (ByzantineConfig.quorums). */
export function universeQuorums(reconfiguration: Reconfiguration): ByzantineConfig['quorums'] {
  const n = reconfiguration.universe;
  const f = byzantineFaultsOf(n);
  const largest = byzantineQuorumOf(new Set(Array.from({ length: n }, (_, id) => id)));
  return Object.freeze({ n, f, phase1: n, phase2: largest.phase2, weak: f + 1 });
}

export function defaultByzantineConfig(f: number, overrides: Partial<ByzantineConfig> = {}): ByzantineConfig {
  const reconfiguration = overrides.reconfiguration ?? null;
  const quorums = overrides.quorums ?? (reconfiguration === null ? byzantineQuorums(f) : universeQuorums(reconfiguration));
  const watermarkSlots = overrides.watermarkSlots ?? defaultWatermarkSlots(quorums);
  const config: ByzantineConfig = {
    mode: 'byzantine',
    quorums,
    reconfiguration,
    windowSlots: 8,
    eagerSlots: EAGER_SLOTS_DEFAULT,
    batchCommandsMax: 32,
    batchBytesMax: batchBytesBudget({ quorums, watermarkSlots }),
    checkpointInterval: Math.min(16, Math.floor(watermarkSlots / 2)),
    watermarkSlots,
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
  requireCount('eagerSlots', c.eagerSlots, PREPARED_CERTIFICATES_MAX);
  if (c.reconfiguration !== null) validateByzantineReconfiguration(c);
  if (c.watermarkSlots < 2 * c.checkpointInterval) {
    throw new RangeError('config.watermarkSlots must be at least 2 × checkpointInterval, or the log stalls before a checkpoint stabilizes');
  }
  validateFrameBudget(c);
  requirePositive('retransmitMs', c.retransmitMs);
  requirePositive('progressTimeoutMs', c.progressTimeoutMs);
  requirePositive('viewChangeTimeoutMs', c.viewChangeTimeoutMs);
  requirePositive('backoffMaxMs', c.backoffMaxMs);
  requirePositive('catchupRetryMs', c.catchupRetryMs);
  if (c.progressTimeoutMs <= 2 * c.retransmitMs) throw new RangeError('config.progressTimeoutMs must exceed two retransmit periods');
}

function validateByzantineReconfiguration(c: ByzantineConfig): void {
  const r = c.reconfiguration!;
  if (r.universe !== c.quorums.n) throw new RangeError(`config.reconfiguration.universe ${r.universe} must be quorums.n ${c.quorums.n}`);
  validateReconfiguration(r, 0);
  if (r.members.length < 4) throw new RangeError(`config.reconfiguration.members: a Byzantine configuration needs at least 4 members (3f+1, f ≥ 1), got ${r.members.length}`);
}

/** Every message a member seals must fit one frame, and a slot must hold at least one maximal command. */
function validateFrameBudget(c: ByzantineConfig): void {
  requireCount('batchBytesMax', c.batchBytesMax, SIGNED_PAYLOAD_BYTES_MAX);
  const shape: FrameShape = c;
  if (sealedBytesMax(shape, MAXIMAL_COMMAND_BATCH_BYTES) > SIGNED_PAYLOAD_BYTES_MAX) {
    const budget = batchBytesBudget(shape);
    throw new RangeError(
      `config.watermarkSlots ${c.watermarkSlots} leaves ${budget} bytes per slot's batch (a NewBallot carries ${c.quorums.phase1} promises × ${c.watermarkSlots} prepared batches in one frame), less than one maximal command (${MAXIMAL_COMMAND_BATCH_BYTES}): lower watermarkSlots`,
    );
  }
  if (c.batchBytesMax < MAXIMAL_COMMAND_BATCH_BYTES) {
    throw new RangeError(`config.batchBytesMax must be at least ${MAXIMAL_COMMAND_BATCH_BYTES} (one maximal command), got ${c.batchBytesMax}`);
  }
  if (sealedBytesMax(shape, c.batchBytesMax) > SIGNED_PAYLOAD_BYTES_MAX) {
    throw new RangeError(`config.batchBytesMax ${c.batchBytesMax} exceeds the frame budget ${batchBytesBudget(shape)} for this quorum and watermarkSlots: lower batchBytesMax`);
  }
}
