-- Up Migration
-- Teaching: rooms may be recorded (an administrator allows it per room), replayed in a room of the
-- `replay` kind, and held as a lecture hall (`grand-rounds`).
ALTER TABLE rooms DROP CONSTRAINT IF EXISTS rooms_kind_check;
ALTER TABLE rooms ADD CONSTRAINT rooms_kind_check CHECK (kind IN ('case-conference', 'surgical-guidance', 'training', 'replay', 'grand-rounds'));
ALTER TABLE rooms ADD COLUMN recording_allowed boolean NOT NULL DEFAULT false;
-- A replay room: the recording it plays (NULL for every other kind).
ALTER TABLE rooms ADD COLUMN recording_id uuid;

-- A recording is the room, not the record: scene, annotations (with their author's access), pointers,
-- presenter, joins and leaves, avatar poses at ~10 Hz, break-glass as metadata. No case data: a replay
-- reads the case through each viewer's own access at replay time.
CREATE TABLE recordings (
  id          uuid PRIMARY KEY,
  room_id     uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  case_id     uuid,
  title       text NOT NULL,
  started_by  text NOT NULL,
  -- The recording host's access when it started (their replays open with it).
  host_scope  text NOT NULL DEFAULT '',
  started_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  duration_ms integer NOT NULL DEFAULT 0,
  chunk_ms    integer NOT NULL,
  bytes       bigint NOT NULL DEFAULT 0,
  -- 'none' (no LiveKit: no audio) | 'egress' (a LiveKit room-composite audio egress ran alongside).
  audio       text NOT NULL DEFAULT 'none' CHECK (audio IN ('none', 'egress', 'failed')),
  egress_id   text,
  -- Timeline markers: [{t, kind, who, scope}] (scope: the author's access for annotation markers).
  markers     jsonb NOT NULL DEFAULT '[]',
  expires_at  timestamptz,
  deleted_at  timestamptz
);
CREATE INDEX recordings_room_idx ON recordings (room_id);

-- Chunks of N seconds: a keyframe (the scene at start_ms) and the events after it, msgpack + deflate.
CREATE TABLE recording_chunks (
  recording_id uuid NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  seq          integer NOT NULL,
  start_ms     integer NOT NULL,
  end_ms       integer NOT NULL,
  data         bytea NOT NULL,
  PRIMARY KEY (recording_id, seq)
);
CREATE INDEX recording_chunks_time_idx ON recording_chunks (recording_id, start_ms);

-- Who may watch a recording besides its host and administrators, with the access they watch under.
CREATE TABLE recording_grants (
  recording_id uuid NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
  user_id      text NOT NULL,
  role         text NOT NULL DEFAULT 'observer' CHECK (role IN ('host', 'clinician', 'specialist', 'surgeon', 'observer')),
  scopes       text[],
  granted_by   text NOT NULL,
  granted_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (recording_id, user_id)
);

-- Down Migration
DROP TABLE recording_grants;
DROP TABLE recording_chunks;
DROP TABLE recordings;
ALTER TABLE rooms DROP COLUMN recording_id;
ALTER TABLE rooms DROP COLUMN recording_allowed;
ALTER TABLE rooms DROP CONSTRAINT rooms_kind_check;
ALTER TABLE rooms ADD CONSTRAINT rooms_kind_check CHECK (kind IN ('case-conference', 'surgical-guidance', 'training'));
