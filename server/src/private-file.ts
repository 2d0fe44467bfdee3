import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Files that hold patient data or keys (audit exports, backup manifests and key copies, stored passwords)
 * are readable by their owner only, whatever stood at that path before: the content goes to a new file
 * created exclusively (never an existing file or a planted link) with mode 0600 in the same directory,
 * which then replaces the target by rename. An old file's mode, owner or hard links never apply to the new
 * content, and a failure leaves the old file (or nothing), never half a file.
 */
const tempBeside = (target: string) => path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);

export async function writePrivateFile(target: string, fill: (append: (text: string) => Promise<void>) => Promise<void>): Promise<void> {
  const tmp = tempBeside(target);
  const file = await open(tmp, 'wx', 0o600);
  try {
    await file.chmod(0o600); // the umask may only take bits away; this makes the mode exact
    await fill((text) => file.writeFile(text)); // writeFile: all of it, from the current position
    await file.sync();
    await file.close();
    await rename(tmp, target);
  } catch (err) {
    await file.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}

export function writePrivateFileSync(target: string, data: string | Uint8Array): void {
  const tmp = tempBeside(target);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeFileSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** A new, empty file with mode 0600 for a tool to write into (it truncates, and the mode stays); refuses an existing path. */
export function createPrivateFileSync(target: string): void {
  const fd = openSync(target, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}
