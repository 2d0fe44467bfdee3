-- Up Migration
-- Surgical guidance: may observers watch the surgeon's camera video? Off unless an administrator allows it.
ALTER TABLE rooms ADD COLUMN observer_video boolean NOT NULL DEFAULT false;

-- Down Migration
ALTER TABLE rooms DROP COLUMN observer_video;
