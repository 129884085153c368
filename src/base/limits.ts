// Every bound in one place (TigerBeetle style). The codec enforces the wire bounds,
// the core enforces the window bounds; both drop what exceeds them and count it.

/** Largest encoded message, in bytes. */
export const FRAME_BYTES_MAX = 1 << 20;
/** Largest opaque client op, in bytes. */
export const OP_BYTES_MAX = 4096;
/** Largest reply result, in bytes. */
export const RESULT_BYTES_MAX = 4096;
/** Most commands in one slot's batch. */
export const BATCH_COMMANDS_MAX = 256;
/**
 * Byzantine modes: the per-slot batch budget the default watermarks aim for. Promises carry every
 * prepared batch between the watermarks, so fewer slots between them leave each slot more of a
 * frame; 8 KiB holds ≈ 32 puts of 100 B values with their signatures, so one slot's 2n² signed
 * votes serve that many commands. The watermarks halve (not below WATERMARK_SLOTS_MIN) until
 * the budget reaches it.
 */
export const BATCH_BYTES_PREFERRED = 8 * 1024;
/**
 * Byzantine modes: BATCH_BYTES_PREFERRED never lowers the default watermarks below this many
 * slots: two checkpoint intervals of 16, so the window moves on while a checkpoint stabilizes.
 */
export const WATERMARK_SLOTS_MIN = 32;
/**
 * Default of `eagerSlots`: undecided slots of its own below which a leader opens a slot as soon as
 * a command is queued (src/core/pipeline.ts); beyond, slots wait for a full batch or a decision.
 * One keeps a lone client's latency at one round trip and lets whatever arrives meanwhile share
 * the next slot.
 */
export const EAGER_SLOTS_DEFAULT = 1;
/** Most pvalues one Promise carries; more sets `truncated`. */
export const PROMISE_PVALUES_MAX = 1024;
/** Most decided entries in one catch-up reply. */
export const CATCHUP_ENTRIES_MAX = 64;
/**
 * Crash mode: a member snapshots its executed state every this many executed slots, then
 * truncates its log. 256: a snapshot re-encodes and rehashes only the parts changed since the
 * last one (a few under a steady load), so its cost is small next to 256 slots' worth of batches,
 * while the log a member holds stays within LOG_RETAIN_SLOTS + 256 slots (well under a MiB at
 * the team's measured ≈ 2.5 KB per decided slot).
 */
export const SNAPSHOT_INTERVAL_SLOTS = 256;
/**
 * Crash mode: decided slots kept below the latest snapshot, so that a peer a little behind is
 * caught up with CATCHUP_ENTRIES_MAX-entry replies rather than a whole state transfer.
 */
export const LOG_RETAIN_SLOTS = 256;
/**
 * Reconfiguration's window α (seed 001's WINDOW, "Paxos Made Moderately Complex"): a membership
 * change decided in slot c governs slots from c + α on, so a proposer knows the configuration of
 * slot s, and may propose there, once every slot up to s − α is decided. Equal to the default
 * pipelining window, so a leader with room in its window rarely stalls on the configuration.
 * Every member of one cluster must use the same α.
 */
export const RECONFIG_WINDOW_SLOTS = 8;
/** Most members one configuration holds (node ids stay below NODE_ID_MAX + 1). */
export const CONFIGURATION_MEMBERS_MAX = 64;
/** Learners track votes only for slots in [firstUndecided, firstUndecided + LEARNER_WINDOW_SLOTS). */
export const LEARNER_WINDOW_SLOTS = 4096;
/** Most pending client commands a leader queues; beyond it clients are told to retry. */
export const CLIENT_QUEUE_MAX = 4096;
/**
 * A Byzantine-mode client doubles its wait before each resend of one command, at most this many
 * times (retry × 8): replicas that have the command need no resends to order it, only time.
 */
export const CLIENT_RETRY_DOUBLINGS_MAX = 3;
/** Most client sessions a replica keeps, over all clients. */
export const CLIENT_SESSIONS_MAX = 100_000;
/**
 * Most sessions a replica keeps per client id (one per client process: concurrent CLI commands
 * of one client each have their own). Beyond it the least recently used session of that client
 * is evicted, deterministically, as part of the replicated state; a later command of an evicted
 * session is answered `evicted`, not executed (but a retry of its first command cannot be told
 * from a new session's, so it runs again if that many newer sessions came in between). Below
 * what one part of the session table holds with maximal results (238), so one client's
 * sessions always fit their part.
 */
