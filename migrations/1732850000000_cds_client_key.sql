-- Up Migration
-- Consilium's key as a CDS Hooks client: it signs the JWT on every call to a decision-support service
-- (ES384; the public key is published at /.well-known/cds-client-jwks.json).
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_purpose_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_purpose_check CHECK (purpose IN ('ticket', 'dev-idp', 'cds-client'));

-- Down Migration
DELETE FROM signing_keys WHERE purpose = 'cds-client';
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_purpose_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_purpose_check CHECK (purpose IN ('ticket', 'dev-idp'));
