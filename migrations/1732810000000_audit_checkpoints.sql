-- Up Migration
-- Signed checkpoints of the audit chain (RFC 9162-style signed tree heads): public data.
-- The signing key lives outside the database; see docs/AUDIT.md.
CREATE TABLE audit_checkpoints (
  id         bigserial PRIMARY KEY,
  tree_size  bigint NOT NULL CHECK (tree_size >= 0),
  root_hash  text NOT NULL,
  signed_at  timestamptz NOT NULL,
  key_id     text NOT NULL,
  signature  text NOT NULL
);
CREATE INDEX audit_checkpoints_size_idx ON audit_checkpoints (tree_size);

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Down Migration
DROP TABLE audit_checkpoints;
