// The simulator's flow recorder: what `sim --trace-json` writes and `sim --html` draws (the
// format is src/trace/flow-trace.ts). The simulator feeds it as the run happens; it only
// observes, so a run with it has the same trace hash as one without.
import type { NodeId } from '../base/types.ts';
import type { Evidence } from '../messages/evidence.ts';
import { formatMessage, type OpFormatter } from '../messages/format.ts';
import type { Message } from '../messages/types.ts';
import {
  FLOW_TRACE_VERSION,
  flowEvidence,
  labelMessage,
  roundMs,
  type FlowDecision,
  type FlowEvent,
  type FlowEvidence,
  type FlowMessage,
  type FlowTrace,
  type MessageFate,
} from '../trace/flow-trace.ts';

export class FlowRecorder {
  private readonly messages: FlowMessage[] = [];
  private readonly events: FlowEvent[] = [];
  private readonly decisions: FlowDecision[] = [];
  private readonly evidence: FlowEvidence[] = [];

  private readonly formatOp: OpFormatter;

  constructor(formatOp: OpFormatter) {
    this.formatOp = formatOp;
  }

  /** Records a send; returns its id for `arrived` (a message in flight until then). */
  sent(atMs: number, from: number, to: number, msg: Message, fate: MessageFate, duplicate = false): number {
    const id = this.messages.length;
    this.messages.push({
      id,
      from,
      to,
      ...labelMessage(msg),
      sentMs: roundMs(atMs),
      deliveredMs: null,
      fate,
      duplicate,
      recordedBy: 'both',
      text: formatMessage(msg, this.formatOp),
    });
    return id;
  }

  arrived(id: number, atMs: number, fate: 'delivered' | 'lost'): void {
    const message = this.messages[id]!;
    message.fate = fate;
    message.deliveredMs = fate === 'delivered' ? roundMs(atMs) : null;
  }

  event(event: FlowEvent): void {
    this.events.push({ ...event, atMs: roundMs(event.atMs) });
  }

  decided(atMs: number, node: NodeId, slot: number, commands: number): void {
    this.decisions.push({ atMs: roundMs(atMs), node, slot, commands });
  }

  proved(atMs: number, reporter: NodeId, culprit: NodeId, evidence: Evidence): void {
    this.evidence.push(flowEvidence(this.evidence.length, atMs, reporter, culprit, evidence, this.formatOp));
  }

  finish(run: { mode: string; seed: number; n: number; f: number; endMs: number; byzantine: ReadonlyMap<NodeId, { name: string }> }): FlowTrace {
    return {
      version: FLOW_TRACE_VERSION,
      source: 'sim',
      mode: run.mode,
      seed: run.seed,
      cluster: null,
      epochMs: null,
      n: run.n,
      f: run.f,
      nodes: [...Array(run.n).keys()].map((id) => ({ id, byzantine: run.byzantine.get(id)?.name ?? null })),
      endMs: roundMs(run.endMs),
      unrecorded: 0,
      messages: this.messages,
      events: this.events,
      decisions: this.decisions,
      evidence: this.evidence,
    };
  }
}
