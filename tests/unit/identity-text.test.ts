import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createIdentityVerifier, localKeys } from '../../server/src/auth/identity.ts';
import { isSafeText } from '../../shared/src/text.ts';

/** Claims from the identity provider obey the text rule before they reach the database or a ticket. */
describe('identity claims and the text rule', () => {
  it('drops a hostile name or scope, and never cuts a name inside a surrogate pair', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' };
    const verifier = createIdentityVerifier({ issuer: 'https://idp', audience: 'consilium', keys: localKeys({ keys: [jwk] }) });
    const token = (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer('https://idp').setAudience('consilium').setSubject('dr.x').setIssuedAt().setExpirationTime('5m').sign(privateKey);

    const hostile = await verifier.verify(await token({ name: 'Dr\u0000 X', scope: 'consilium:admin patient/*.rs\u0085 patient/Observation.rs' }));
    expect(hostile.name).toBe('dr.x');
    expect([...hostile.scopes].sort()).toEqual(['consilium:admin', 'patient/Observation.rs']);

    const emoji = await verifier.verify(await token({ name: 'a'.repeat(119) + '🫀🫀' }));
    expect(isSafeText(emoji.name)).toBe(true);
    expect(emoji.name).toBe('a'.repeat(119) + '🫀');
  });
});
