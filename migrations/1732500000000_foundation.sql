-- Up Migration
CREATE TABLE users (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  is_admin      boolean NOT NULL DEFAULT false,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rooms (
  id         uuid PRIMARY KEY,
  title      text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('case-conference', 'surgical-guidance', 'training')),
  case_id    uuid,
  status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  closed_at  timestamptz
);

CREATE TABLE room_participants (
  room_id  uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id  text NOT NULL,
  role     text NOT NULL CHECK (role IN ('host', 'clinician', 'specialist', 'surgeon', 'observer')),
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_participants_user_idx ON room_participants (user_id);

-- Transforms are float4 (real) like the synced state, so a scene re-opens bit-exact.
CREATE TABLE scene_objects (
  room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  id         text NOT NULL,
  kind       text NOT NULL,
  asset      text NOT NULL,
  label      text NOT NULL DEFAULT '',
  created_by text NOT NULL,
  px real NOT NULL, py real NOT NULL, pz real NOT NULL,
  qx real NOT NULL, qy real NOT NULL, qz real NOT NULL, qw real NOT NULL,
  sx real NOT NULL, sy real NOT NULL, sz real NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, id)
);

-- The server's own signing keys (room tickets; the development identity provider).
CREATE TABLE signing_keys (
  kid         text PRIMARY KEY,
  purpose     text NOT NULL CHECK (purpose IN ('ticket', 'dev-idp')),
  alg         text NOT NULL,
  private_jwk jsonb NOT NULL,
  public_jwk  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);
CREATE UNIQUE INDEX signing_keys_active_idx ON signing_keys (purpose) WHERE retired_at IS NULL;

-- Down Migration
DROP TABLE signing_keys;
DROP TABLE scene_objects;
DROP TABLE room_participants;
DROP TABLE rooms;
DROP TABLE users;
