-- Up Migration
-- Where the recorded voice starts in the recording: LiveKit's egress begins some time after the
-- recording does (it starts a compositor first). audio_offset_ms = the egress's start (as LiveKit
-- reports it when stopped) minus the recording's start; a replay plays the audio file from
-- (position - offset). NULL: not known (LiveKit did not say), taken as 0.
ALTER TABLE recordings ADD COLUMN audio_offset_ms integer;

-- Down Migration
ALTER TABLE recordings DROP COLUMN audio_offset_ms;
