import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { KeyPurpose, KeysRepo } from '../db/keys.repo.ts';

/** An Ed25519 key the server signs with; persisted so tokens survive restarts and span processes. */
export interface SigningKey {
  kid: string;
  alg: 'EdDSA';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function loadOrCreateSigningKey(repo: KeysRepo, purpose: KeyPurpose): Promise<SigningKey> {
  let stored = await repo.active(purpose);
  if (!stored) {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    stored = await repo.insertIfNone(purpose, {
      kid,
      alg: 'EdDSA',
      privateJwk: await exportJWK(privateKey),
      publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' },
    });
  }
  const privateKey = (await importJWK(stored.privateJwk, 'EdDSA')) as CryptoKey;
  return { kid: stored.kid, alg: 'EdDSA', privateKey, publicJwk: stored.publicJwk };
}
