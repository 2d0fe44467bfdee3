-- Up Migration
-- Who holds a room's live-instance lease: the process (a stable key: PUBLIC_URL with Redis, 'standalone'
-- without) and its boot (Colyseus processId). A restarted process takes back its own leases at once,
-- and any process takes over a lease whose boot is gone from presence, instead of waiting for expiry.
ALTER TABLE live_instances ADD COLUMN process_key text NOT NULL DEFAULT '';
ALTER TABLE live_instances ADD COLUMN boot_id text NOT NULL DEFAULT '';

-- Signed LiveKit webhook ids already handled, shared by every process (replays are refused anywhere).
CREATE TABLE livekit_webhook_events (
  id          text PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX livekit_webhook_events_received_at ON livekit_webhook_events (received_at);

-- Down Migration
DROP TABLE livekit_webhook_events;
ALTER TABLE live_instances DROP COLUMN boot_id;
ALTER TABLE live_instances DROP COLUMN process_key;
