-- Up Migration
-- A case's imaging revision: bumped by every write that changes what its images are or who may see them
-- (uploaded instances, clean marks, attached studies, the case's Patient and ImagingStudy resources). The
-- frame route reads it with the case on every request and keeps each series' instance list, patient check
-- and burned-in decision only while it is unchanged, so an upload or a mark on any process shows at once.
-- Statement-level triggers: a zip of thousands of instances bumps it once. (Saving a frame index into an
-- instance row, an UPDATE, changes nothing a reader sees: it does not bump it.)
ALTER TABLE cases ADD COLUMN imaging_rev bigint NOT NULL DEFAULT 0;

CREATE FUNCTION bump_case_imaging_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cases SET imaging_rev = imaging_rev + 1 WHERE id IN (SELECT DISTINCT case_id FROM changed);
  RETURN NULL;
END $$;

CREATE FUNCTION bump_case_imaging_rev_resources() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cases SET imaging_rev = imaging_rev + 1 WHERE id IN (SELECT DISTINCT case_id FROM changed WHERE resource_type IN ('Patient', 'ImagingStudy'));
  RETURN NULL;
END $$;

CREATE TRIGGER imaging_instances_rev_ins AFTER INSERT ON imaging_instances REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_case_imaging_rev();
CREATE TRIGGER imaging_instances_rev_del AFTER DELETE ON imaging_instances REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_case_imaging_rev();
CREATE TRIGGER imaging_instance_clean_rev_ins AFTER INSERT ON imaging_instance_clean REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_case_imaging_rev();
CREATE TRIGGER imaging_instance_clean_rev_del AFTER DELETE ON imaging_instance_clean REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_case_imaging_rev();
CREATE TRIGGER case_imaging_studies_rev_ins AFTER INSERT ON case_imaging_studies REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_case_imaging_rev();
CREATE TRIGGER case_imaging_studies_rev_del AFTER DELETE ON case_imaging_studies REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_case_imaging_rev();
CREATE TRIGGER case_resources_rev_ins AFTER INSERT ON case_resources REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_case_imaging_rev_resources();
CREATE TRIGGER case_resources_rev_upd AFTER UPDATE ON case_resources REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_case_imaging_rev_resources();
CREATE TRIGGER case_resources_rev_del AFTER DELETE ON case_resources REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_case_imaging_rev_resources();

-- Uploaded files a deleted case's purge must remove (their rows are gone, no other case names them): queued in
-- the purge's transaction, removed after it commits, then dequeued; a crash in between leaves them here for the
-- next retention run (LocalImagingStore.sweep), which removes only files this database queued.
CREATE TABLE imaging_file_purges (
  sha256    text PRIMARY KEY,
  queued_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE imaging_file_purges;
DROP TRIGGER case_resources_rev_del ON case_resources;
DROP TRIGGER case_resources_rev_upd ON case_resources;
DROP TRIGGER case_resources_rev_ins ON case_resources;
DROP TRIGGER case_imaging_studies_rev_del ON case_imaging_studies;
DROP TRIGGER case_imaging_studies_rev_ins ON case_imaging_studies;
DROP TRIGGER imaging_instance_clean_rev_del ON imaging_instance_clean;
DROP TRIGGER imaging_instance_clean_rev_ins ON imaging_instance_clean;
DROP TRIGGER imaging_instances_rev_del ON imaging_instances;
DROP TRIGGER imaging_instances_rev_ins ON imaging_instances;
DROP FUNCTION bump_case_imaging_rev_resources();
DROP FUNCTION bump_case_imaging_rev();
ALTER TABLE cases DROP COLUMN imaging_rev;