export const CLIENT_SESSIONS_PER_CLIENT_MAX = 128;
/** Largest session id: any safe integer (the runtime draws 53 random bits). */
export const SESSION_ID_MAX = Number.MAX_SAFE_INTEGER;

// --- Replicated state: checkpoints digest it part by part, state transfer ships it part by part ---

/**
 * Most bytes of application state a replica holds (for the kv store: its entries as encoded). A
 * command that would exceed it gets an error result, the same on every replica: it is part of
 * the state machine, never a node failure.
 */
export const STATE_BYTES_MAX = 64 * 1024 * 1024;
/** Largest encoded part of the replicated state: any one part fits a state-transfer frame. */
export const STATE_PART_BYTES_MAX = FRAME_BYTES_MAX - 64 * 1024;
/** Parts the client-session table is split into (by client id); the application adds its own. */
export const SESSION_PARTS = 1024;
/** Most parts of the replicated state: sessions' and the application's together. */
export const STATE_PARTS_MAX = 8192;
/** Most parts one state-transfer request asks for. */
export const STATE_REQUEST_PARTS_MAX = 1024;
/** Largest round number accepted from the wire (keeps arithmetic exact). */
export const ROUND_MAX = 2 ** 40;
/** Largest slot number accepted from the wire. */
export const SLOT_MAX = 2 ** 40;
/** Largest node id / client id. */
export const NODE_ID_MAX = 255;
export const CLIENT_ID_MAX = 2 ** 32 - 1;

// --- Byzantine modes ---------------------------------------------------------------------------

/** Ed25519 signature length; a command's signature is empty in crash mode. */
export const SIGNATURE_BYTES = 64;
/** Most signed envelopes in one certificate (one per member at most). */
export const CERTIFICATE_SIGNATURES_MAX = NODE_ID_MAX + 1;
/**
 * Largest payload a member signs: its envelope (version, tag, signer id, payload length, signature)
 * must still fit one frame.
 */
export const SIGNED_PAYLOAD_BYTES_MAX = FRAME_BYTES_MAX - (2 + 2 + 3 + 1 + SIGNATURE_BYTES);
/** Most prepared certificates in one CertifiedPromise: slots between the watermarks. */
export const PREPARED_CERTIFICATES_MAX = 256;
/** A member accepts promises (and keeps single-sign messages) for rounds up to its own + this × n. */
export const ROUNDS_AHEAD_PER_MEMBER = 4;
/**
 * Progress periods a member lets a command stall before it suspects a leader it has not heard
 * from since it (re)started: time for its links to come up, so it does not change ballot alone.
 */
export const UNHEARD_LEADER_STALLS_MAX = 4;
/**
 * Progress periods, with execution advancing, a member lets a waiting command go unproposed
 * before it suspects the leader: the client may have reached this member a little before the
 * leader. A proposed command may wait as long as execution advances (slots execute in order).
 */
export const PROGRESS_UNPROPOSED_STALLS_MAX = 1;

/**
 * Evidence queries and passed-on promises and Suspects are repeated after 1, 2, 4, … retransmit
 * periods up to this gap (7 repeats over ≈ 127 periods, ≈ 7.6 s at 60 ms): a split equivocation
 * is proven once both halves meet, and messages lost to drops or a partition would otherwise
 * never be repeated.
 */
