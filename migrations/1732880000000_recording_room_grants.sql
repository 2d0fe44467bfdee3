-- Up Migration
-- A recording granted to a training room: its participants (not kicked, the room open) watch it, each under
-- their own access in that room and never more than the grant's role and scopes (nor the recording's ceiling).
CREATE TABLE recording_room_grants (
  recording_id uuid NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  room_id      uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  role         text NOT NULL DEFAULT 'observer' CHECK (role IN ('host', 'clinician', 'specialist', 'surgeon', 'observer')),
  scopes       text[],
  granted_by   text NOT NULL,
  granted_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (recording_id, room_id)
);
CREATE INDEX recording_room_grants_room_idx ON recording_room_grants (room_id);

-- Down Migration
DROP TABLE recording_room_grants;
