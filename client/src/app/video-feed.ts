import { Room, RoomEvent, Track, type RemoteParticipant, type RemoteTrack, type RemoteTrackPublication } from 'livekit-client';

/**
 * The surgeon's video room (a LiveKit room of its own; the server mints its
 * token only for those the policy lets watch — see videoGrant in
 * server/src/auth/policy.ts). Watchers get the camera track published by the
 * participant whose role is surgeon; the surgeon publishes their camera.
 */
export class VideoFeed {
  readonly room = new Room({ adaptiveStream: true, dynacast: true });
  /** The surgeon's camera as a MediaStream, or null when it went away. */
  onStream: (stream: MediaStream | null) => void = () => {};

  async watch(url: string, token: string): Promise<void> {
    const isSurgeonCamera = (pub: RemoteTrackPublication, p: RemoteParticipant) => pub.source === Track.Source.Camera && roleOf(p) === 'surgeon';
    this.room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
      if (track.kind === Track.Kind.Video && isSurgeonCamera(pub, p) && track.mediaStreamTrack) this.onStream(new MediaStream([track.mediaStreamTrack]));
    });
    this.room.on(RoomEvent.TrackUnsubscribed, (_t: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
      if (isSurgeonCamera(pub, p)) this.onStream(null);
    });
    this.room.on(RoomEvent.Disconnected, () => this.onStream(null));
    await this.room.connect(url, token);
  }

  /** The surgeon: publish the camera (the headset's passthrough or the device camera). */
  async publishCamera(url: string, token: string): Promise<void> {
    await this.room.connect(url, token);
    await this.room.localParticipant.setCameraEnabled(true);
  }

  async leave(): Promise<void> {
    await this.room.disconnect();
  }
}

function roleOf(p: RemoteParticipant): string {
  try {
    return (JSON.parse(p.metadata ?? '{}') as { role?: string }).role ?? '';
  } catch {
    return '';
  }
}
