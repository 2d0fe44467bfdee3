import { createHmac } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { KeyPurpose, KeysRepo } from '../db/keys.repo.ts';

/**
 * A key the server signs with; persisted so tokens survive restarts and span
 * processes. Ed25519 for our own tokens; ES384 where a standard asks for it
 * (CDS Hooks and SMART clients verify ES384 or RS384).
 */
export interface SigningKey<A extends SigningAlg = 'EdDSA'> {
  kid: string;
  alg: A;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /**
   * A secret for one named purpose, derived from the private key (HMAC-SHA256
   * of the label under the private scalar): as stable and as secret as the key
   * itself, with nothing more to store; different labels give unrelated secrets.
   */
  derive: (label: string) => Buffer;
}
export type SigningAlg = 'EdDSA' | 'ES384';

export async function loadOrCreateSigningKey(repo: KeysRepo, purpose: KeyPurpose): Promise<SigningKey>;
export async function loadOrCreateSigningKey<A extends SigningAlg>(repo: KeysRepo, purpose: KeyPurpose, alg: A): Promise<SigningKey<A>>;
export async function loadOrCreateSigningKey(repo: KeysRepo, purpose: KeyPurpose, alg: SigningAlg = 'EdDSA'): Promise<SigningKey<SigningAlg>> {
  let stored = await repo.active(purpose);
  if (!stored) {
    const { privateKey, publicKey } = alg === 'EdDSA' ? await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true }) : await generateKeyPair('ES384', { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    stored = await repo.insertIfNone(purpose, {
      kid,
      alg,
      privateJwk: await exportJWK(privateKey),
      publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
    });
  }
  const privateKey = (await importJWK(stored.privateJwk, stored.alg)) as CryptoKey;
  const d = stored.privateJwk.d;
  if (typeof d !== 'string' || d.length === 0) throw new Error(`the stored ${purpose} key has no private scalar`);
  const derive = (label: string) => createHmac('sha256', Buffer.from(d, 'base64url')).update(`consilium-derived-secret:${label}`).digest();
  return { kid: stored.kid, alg: stored.alg as SigningAlg, privateKey, publicJwk: stored.publicJwk, derive };
}
