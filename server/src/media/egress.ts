import { EgressClient, EncodedFileOutput, EncodedFileType } from 'livekit-server-sdk';
import type { LiveKitConfig } from '../config.ts';
import { voiceRoomName } from './livekit.ts';

/** Voice alongside a recording: a LiveKit room-composite egress of the voice room, audio only. */
export interface AudioRecorder {
  /** Start recording the room's voice; resolves the egress id. */
  start(roomId: string, recordingId: string): Promise<string>;
  /** Stop it; resolves when the egress began recording (ms since the epoch, as LiveKit reports it), or null when it does not say. */
  stop(egressId: string): Promise<{ startedAt: number | null }>;
}

/** The audio file an egress writes for a recording, relative to the egress's output (the hospital's storage). */
export const egressAudioPath = (recordingId: string): string => `consilium/${recordingId}.ogg`;

/**
 * LiveKit Egress through livekit-server-sdk's EgressClient (Twirp
 * `livekit.Egress/StartRoomCompositeEgress`, `StopEgress`; the SDK signs each
 * call with a `roomRecord` grant). The file goes wherever the LiveKit Egress
 * service is configured to upload (the hospital's storage); Consilium keeps
 * the egress id with the recording, and when it stops, where the voice starts
 * in the recording (the egress begins after the recording: it starts a
 * compositor first).
 */
export class LiveKitAudioRecorder implements AudioRecorder {
  private readonly client: EgressClient;

  constructor(cfg: LiveKitConfig) {
    this.client = new EgressClient(cfg.apiUrl, cfg.apiKey, cfg.apiSecret, { requestTimeout: 5 });
  }

  async start(roomId: string, recordingId: string): Promise<string> {
    const output = new EncodedFileOutput({ fileType: EncodedFileType.OGG, filepath: egressAudioPath(recordingId) });
    const info = await this.client.startRoomCompositeEgress(voiceRoomName(roomId), output, { audioOnly: true });
    return info.egressId;
  }

  async stop(egressId: string): Promise<{ startedAt: number | null }> {
    const info = await this.client.stopEgress(egressId);
    // EgressInfo.startedAt: when the egress went active and began writing (ns); 0 when it never did.
    const ns = info.startedAt ?? 0n;
    return { startedAt: ns > 0n ? Number(ns / 1_000_000n) : null };
  }
}
