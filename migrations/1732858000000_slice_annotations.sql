-- Up Migration
-- Measurements and marks on a slice of a series (the room's image viewer): the frame 'slice', and which
-- slice ("<series key>/<index>", the series' pseudonymous UID, never the real one).
ALTER TABLE scene_objects DROP CONSTRAINT scene_objects_frame_check;
ALTER TABLE scene_objects ADD CONSTRAINT scene_objects_frame_check CHECK (frame IN ('world', 'patient', 'video', 'slice'));
ALTER TABLE scene_objects ADD COLUMN slice text NOT NULL DEFAULT '';

-- Down Migration
DELETE FROM scene_objects WHERE frame = 'slice';
ALTER TABLE scene_objects DROP COLUMN slice;
ALTER TABLE scene_objects DROP CONSTRAINT scene_objects_frame_check;
ALTER TABLE scene_objects ADD CONSTRAINT scene_objects_frame_check CHECK (frame IN ('world', 'patient', 'video'));
