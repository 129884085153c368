// Signing and checking, as the Byzantine core sees it: seal an inner message into a signed
// envelope, open (verify + strictly decode) an envelope, check a client's command signature.
// Every signature is domain-separated by the cluster id and the inner message type.
import { clusterIdOf, type ClusterConfig } from './cluster.ts';
import type { ClientId, Command, NodeId } from '../../base/types.ts';
import { CodecError, decodeMessage, encodeMessage } from '../../messages/codec.ts';
import type { PeerMessage, SignedEnvelope } from '../../messages/types.ts';
import type { SignatureBackend } from '../../../crypto/ed25519.ts';
import { signMessage, verifyMessage } from '../../../crypto/envelope.ts';

/** Inner messages that may travel signed between nodes. */
export type SignedPayload = Exclude<PeerMessage, SignedEnvelope>;

export interface AuthStats {
  signs: number;
  verifies: number;
}

const COMMAND_TYPE = 'command';
const NO_SIGNATURE = new Uint8Array(0);

/** The bytes a client signs: the canonical encoding of its command with the signature left empty. */
export function commandSignBytes(command: Omit<Command, 'signature'>): Uint8Array {
  return encodeMessage({ type: 'request', command: { ...command, signature: NO_SIGNATURE } });
}

export function signCommand(
  backend: SignatureBackend,
  secretKey: Uint8Array,
  clusterId: Uint8Array,
  command: Omit<Command, 'signature'>,
  /** The client's public key, if known: a cached verifier then remembers the signature as valid. */
  publicKey?: Uint8Array,
): Uint8Array {
  return signMessage(backend, secretKey, clusterId, COMMAND_TYPE, commandSignBytes(command), publicKey);
}

/**
 * Checks what members and clients signed; holds no secret and signs nothing (evidence
 * verification, the simulator's checker). Authenticator adds a member's key.
 */
export class Verifier {
  readonly clusterId: Uint8Array;
  readonly stats: AuthStats = { signs: 0, verifies: 0 };
  protected readonly backend: SignatureBackend;
  protected readonly memberKeys: readonly Uint8Array[];
  private readonly clientKeys: ReadonlyMap<ClientId, Uint8Array>;

  constructor(cluster: ClusterConfig, backend: SignatureBackend) {
    this.clusterId = clusterIdOf(cluster);
    this.backend = backend;
    this.memberKeys = cluster.members.map((m) => m.publicKey);
    this.clientKeys = new Map(cluster.clients.map((c) => [c.id, c.publicKey]));
  }

  /**
   * The inner message if the envelope is well-formed and its signer really signed it, else null.
   * The one rule for every envelope, whoever it claims to be from and however it arrived.
   */
  open(envelope: SignedEnvelope): SignedPayload | null {
    const inner = decodeInner(envelope.payload);
    const key = this.memberKeys[envelope.signer];
    if (inner === null || key === undefined) return null;
    this.stats.verifies++;
    return verifyMessage(this.backend, key, this.clusterId, inner.type, envelope.payload, envelope.signature) ? inner : null;
  }

  verifyCommand(command: Command): boolean {
    const key = this.clientKeys.get(command.clientId);
    if (key === undefined) return false;
    this.stats.verifies++;
    return verifyMessage(this.backend, key, this.clusterId, COMMAND_TYPE, commandSignBytes(command), command.signature);
  }
}

/** A member's signing and checking: seals with its own key, opens anyone's envelope. */
export class Authenticator extends Verifier {
  readonly id: NodeId;
  private readonly secretKey: Uint8Array;
  /**
   * Envelopes this process sealed: signature object -> payload object. Only these exact objects
   * are trusted unchecked; anything else claiming to be ours (relayed back inside a NewBallot,
   * certificate, bundle or share) is verified like any peer's, or a peer could forge us to us.
   */
  private readonly sealed = new WeakMap<Uint8Array, Uint8Array>();

  constructor(cluster: ClusterConfig, id: NodeId, secretKey: Uint8Array, backend: SignatureBackend) {
    super(cluster, backend);
    this.id = id;
    this.secretKey = secretKey;
  }

  seal(msg: SignedPayload): SignedEnvelope {
    const payload = encodeMessage(msg);
    this.stats.signs++;
    const signature = signMessage(this.backend, this.secretKey, this.clusterId, msg.type, payload, this.memberKeys[this.id]);
    this.sealed.set(signature, payload);
    return { type: 'signed', signer: this.id, payload, signature };
  }

  /** Verifier's rule, except for the very envelope this process sealed: that needs no check. */
  override open(envelope: SignedEnvelope): SignedPayload | null {
    if (envelope.signer === this.id && this.sealed.get(envelope.signature) === envelope.payload) return decodeInner(envelope.payload);
    return super.open(envelope);
  }

  /** `open`, for an envelope that must be this node's own (what an adversary wrapper emits). */
  openOwn(envelope: SignedEnvelope): SignedPayload | null {
    return envelope.signer === this.id ? this.open(envelope) : null;
  }
}

function decodeInner(payload: Uint8Array): SignedPayload | null {
  let inner;
  try {
    inner = decodeMessage(payload);
  } catch (e) {
    if (e instanceof CodecError) return null;
    throw e;
  }
  // Envelopes do not nest at the top level, and client traffic is never node-signed.
  if (inner.type === 'signed' || inner.type === 'request' || inner.type === 'reply') return null;
  return inner;
}
