// A node's libp2p identity IS its ed25519 consensus key: the libp2p private key is built from the
// same 32-byte RFC 8032 seed (crypto/ed25519.ts keyPairFromSeed), so the PeerId is a pure
// function of the member's public key. After the noise handshake, the remote PeerId proves which
// configured member or client holds the other end.
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { PUBLIC_KEY_BYTES, SECRET_KEY_BYTES } from '../../crypto/ed25519.ts';

/** The libp2p private key of the endpoint whose ed25519 seed is `secretKey`. */
export async function libp2pPrivateKey(secretKey: Uint8Array): Promise<Ed25519PrivateKey> {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    throw new RangeError(`libp2pPrivateKey: secretKey must be a ${SECRET_KEY_BYTES}-byte ed25519 seed`);
  }
  return generateKeyPairFromSeed('Ed25519', secretKey);
}

/** The PeerId (base58btc string, "12D3KooW…") of the endpoint with this ed25519 public key. */
export function peerIdOf(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new RangeError(`peerIdOf: publicKey must be ${PUBLIC_KEY_BYTES} bytes`);
  }
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString();
}
