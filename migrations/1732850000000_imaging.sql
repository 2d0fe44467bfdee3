-- Up Migration
-- DICOM studies attached to a case: from the PACS (DICOMweb, by Study Instance UID) or uploaded to Consilium.
CREATE TABLE case_imaging_studies (
  case_id     uuid NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  study_uid   text NOT NULL,
  source      text NOT NULL CHECK (source IN ('dicomweb', 'upload')),
  attached_by text NOT NULL,
  attached_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, study_uid)
);

-- Uploaded instances: the file lives under DATA_DIR/imaging/<sha256>.dcm; the index row holds its header
-- attributes (never pixel data), so series lists and metadata are answered without opening files.
CREATE TABLE imaging_instances (
  case_id     uuid NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  study_uid   text NOT NULL,
  series_uid  text NOT NULL,
  sop_uid     text NOT NULL,
  sha256      text NOT NULL,
  bytes       bigint NOT NULL,
  header      jsonb NOT NULL,
  uploaded_by text NOT NULL,
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, sop_uid)
);
CREATE INDEX imaging_instances_series ON imaging_instances (case_id, study_uid, series_uid);

-- Series an administrator has checked for identity burned into the pixels (shown to de-identified viewers).
CREATE TABLE imaging_series_clean (
  case_id    uuid NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  series_uid text NOT NULL,
  marked_by  text NOT NULL,
  marked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, series_uid)
);

-- Down Migration
DROP TABLE imaging_series_clean;
DROP TABLE imaging_instances;
DROP TABLE case_imaging_studies;
