// One-line, human-readable renderings of messages, for traces and the demo.
import { formatBallot } from '../base/ballot.ts';
import { isNoop, type Batch } from '../base/types.ts';
import { decodeMessage } from './codec.ts';
import type { Message, WireMessage } from './types.ts';
import { toHex } from '../../crypto/digest.ts';

export type OpFormatter = (op: Uint8Array) => string;

const hexOp: OpFormatter = (op) => `0x${toHex(op.subarray(0, 8))}${op.length > 8 ? '…' : ''}`;

export function formatBatch(batch: Batch, formatOp: OpFormatter = hexOp): string {
  if (isNoop(batch)) return 'no-op';
  const shown = batch.commands.slice(0, 3).map((c) => `c${c.clientId}#${c.seq} ${formatOp(c.op)}`);
  const more = batch.commands.length > 3 ? ` +${batch.commands.length - 3}` : '';
  return `[${shown.join('; ')}${more}]`;
}

export function formatMessage(msg: Message, formatOp: OpFormatter = hexOp): string {
  switch (msg.type) {
    case 'prepare':
      return `Prepare b=${formatBallot(msg.ballot)} from=${msg.fromSlot}`;
    case 'promise': {
      const pvs = msg.accepted.map((pv) => `s${pv.slot}@${formatBallot(pv.ballot)}`).join(',');
      return `Promise b=${formatBallot(msg.ballot)} accepted={${pvs}}${msg.truncated ? ' truncated' : ''} decided<${msg.decidedUpTo}`;
    }
    case 'accept':
      return `Accept b=${formatBallot(msg.ballot)} s=${msg.slot} ${formatBatch(msg.batch, formatOp)}`;
    case 'accepted':
      return `Accepted b=${formatBallot(msg.ballot)} s=${msg.slot} d=${toHex(msg.digest).slice(0, 8)}`;
    case 'nack':
      return `Nack b=${formatBallot(msg.ballot)} promised=${formatBallot(msg.promised)}`;
    case 'heartbeat':
      return `Heartbeat b=${formatBallot(msg.ballot)} decided<${msg.decidedUpTo}`;
    case 'catchup-request':
      return `CatchupRequest from=${msg.fromSlot}`;
    case 'catchup-reply':
      return `CatchupReply slots=[${msg.entries.map((e) => e.slot).join(',')}] decided<${msg.decidedUpTo}`;
    case 'signed': {
      let inner: string;
      try {
        inner = formatMessage(decodeMessage(msg.payload), formatOp);
      } catch {
        inner = `<${msg.payload.length} undecodable bytes>`;
      }
      return `${inner} [signed n${msg.signer}]`;
    }
    case 'verify':
      return `Verify b=${formatBallot(msg.ballot)} s=${msg.slot} d=${toHex(msg.digest).slice(0, 8)}`;
    case 'certified-promise':
      return `CertifiedPromise b=${formatBallot(msg.ballot)} checkpoint=${msg.checkpoint?.slot ?? '-'} prepared={${msg.prepared.map((p) => `s${p.slot}@${formatBallot(p.ballot)}`).join(',')}}`;
    case 'new-ballot':
      return `NewBallot b=${formatBallot(msg.ballot)} promises=${msg.promises.map((e) => `n${e.signer}`).join(',')}`;
    case 'checkpoint':
      return `Checkpoint s<${msg.slot} state=${toHex(msg.stateDigest).slice(0, 8)}`;
    case 'certified-catchup-reply':
      return `CertifiedCatchupReply slots=[${msg.entries.map((e) => e.slot).join(',')}] decided<${msg.decidedUpTo}`;
    case 'state-manifest':
      return `StateManifest s<${msg.checkpoint.slot} parts=${msg.digests.length}`;
    case 'state-request':
      return `StateRequest s<${msg.slot} parts=${msg.parts.length} from ${msg.parts[0] ?? '-'}`;
    case 'state-parts':
      return `StateParts s<${msg.slot} parts=${msg.parts.length} (${msg.parts.reduce((sum, p) => sum + p.bytes.length, 0)} bytes)`;
    case 'commitment':
      return `Commitment b=${formatBallot(msg.ballot)} s=${msg.slot} C=${toHex(msg.commitment).slice(0, 8)}`;
    case 'reveal':
      return `Reveal b=${formatBallot(msg.ballot)} s=${msg.slot} d=${toHex(msg.digest).slice(0, 8)} key=${toHex(msg.key).slice(0, 8)}`;
    case 'bundle':
      return `Bundle b=${formatBallot(msg.ballot)} s=${msg.slot} ${formatBatch(msg.batch, formatOp)} commitments=${msg.commitments.map((e) => `n${e.signer}`).join(',')}`;
    case 'reveal-request':
      return `RevealRequest b=${formatBallot(msg.ballot)} s=${msg.slot}`;
    case 'evidence-query':
      return `EvidenceQuery b=${formatBallot(msg.ballot)} s=${msg.slot}${msg.checkpoint ? ' checkpoint' : ''}`;
    case 'evidence-share':
      return `EvidenceShare ${msg.envelopes.map((e) => `n${e.signer}`).join(',')}`;
    case 'suspect':
      return `Suspect b=${formatBallot(msg.ballot)}`;
    case 'request':
      return `Request c${msg.command.clientId}#${msg.command.seq} ${formatOp(msg.command.op)}`;
    case 'reply':
      return `Reply c${msg.clientId}#${msg.seq} ${msg.status}${msg.status === 'redirect' ? ` leader=${msg.leaderHint < 0 ? '?' : `n${msg.leaderHint}`}` : ''}`;
  }
}

/** formatMessage, and the status exchange a client has with one member (`byzpaxos status`). */
export function formatWireMessage(msg: WireMessage, formatOp: OpFormatter = hexOp): string {
  switch (msg.type) {
    case 'status-request':
      return `StatusRequest nonce=${msg.nonce}`;
    case 'status-reply':
      return `StatusReply n${msg.node} b=${formatBallot(msg.ballot)}${msg.isLeader ? ' leader' : ''} decided<${msg.decidedUpTo}`;
    default:
      return formatMessage(msg, formatOp);
  }
}
