-- Up Migration
-- Surgical guidance annotations: their frame (world, patient, video), the author's send time,
-- the video frame they were drawn on, and the surgeon's hands-free acknowledgement.
ALTER TABLE scene_objects ADD COLUMN frame text NOT NULL DEFAULT 'world' CHECK (frame IN ('world', 'patient', 'video'));
ALTER TABLE scene_objects ADD COLUMN sent_at double precision NOT NULL DEFAULT 0;
ALTER TABLE scene_objects ADD COLUMN video_time double precision NOT NULL DEFAULT 0;
ALTER TABLE scene_objects ADD COLUMN acked_at double precision NOT NULL DEFAULT 0;
ALTER TABLE scene_objects ADD COLUMN acked_by text NOT NULL DEFAULT '';
ALTER TABLE scene_objects ADD COLUMN dismissed boolean NOT NULL DEFAULT false;
ALTER TABLE scene_objects ADD COLUMN created_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- The patient frame the surgeon registered, so a re-opened guidance room keeps it.
CREATE TABLE room_anchors (
  room_id  uuid PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
  version  integer NOT NULL,
  px real NOT NULL, py real NOT NULL, pz real NOT NULL,
  qx real NOT NULL, qy real NOT NULL, qz real NOT NULL, qw real NOT NULL,
  set_by   text NOT NULL,
  set_at   double precision NOT NULL
);

-- Down Migration
DROP TABLE room_anchors;
ALTER TABLE scene_objects DROP COLUMN created_at;
ALTER TABLE scene_objects DROP COLUMN dismissed;
ALTER TABLE scene_objects DROP COLUMN acked_by;
ALTER TABLE scene_objects DROP COLUMN acked_at;
ALTER TABLE scene_objects DROP COLUMN video_time;
ALTER TABLE scene_objects DROP COLUMN sent_at;
ALTER TABLE scene_objects DROP COLUMN frame;
