import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger.ts';
import { CLIENT_DIST } from './http/web.routes.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCES = ['client/src', 'client/index.html', 'client/admin.html', 'client/public', 'shared/src', 'vite.config.ts'];
const STAMP = path.join(CLIENT_DIST, '.build-stamp');

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(p).reduce((m, f) => Math.max(m, newestMtime(path.join(p, f))), st.mtimeMs);
}

/** `npm start`: build the browser client when the build is missing or older than its sources. */
export async function ensureClientBuilt(logger: Logger): Promise<void> {
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
  const sources = Math.max(...SOURCES.map((s) => newestMtime(path.join(ROOT, s))));
  if (built >= sources) return;
  const viteBin = path.join(ROOT, 'node_modules/vite/bin/vite.js');
  if (!existsSync(viteBin)) {
    logger.warn('client build is missing or stale and vite is not installed (production install?): serving what is there');
    return;
  }
  logger.info('building the web client (vite)…');
  const started = Date.now();
  // In a child process: the build's memory (hundreds of MB) is returned when it ends, not kept by the server.
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [viteBin, 'build', '--config', path.join(ROOT, 'vite.config.ts'), '--logLevel', 'warn'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`building the web client failed (vite exited with ${code})`);
  writeFileSync(STAMP, new Date().toISOString());
  logger.info({ ms: Date.now() - started }, 'web client built');
}
