// Throughput of the libp2p transport between two endpoints on loopback (TCP + noise + yamux).
// Prints, does not assert. Run: npx node experiments/transport-bench.ts
//
// Each run sends MESSAGES messages of MESSAGE_BYTES bytes from a to b, `perTurn` messages per
// event-loop turn (the transport coalesces one turn's messages for a peer into one write), with
// at most WINDOW messages sent and not yet delivered. Then one ping-pong run measures round trips.
import { createServer } from 'node:net';
import { keyPairFromSeed } from '../crypto/ed25519.ts';
import { createLibp2pTransport, type Libp2pTransport } from '../src/transport/libp2p.ts';

const MESSAGES = 20_000;
const MESSAGE_BYTES = 200;
const WINDOW = 2_000;
const PING_PONGS = 2_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const keyA = keyPairFromSeed(new Uint8Array(32).fill(0xa1));
const keyB = keyPairFromSeed(new Uint8Array(32).fill(0xb2));
const [portA, portB] = [await freePort(), await freePort()];
let receivedB = 0;
let onB: (message: Uint8Array) => void = () => {
  receivedB += 1;
};
let onA: (message: Uint8Array) => void = () => {};

const a: Libp2pTransport = await createLibp2pTransport({
  secretKey: keyA.secretKey,
  listen: [`/ip4/127.0.0.1/tcp/${portA}`],
  peers: new Map([['b', { publicKey: keyB.publicKey, addrs: [`/ip4/127.0.0.1/tcp/${portB}`] }]]),
  onMessage: (_from, m) => onA(m),
});
const b: Libp2pTransport = await createLibp2pTransport({
  secretKey: keyB.secretKey,
  listen: [`/ip4/127.0.0.1/tcp/${portB}`],
  peers: new Map([['a', { publicKey: keyA.publicKey, addrs: [`/ip4/127.0.0.1/tcp/${portA}`] }]]),
  onMessage: (_from, m) => onB(m),
});

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const payload = new Uint8Array(MESSAGE_BYTES).fill(7);

// Warm up: connect.
a.send('b', payload);
while (receivedB < 1) await turn();

console.log(`${MESSAGES} messages of ${MESSAGE_BYTES} B, a -> b, window ${WINDOW}`);
console.log('per turn | messages/s | MB/s  | writes | drops');
for (const perTurn of [1, 10, 100, 1000]) {
  receivedB = 0;
  const writesBefore = a.stats.peers['b']!.writes;
  const started = performance.now();
  let sent = 0;
  const deadline = Date.now() + 30_000;
  while (receivedB < MESSAGES && Date.now() < deadline) {
    for (let k = 0; k < perTurn && sent < MESSAGES && sent - receivedB < WINDOW; k += 1) {
      if (a.send('b', payload)) sent += 1;
    }
    await turn();
  }
  const seconds = (performance.now() - started) / 1000;
  const writes = a.stats.peers['b']!.writes - writesBefore;
  const drops = Object.values(a.stats.drops).reduce((x, y) => x + y, 0);
  const rate = receivedB / seconds;
  console.log(
    `${String(perTurn).padStart(8)} | ${rate.toFixed(0).padStart(10)} | ${((rate * MESSAGE_BYTES) / 1e6).toFixed(1).padStart(5)} | ${String(writes).padStart(6)} | ${drops}`,
  );
}

// Ping-pong: one message in flight at a time.
let pongs = 0;
onB = (m) => b.send('a', m);
const done = new Promise<void>((resolve) => {
  onA = (m) => {
    pongs += 1;
    if (pongs === PING_PONGS) resolve();
    else a.send('b', m);
  };
});
const pingStarted = performance.now();
a.send('b', payload);
await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
const pingSeconds = (performance.now() - pingStarted) / 1000;
console.log(`ping-pong: ${pongs} round trips, ${((pingSeconds / pongs) * 1000).toFixed(3)} ms each`);

await Promise.all([a.stop(), b.stop()]);
