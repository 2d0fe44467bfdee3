import { Room, RoomEvent, Track, type RemoteTrack, type RemoteParticipant, type Participant } from 'livekit-client';

/**
 * Voice with LiveKit, spatialised: each remote microphone goes through a
 * WebAudio HRTF panner placed at that participant's avatar head.
 */
export class Voice {
  readonly room = new Room({ adaptiveStream: true, dynacast: true });
  private ctx: AudioContext | null = null;
  private readonly panners = new Map<string, PannerNode>();
  onSpeakers: (userIds: string[]) => void = () => {};
  onChange: () => void = () => {};

  async join(url: string, token: string, canPublish: boolean): Promise<void> {
    this.ctx = new AudioContext();
    this.room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _pub, participant: RemoteParticipant) => this.attach(track, participant));
    this.room.on(RoomEvent.TrackUnsubscribed, (_t, _pub, participant: RemoteParticipant) => this.panners.delete(participant.identity));
    this.room.on(RoomEvent.ActiveSpeakersChanged, (speakers: Participant[]) => this.onSpeakers(speakers.map((s) => s.identity)));
    this.room.on(RoomEvent.TrackMuted, () => this.onChange());
    this.room.on(RoomEvent.TrackUnmuted, () => this.onChange());
    await this.room.connect(url, token);
    if (canPublish) await this.room.localParticipant.setMicrophoneEnabled(true);
    this.onChange();
  }

  get micEnabled(): boolean {
    return this.room.localParticipant.isMicrophoneEnabled;
  }

  async setMic(enabled: boolean): Promise<void> {
    await this.room.localParticipant.setMicrophoneEnabled(enabled);
    this.onChange();
  }

  private attach(track: RemoteTrack, participant: RemoteParticipant): void {
    if (track.kind !== Track.Kind.Audio || !this.ctx || !track.mediaStreamTrack) return;
    const source = this.ctx.createMediaStreamSource(new MediaStream([track.mediaStreamTrack]));
    const panner = new PannerNode(this.ctx, { panningModel: 'HRTF', distanceModel: 'inverse', refDistance: 1, maxDistance: 20, rolloffFactor: 1 });
    source.connect(panner).connect(this.ctx.destination);
    this.panners.set(participant.identity, panner);
  }

  /** Called every frame with avatar positions and the listener (camera) pose. */
  updatePositions(listener: { position: { x: number; y: number; z: number }; forward: { x: number; y: number; z: number } }, heads: (userId: string) => { x: number; y: number; z: number } | null): void {
    if (!this.ctx) return;
    const l = this.ctx.listener;
    const t = this.ctx.currentTime;
    l.positionX?.setValueAtTime(listener.position.x, t);
    l.positionY?.setValueAtTime(listener.position.y, t);
    l.positionZ?.setValueAtTime(listener.position.z, t);
    l.forwardX?.setValueAtTime(listener.forward.x, t);
    l.forwardY?.setValueAtTime(listener.forward.y, t);
    l.forwardZ?.setValueAtTime(listener.forward.z, t);
    for (const [identity, panner] of this.panners) {
      const p = heads(identity);
      if (!p) continue;
      panner.positionX.setValueAtTime(p.x, t);
      panner.positionY.setValueAtTime(p.y, t);
      panner.positionZ.setValueAtTime(p.z, t);
    }
  }

  async leave(): Promise<void> {
    await this.room.disconnect();
    await this.ctx?.close();
  }
}
