import { EgressClient, EncodedFileOutput, EncodedFileType } from 'livekit-server-sdk';
import type { LiveKitConfig } from '../config.ts';
import { voiceRoomName } from './livekit.ts';

/** Voice alongside a recording: a LiveKit room-composite egress of the voice room, audio only. */
export interface AudioRecorder {
  /** Start recording the room's voice; resolves the egress id. */
  start(roomId: string, recordingId: string): Promise<string>;
  stop(egressId: string): Promise<void>;
}

/**
 * LiveKit Egress through livekit-server-sdk's EgressClient (Twirp
 * `livekit.Egress/StartRoomCompositeEgress`, `StopEgress`; the SDK signs each
 * call with a `roomRecord` grant). The file goes wherever the LiveKit Egress
 * service is configured to upload (the hospital's storage); Consilium keeps
 * the egress id with the recording.
 */
export class LiveKitAudioRecorder implements AudioRecorder {
  private readonly client: EgressClient;

  constructor(cfg: LiveKitConfig) {
    this.client = new EgressClient(cfg.apiUrl, cfg.apiKey, cfg.apiSecret, { requestTimeout: 5 });
  }

  async start(roomId: string, recordingId: string): Promise<string> {
    const output = new EncodedFileOutput({ fileType: EncodedFileType.OGG, filepath: `consilium/${recordingId}.ogg` });
    const info = await this.client.startRoomCompositeEgress(voiceRoomName(roomId), output, { audioOnly: true });
    return info.egressId;
  }

  async stop(egressId: string): Promise<void> {
    await this.client.stopEgress(egressId);
  }
}
