// One socket write per flush, not one per buffer. Noise 17 encrypts a chunk into a list of two
// buffers, its 2-byte length prefix and the ciphertext, and @libp2p/tcp 11 writes each buffer of
// the list with its own socket.write: every frame costs two write syscalls and, with TCP_NODELAY,
// two segments the peer reads and wakes up for separately. On loopback a write runs the receiver's
// TCP path too; socket writes were 12-27 % of a Byzantine member's busy time at C = 1.
//
// The send queue of every multiaddr connection (the TCP socket's, below noise) is processed with
// the socket corked, so Node hands everything it wrote to the kernel in one writev when uncorked,
// before processSendQueue returns: the same bytes in the same order, no delay. The packages export
// the base class but not the TCP one, so the method is replaced on the base class's prototype,
// once, when the transport module loads. `applied` lets a test prove the override is in force.
import { AbstractMessageStream, AbstractMultiaddrConnection } from '@libp2p/utils';

/** The part of net.Socket the override uses; a connection over anything else has none. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/** The method, protected in the packages' types. */
interface SendQueue {
  processSendQueue(this: unknown): boolean;
}

const processSendQueue = (AbstractMessageStream.prototype as unknown as SendQueue).processSendQueue;
const target = AbstractMultiaddrConnection.prototype as unknown as SendQueue;

function corkedProcessSendQueue(this: { readonly socket?: Partial<Corkable> }): boolean {
  const socket = this.socket;
  if (typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function') return processSendQueue.call(this);
  socket.cork();
  try {
    return processSendQueue.call(this);
  } finally {
    socket.uncork();
  }
}

target.processSendQueue = corkedProcessSendQueue;

export const applied = target.processSendQueue === corkedProcessSendQueue;
