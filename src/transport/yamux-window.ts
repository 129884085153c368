// Yamux window updates the way go-yamux and rust-yamux send them: only once half of a stream's
// receive window is consumed (or a flag must go out). js-libp2p-yamux 8 sends one after every
// data frame it receives, so every message we send costs the peer a second frame back — one more
// noise encryption, socket write, decryption and parse on each side — for no flow-control gain:
// our frames are a few KiB against a window of 256 KiB and more.
//
// The package exports its stream class but no option for this, so the one method is replaced on
// its prototype, once, when the transport module loads. The window arithmetic is the package's:
// the same growth rule (double within 4 RTTs), the same delta, the same frame; only the
// "nothing to send yet" test differs. `applied` lets a test prove the override is in force.
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

/** Frame type 0x1 of the yamux spec (hashicorp/yamux spec.md): the package does not export its enum. */
const WINDOW_UPDATE = 1;

/** The fields of YamuxStream the method reads and writes (declared private in its types). */
interface WindowFields {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
  maxStreamWindowSize: number;
  epochStart: number;
  streamId: number;
  getRTT(): number;
  getSendFlags(): number;
  sendFrame(header: { type: number; flag: number; streamID: number; length: number }): void;
}

function sendWindowUpdate(this: WindowFields): void {
  if (this.state === StreamState.Paused) {
    this.epochStart = Date.now();
    return;
  }
  const flags = this.getSendFlags();
  const now = Date.now();
  const rtt = this.getRTT();
  if (flags === 0 && rtt > -1 && now - this.epochStart <= rtt * 4) {
    this.recvWindow = Math.min(this.recvWindow * 2, this.maxStreamWindowSize);
  }
  const delta = this.recvWindow - this.recvWindowCapacity;
  // The peer still holds at least half a window of credit: it is not held up by waiting.
  if (flags === 0 && delta < this.recvWindow / 2) return;
  this.recvWindowCapacity = this.recvWindow;
  this.epochStart = now;
  this.sendFrame({ type: WINDOW_UPDATE, flag: flags, streamID: this.streamId, length: delta });
}

(YamuxStream.prototype as unknown as { sendWindowUpdate: () => void }).sendWindowUpdate = sendWindowUpdate;

export const applied = (YamuxStream.prototype as unknown as { sendWindowUpdate: unknown }).sendWindowUpdate === sendWindowUpdate;
