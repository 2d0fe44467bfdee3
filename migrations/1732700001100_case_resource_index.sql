-- Up Migration
-- Real exports: thousands of resources per case, fetched on demand by type, code
-- and date; the id each resource had at its source (refresh, polling, de-dup);
-- and the FHIR server a pulled case came from.
ALTER TABLE case_resources ADD COLUMN source_id text;
ALTER TABLE case_resources ADD COLUMN code text;
ALTER TABLE case_resources ADD COLUMN clinical_at timestamptz;
CREATE INDEX case_resources_by_date ON case_resources (case_id, resource_type, clinical_at DESC NULLS LAST);
CREATE UNIQUE INDEX case_resources_by_source ON case_resources (case_id, source_id) WHERE source_id IS NOT NULL;

ALTER TABLE cases ADD COLUMN fhir_patient_id text;
ALTER TABLE cases ADD COLUMN fhir_polled_at timestamptz;

-- Down Migration
ALTER TABLE cases DROP COLUMN fhir_polled_at;
ALTER TABLE cases DROP COLUMN fhir_patient_id;
DROP INDEX case_resources_by_source;
DROP INDEX case_resources_by_date;
ALTER TABLE case_resources DROP COLUMN clinical_at;
ALTER TABLE case_resources DROP COLUMN code;
ALTER TABLE case_resources DROP COLUMN source_id;
