import type { LiveKitConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { AudioRecorder } from './egress.ts';
import type { MediaTokens, VoiceControl } from './livekit.ts';

/** Voice, video and voice recording, built from LIVEKIT_*. */
export interface LiveKitMedia {
  voice: VoiceControl;
  tokens: MediaTokens;
  audioRecorder: AudioRecorder;
}

/**
 * LiveKit's server SDK brings a protobuf runtime and LiveKit's message tables with it (≈ 6 MB of
 * heap that a process without voice would keep for nothing, bench/memory): it is imported here, only
 * when LIVEKIT_* is set. Everything else refers to its types alone.
 */
export async function loadLiveKit(cfg: LiveKitConfig, logger: Logger): Promise<LiveKitMedia> {
  const [{ VoiceControl, mediaTokens }, { LiveKitAudioRecorder }] = await Promise.all([import('./livekit.ts'), import('./egress.ts')]);
  return { voice: new VoiceControl(cfg, logger), tokens: mediaTokens(cfg), audioRecorder: new LiveKitAudioRecorder(cfg) };
}
