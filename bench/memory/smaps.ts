/**
 * Where a process's resident memory is, from /proc/<pid>/smaps (Linux): V8's heap pages (anonymous
 * 256 KiB mappings), the malloc arenas of threads (64 MiB-aligned heaps; glibc keeps freed memory in
 * them), the main malloc heap ([heap]), other anonymous memory (large objects, code range, stacks),
 * and file-backed pages (the node binary's code and data, libraries).
 */
import { readFileSync } from 'node:fs';

export interface ResidentParts {
  v8PagesMb: number;
  threadArenasMb: number;
  mallocHeapMb: number;
  otherAnonMb: number;
  fileMb: number;
}

const V8_PAGE = 256 * 1024;
const ARENA = 64 * 1024 * 1024;

export function residentParts(pid: number): ResidentParts {
  const maps: { start: number; end: number; perms: string; name: string; rssKb: number }[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) maps.push({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, name: m[4]!, rssKb: 0 });
    else if (line.startsWith('Rss:')) maps.at(-1)!.rssKb = Number(/(\d+)/.exec(line)![1]);
  }
  const parts: ResidentParts = { v8PagesMb: 0, threadArenasMb: 0, mallocHeapMb: 0, otherAnonMb: 0, fileMb: 0 };
  maps.forEach((m, i) => {
    const mb = m.rssKb / 1024;
    const next = maps[i + 1];
    if (m.name === '[heap]') parts.mallocHeapMb += mb;
    else if (m.name !== '' && !m.name.startsWith('[') && !m.name.startsWith('anon_inode')) parts.fileMb += mb;
    else if (m.name !== '') parts.otherAnonMb += mb;
    else if (m.end - m.start === V8_PAGE) parts.v8PagesMb += mb;
    // A thread's malloc heap: its used part, then the rest of its 64 MiB reservation (no access), aligned to 64 MiB.
    else if (m.start % ARENA === 0 && next && next.start === m.end && next.perms === '---p' && next.end - m.start === ARENA) parts.threadArenasMb += mb;
    else parts.otherAnonMb += mb;
  });
  return parts;
}

export const formatParts = (p: ResidentParts) =>
  `V8 pages ${p.v8PagesMb.toFixed(0)}, thread arenas ${p.threadArenasMb.toFixed(0)}, malloc heap ${p.mallocHeapMb.toFixed(0)}, other anon ${p.otherAnonMb.toFixed(0)}, files ${p.fileMb.toFixed(0)} MB`;
