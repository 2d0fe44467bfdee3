import { unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * The recordings' voice files in RECORDING_AUDIO_DIR: LiveKit's egress writes
 * `<recording id>.ogg` there (docs/TEACHING.md, "Voice"). The name is the
 * recording's id — a UUID the caller has already checked — so nothing a
 * request says becomes a path. A recording deleted (by hand or by retention)
 * takes its voice with it: a privacy officer's deletion is a deletion.
 */
export class RecordingAudioFiles {
  constructor(readonly dir: string | null) {}

  /** The file for this recording; null when this server has no RECORDING_AUDIO_DIR. */
  fileOf(recordingId: string): string | null {
    return this.dir ? path.join(this.dir, `${recordingId}.ogg`) : null;
  }

  /** Delete the recording's voice if it is here: true when a file went. A missing file is not an error; any other failure is thrown. */
  async remove(recordingId: string): Promise<boolean> {
    const file = this.fileOf(recordingId);
    if (!file) return false;
    try {
      await unlink(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }
}
