// The corked send queue (src/transport/tcp-writes.ts): a multiaddr connection over a real socket
// whose sendData writes each buffer of a list separately, as @libp2p/tcp's does, hands a
// two-buffer chunk (noise's length prefix and ciphertext) to the kernel in one writev, the bytes
// unchanged and in order; the stock method makes one write per buffer.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { AbstractMessageStream, AbstractMultiaddrConnection } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import '../../src/transport/libp2p.ts';
import { applied } from '../../src/transport/tcp-writes.ts';

/** The Uint8ArrayList the package itself uses (its version, not necessarily the hoisted one). */
type List = Parameters<AbstractMultiaddrConnection['sendData']>[0];
/** A list of two buffers, made with the package's own class. */
const twoBuffers = (c: SocketConnection, a: Uint8Array, b: Uint8Array): List => {
  const list = new ((c as unknown as { writeBuffer: List }).writeBuffer.constructor as new () => List)();
  list.append(a);
  list.append(b);
  return list;
};

const quiet = Object.assign(() => {}, { trace: () => {}, error: () => {}, enabled: false });

/** @libp2p/tcp's connection, reduced to its sendData. */
class SocketConnection extends AbstractMultiaddrConnection {
  readonly socket: Socket;
  constructor(socket: Socket) {
    super({ log: quiet as never, remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/1'), direction: 'outbound' });
    this.socket = socket;
  }
  sendData(data: List) {
    let canSendMore = true;
    for (const buf of data) canSendMore = this.socket.write(buf);
    return { sentBytes: data.byteLength, canSendMore };
  }
  sendReset(): void {}
  sendPause(): void {}
  sendResume(): void {}
  async sendClose(): Promise<void> {}
}

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  server?.close();
});

/** A connected socket pair on 127.0.0.1; `calls` counts the socket's write calls into the kernel (_write, _writev). */
async function pair() {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  server!.listen(0, '127.0.0.1');
  await once(server!, 'listening');
  const { port } = server!.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const peer = await accepted;
  sockets.push(client, peer);
  const calls: number[] = [];
  const raw = client as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const write = raw._write.bind(client);
  const writev = raw._writev.bind(client);
  raw._write = (...a) => (calls.push(1), write(...a));
  raw._writev = (chunks, cb) => (calls.push(chunks.length), writev(chunks, cb));
  const received: Buffer[] = [];
  peer.on('data', (b: Buffer) => received.push(b));
  return { connection: new SocketConnection(client), calls, received: () => Buffer.concat(received) };
}

const prefix = Uint8Array.of(0, 5);
const body = Uint8Array.of(1, 2, 3, 4, 5);

describe('tcp writes', () => {
  it('the transport installs the override', () => {
    expect(applied).toBe(true);
  });

  it('a chunk of two buffers goes to the kernel in one writev, bytes in order', async () => {
    const { connection, calls, received } = await pair();
    connection.send(twoBuffers(connection, prefix, body));
    expect(calls).toEqual([2]);
    await expect.poll(() => received().length).toBe(7);
    expect([...received()]).toEqual([0, 5, 1, 2, 3, 4, 5]);
  });

  it('the stock method writes each buffer on its own (what the override removes)', async () => {
    const { connection, calls, received } = await pair();
    const stock = (AbstractMessageStream.prototype as unknown as { processSendQueue(this: unknown): boolean }).processSendQueue;
    (connection as unknown as { writeBuffer: List }).writeBuffer.append(twoBuffers(connection, prefix, body));
    stock.call(connection);
    expect(calls).toEqual([1, 1]);
    await expect.poll(() => received().length).toBe(7);
  });
});