export const EVIDENCE_REPEAT_GAP_MAX = 64;
/** Most distinct proofs a node remembers having reported; beyond it, repeats may be reported again. */
export const EVIDENCE_REMEMBERED_MAX = 1024;
/** Envelopes one evidence answer carries: per slot an Accept and n each of Verify, Accepted, Commitment and Reveal, and our own reveal. */
export function evidenceShareEnvelopesMax(n: number): number {
  return 5 * n + 1;
}
/** Promises and Suspects passed on and repeated: a few rounds' worth from every member. */
export function passedOnMax(n: number): number {
  return 4 * n * n;
}
/** Evidence queries repeated at once: a few per slot of the window. */
export function evidenceQueriesMax(watermarkSlots: number): number {
  return 4 * watermarkSlots;
}
/** Retransmit periods an unanswered Accept or Bundle waits before the leader sends it again. */
export const LEADER_RESEND_PERIODS = 2;
/**
 * A leader with nothing queued or in flight, whose log has not advanced, heartbeats only every
 * this many retransmit periods once as many such periods have passed: an idle Byzantine cluster
 * sends 2 heartbeats a second, not 17. Followers use them only to learn how far the log is
 * decided (catch-up); no timer of theirs waits on them while they hold no client command.
 */
export const IDLE_HEARTBEAT_PERIODS = 8;
/** A replica sends its votes for undecided slots again every this many retransmit periods. */
export const VOTE_RESEND_PERIODS = 2;
/** Reveal requests a learner sends an acceptor for one slot before it suspects it of withholding. */
export const REVEAL_ASKS_BEFORE_SUSPICION = 2;
/** Timeouts double per failed ballot at most this many times (then backoffMaxMs caps them anyway). */
export const BACKOFF_DOUBLINGS_MAX = 16;
/** Timeouts are stretched by up to this fraction at random, so members do not time out in step. */
export const TIMEOUT_JITTER = 0.25;

// --- Witness (src/modes/byzantine/witness.ts): a byte budget per signer --------------------------------

/** Largest encoded client command: its op and signature, plus the ids and lengths before them. */
export const COMMAND_BYTES_MAX = OP_BYTES_MAX + SIGNATURE_BYTES + 32;
/** Largest signed message an honest member sends per position besides an Accept: a Verify, Accepted, Commitment, Reveal or Checkpoint. */
export const VOTE_BYTES_MAX = 256;
/** What the witness charges per entry beyond its signed bytes: key, maps, the decoded claim. */
export const WITNESS_ENTRY_OVERHEAD_BYTES = 256;
/** Ballots whose per-slot messages the budget holds: the current one and the one before it. */
export const WITNESS_ROUNDS = 2;
/** Votes an honest member signs per (ballot, slot): Verify and Accepted, or Verify, Commitment and Reveal. */
export const WITNESS_VOTES_PER_SLOT = 3;
/** Promises and NewBallots (each up to a frame) the budget holds: those of the coming rounds. */
export const WITNESS_BALLOT_FRAMES = 2;

/**
 * Bytes the witness keeps per signer: all an honest member signs in the watermark window over
 * WITNESS_ROUNDS ballots (an Accept per slot as leader, its votes, a checkpoint per slot at
 * most), plus WITNESS_BALLOT_FRAMES maximal promises or NewBallots. A flooding signer evicts
 * only its own entries, so this is also what one Byzantine member can make another hold.
 */
export function witnessSignerBytesMax(watermarkSlots: number, batchCommandsMax: number): number {
  const entry = (bytes: number) => bytes + SIGNATURE_BYTES + WITNESS_ENTRY_OVERHEAD_BYTES;
  const accept = entry(Math.min(FRAME_BYTES_MAX, batchCommandsMax * COMMAND_BYTES_MAX + VOTE_BYTES_MAX));
  const slot = accept + (WITNESS_ROUNDS * WITNESS_VOTES_PER_SLOT + 1) * entry(VOTE_BYTES_MAX);
  return watermarkSlots * slot + WITNESS_BALLOT_FRAMES * entry(FRAME_BYTES_MAX);
}

// --- A deployed member's flow trace (`start --trace-json`, src/trace/member-trace.ts) ------------

/**
 * Most records one member's trace holds: messages sent and received, decisions, the ballots it
 * came to lead, proofs. Beyond it the member records nothing more and its file says `truncated`
 * and how many messages went unrecorded. With TRACE_TEXT_CHARS_MAX, a few hundred bytes a
 * record: a full trace is tens of MB in memory and on disk.
 */
export const TRACE_RECORDS_MAX = 200_000;
/** A traced message's readable text is cut to this many characters (a batch of large values would be kilobytes). */
export const TRACE_TEXT_CHARS_MAX = 240;
