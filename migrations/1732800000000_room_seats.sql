-- Up Migration
-- One live instance per Consilium room across processes: a lease the instance renews while it lives.
CREATE TABLE live_instances (
  room_id     uuid PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
  instance_id text NOT NULL,
  expires_at  timestamptz NOT NULL
);

-- Tickets are single-use at join: the jti is consumed by the first seat it opens.
CREATE TABLE ticket_uses (
  jti      text PRIMARY KEY,
  room_id  uuid NOT NULL,
  user_id  text NOT NULL,
  used_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_uses_used_at ON ticket_uses (used_at);

-- A kick sticks until a host or admin re-admits the user, or until the cool-down the host chose.
CREATE TABLE room_kicks (
  room_id    uuid NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id    text NOT NULL,
  kicked_by  text NOT NULL,
  kicked_at  timestamptz NOT NULL DEFAULT now(),
  until      timestamptz,
  PRIMARY KEY (room_id, user_id)
);

-- The admin's ceiling on what anyone in the room may see (NULL: no narrower than patient/*.rs).
ALTER TABLE rooms ADD COLUMN scope_ceiling text[];

-- Down Migration
ALTER TABLE rooms DROP COLUMN scope_ceiling;
DROP TABLE room_kicks;
DROP TABLE ticket_uses;
DROP TABLE live_instances;
