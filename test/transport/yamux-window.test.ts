// The yamux window-update override (src/transport/yamux-window.ts): the stream class's method,
// as loaded by the transport, sends an update only once half the receive window is consumed,
// or when a flag must go out; the stock method sends one after every data frame.
import { describe, expect, it } from 'vitest';
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import '../../src/transport/libp2p.ts';
import { applied } from '../../src/transport/yamux-window.ts';

const WINDOW = 256 * 1024;

function fakeStream(flags = 0) {
  const frames: { type: number; flag: number; length: number }[] = [];
  const stream = {
    state: StreamState.Established,
    recvWindow: WINDOW,
    recvWindowCapacity: WINDOW,
    maxStreamWindowSize: WINDOW,
    epochStart: 0,
    streamId: 3,
    getRTT: () => -1,
    getSendFlags: () => flags,
    sendFrame: (header: { type: number; flag: number; length: number }) => frames.push(header),
  };
  const update = (YamuxStream.prototype as unknown as { sendWindowUpdate: (this: typeof stream) => void }).sendWindowUpdate;
  return { stream, frames, consume: (bytes: number) => ((stream.recvWindowCapacity -= bytes), update.call(stream)) };
}

describe('yamux window updates', () => {
  it('the transport installs the override', () => {
    expect(applied).toBe(true);
  });

  it('no update while less than half the window is consumed; one update restoring the whole window after that', () => {
    const { frames, consume, stream } = fakeStream();
    for (let i = 0; i < 127; i++) consume(1024);
    expect(frames).toEqual([]);
    consume(1024);
    expect(frames).toEqual([{ type: 1, flag: 0, streamID: 3, length: WINDOW / 2 }]);
    expect(stream.recvWindowCapacity).toBe(WINDOW);
  });

  it('a flag (the ACK of a new stream) goes out at once, whatever was consumed', () => {
    const { frames, consume } = fakeStream(2);
    consume(10);
    expect(frames).toEqual([{ type: 1, flag: 2, streamID: 3, length: 10 }]);
  });

  it('a paused stream sends nothing', () => {
    const { frames, consume, stream } = fakeStream();
    stream.state = StreamState.Paused;
    consume(WINDOW);
    expect(frames).toEqual([]);
  });
});
