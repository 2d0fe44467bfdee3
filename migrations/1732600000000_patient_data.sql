-- Up Migration
-- A case is one patient's FHIR data. date_shift_days and pseudonym_key serve the
-- de-identified view and never leave the server.
CREATE TABLE cases (
  id              uuid PRIMARY KEY,
  patient_id      uuid NOT NULL,
  date_shift_days integer NOT NULL,
  pseudonym_key   text NOT NULL,
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz
);

CREATE TABLE case_resources (
  case_id       uuid NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
  resource_type text NOT NULL,
  resource_id   uuid NOT NULL,
  resource      jsonb NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, resource_type, resource_id)
);

-- An annotation carries its author's access (scope string; '' = visible to all);
-- a model may show a case resource ('' = none).
ALTER TABLE scene_objects ADD COLUMN author_scope text NOT NULL DEFAULT '';
ALTER TABLE scene_objects ADD COLUMN resource_ref text NOT NULL DEFAULT '';

-- NULL scopes: the role's defaults from the policy module.
ALTER TABLE room_participants ADD COLUMN scopes text[];

-- Tickets issued to this user for this room at or before revoked_at are refused.
CREATE TABLE ticket_revocations (
  room_id    uuid NOT NULL,
  user_id    text NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, user_id)
);

-- Append-only, hash-chained audit trail (HIPAA 164.312(b)). Never holds PHI.
CREATE TABLE audit_log (
  seq       bigint PRIMARY KEY,
  at        timestamptz NOT NULL,
  actor     text NOT NULL,
  action    text NOT NULL,
  outcome   text NOT NULL,
  room_id   uuid,
  case_id   uuid,
  patient_id uuid,
  subject   text,
  details   jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash      text NOT NULL
);
CREATE INDEX audit_log_room_idx ON audit_log (room_id, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, seq);
CREATE INDEX audit_log_subject_idx ON audit_log (subject, seq);
CREATE INDEX audit_log_patient_idx ON audit_log (patient_id, seq);
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Down Migration
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE ticket_revocations;
ALTER TABLE room_participants DROP COLUMN scopes;
ALTER TABLE scene_objects DROP COLUMN resource_ref;
ALTER TABLE scene_objects DROP COLUMN author_scope;
DROP TABLE case_resources;
DROP TABLE cases;
