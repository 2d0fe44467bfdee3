import type { JWK } from 'jose';
import type { Pool } from './pool.ts';

export type KeyPurpose = 'ticket' | 'dev-idp' | 'cds-client';

export interface StoredKey {
  kid: string;
  alg: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export class KeysRepo {
  constructor(private readonly pool: Pool) {}

  async active(purpose: KeyPurpose): Promise<StoredKey | null> {
    const { rows } = await this.pool.query<{ kid: string; alg: string; private_jwk: JWK; public_jwk: JWK }>(
      `SELECT kid, alg, private_jwk, public_jwk FROM signing_keys WHERE purpose = $1 AND retired_at IS NULL`,
      [purpose],
    );
    const row = rows[0];
    return row ? { kid: row.kid, alg: row.alg, privateJwk: row.private_jwk, publicJwk: row.public_jwk } : null;
  }

  /** Insert unless another process won the race; returns the key that is active afterwards. */
  async insertIfNone(purpose: KeyPurpose, key: StoredKey): Promise<StoredKey> {
    await this.pool.query(
      `INSERT INTO signing_keys (kid, purpose, alg, private_jwk, public_jwk) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [key.kid, purpose, key.alg, key.privateJwk, key.publicJwk],
    );
    return (await this.active(purpose))!;
  }
}
