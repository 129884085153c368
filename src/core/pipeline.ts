// When a leader opens its next slot (both modes). Opening a slot for every command that arrives
// while the pipelining window has room gives one command per slot until the window fills, so
// under load each command pays a whole slot's messages, signatures and fsyncs. Instead a leader
// opens a slot at once only while fewer than `eagerSlots` of its slots are undecided (a lone
// client's command goes out immediately); beyond that, commands wait for a full batch or for an
// open slot to be decided, and then leave together. Batches thus grow with the load by
// themselves (what arrives during one slot's round trip), with no timer. The simulator opens
// every slot the window allows by default: the most pipelining, so the most interleavings for
// the checker (leader changes over many open slots, gaps, no-ops).

export interface PipelineState {
  readonly eagerSlots: number;
  /** The leader's own proposals not yet decided. */
  readonly openSlots: number;
  /** The window's room: the next slot is below firstUndecided + windowSlots (and the watermarks). */
  readonly windowHasRoom: boolean;
  /** Some command is queued; `batchFull`: the queue alone fills a batch (by count or bytes). */
  readonly queued: boolean;
  readonly batchFull: boolean;
}

export function mayOpenSlot(s: PipelineState): boolean {
  return s.queued && s.windowHasRoom && (s.openSlots < s.eagerSlots || s.batchFull);
}
