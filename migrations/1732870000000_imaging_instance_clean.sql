-- Up Migration
-- "Marked clean" names the instances an administrator looked at, not the series: an instance added to the
-- series afterwards (possibly with identity burned in) is not covered until the series is marked again.
CREATE TABLE imaging_instance_clean (
  case_id    uuid NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  series_uid text NOT NULL,
  sop_uid    text NOT NULL,
  marked_by  text NOT NULL,
  marked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, series_uid, sop_uid)
);
-- Series marks carry over to the uploaded instances the series held when it was marked; archive series
-- (whose instances at that time are unknown) must be marked again.
INSERT INTO imaging_instance_clean (case_id, series_uid, sop_uid, marked_by, marked_at)
  SELECT c.case_id, c.series_uid, i.sop_uid, c.marked_by, c.marked_at
  FROM imaging_series_clean c JOIN imaging_instances i ON i.case_id = c.case_id AND i.series_uid = c.series_uid AND i.uploaded_at <= c.marked_at;
DROP TABLE imaging_series_clean;

-- Down Migration
CREATE TABLE imaging_series_clean (
  case_id    uuid NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  series_uid text NOT NULL,
  marked_by  text NOT NULL,
  marked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, series_uid)
);
INSERT INTO imaging_series_clean (case_id, series_uid, marked_by, marked_at)
  SELECT case_id, series_uid, min(marked_by), max(marked_at) FROM imaging_instance_clean GROUP BY case_id, series_uid;
DROP TABLE imaging_instance_clean;
