import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The checkpoint signing key: Ed25519, kept in a file outside the database so
 * that whoever can write the audit tables still cannot sign a checkpoint.
 * Key id: SHA-256 (hex) of the DER SubjectPublicKeyInfo, as in RFC 9162's log ID.
 */
export interface CheckpointPublicKey {
  keyId: string;
  publicKey: KeyObject;
  /** SPKI PEM, what auditors pin. */
  publicKeyPem: string;
}

export interface CheckpointKey extends CheckpointPublicKey {
  privateKey: KeyObject;
}

export function toPublicKey(publicKey: KeyObject): CheckpointPublicKey {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`checkpoint keys must be Ed25519 (got ${publicKey.asymmetricKeyType ?? 'a symmetric key'})`);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return {
    keyId: createHash('sha256').update(der).digest('hex'),
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * Load the private key from `file`; with `create`, make it first when missing
 * (mode 600, exclusive create so concurrent starts agree on one key).
 * `notice` hears about a key file others may read.
 */
export function loadCheckpointKey(file: string, opts: { create: boolean; notice?: (message: string) => void }): CheckpointKey {
  if (!existsSync(file)) {
    if (!opts.create) throw new Error(`audit checkpoint key file ${file} does not exist (create one: openssl genpkey -algorithm ed25519 -out ${file} && chmod 600 ${file})`);
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    try {
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0) opts.notice?.(`audit checkpoint key file ${file} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  const privateKey = createPrivateKey(readFileSync(file));
  return { ...toPublicKey(createPublicKey(privateKey)), privateKey };
}

/** Every PEM public key in a file (retired keys that still verify old checkpoints). */
export function loadPublicKeys(file: string): CheckpointPublicKey[] {
  const text = readFileSync(file, 'utf8');
  const pems = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  if (pems.length === 0) throw new Error(`${file} holds no PEM public key`);
  return pems.map((pem) => toPublicKey(createPublicKey(pem)));
}
