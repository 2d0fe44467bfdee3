import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { SmartBackendAuth } from '../../server/src/fhir/smart-backend.ts';

const auth = (privateKey: string, keyId: string | null = null) => new SmartBackendAuth({ baseUrl: 'http://127.0.0.1:9/fhir', clientId: 'c', privateKey, keyId, tokenUrl: null, scopes: 'system/*.rs' });

describe('SMART Backend Services signing keys', () => {
  it('RSA (PEM) signs RS384, EC P-384 (PEM or JWK) signs ES384; only public parts are published', async () => {
    const rsa = await generateKeyPair('RS384', { extractable: true });
    const ec = await generateKeyPair('ES384', { extractable: true });
    const cases = [
      [await exportPKCS8(rsa.privateKey), 'RSA', 'RS384'],
      [await exportPKCS8(ec.privateKey), 'EC', 'ES384'],
      [JSON.stringify(await exportJWK(ec.privateKey)), 'EC', 'ES384'],
    ] as const;
    for (const [material, kty, alg] of cases) {
      const { keys } = await auth(material).publicJwks();
      expect(keys).toEqual([expect.objectContaining({ kty, alg, use: 'sig', kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })]);
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(keys[0]).not.toHaveProperty(secret);
    }
    expect((await auth(cases[0][0], 'kid-1').publicJwks()).keys[0]!.kid).toBe('kid-1');
  });

  it('an unusable key or an unreachable server fails with an error, not a hang', async () => {
    await expect(auth('not a key').publicJwks()).rejects.toThrow();
    const rsa = await generateKeyPair('RS384', { extractable: true });
    await expect(auth(await exportPKCS8(rsa.privateKey)).accessToken()).rejects.toThrow();
  });
});
