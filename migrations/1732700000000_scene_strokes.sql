-- Up Migration
-- Freehand 3D strokes (points as "x,y,z,x,y,z…" in metres) and an annotation colour.
ALTER TABLE scene_objects ADD COLUMN points text NOT NULL DEFAULT '';
ALTER TABLE scene_objects ADD COLUMN color text NOT NULL DEFAULT '';

-- Down Migration
ALTER TABLE scene_objects DROP COLUMN color;
ALTER TABLE scene_objects DROP COLUMN points;
