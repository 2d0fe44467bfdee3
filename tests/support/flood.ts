/**
 * An anonymous flood, run as its own process (so its CPU is not the server's):
 * `node tests/support/flood.ts <baseUrl> <seconds> <protocolVersion>`. Large bodies at the case
 * import (no token, and a forged one), and join attempts with forged tickets,
 * each from a forwarded address the server trusts only because the peer is
 * loopback. Prints one JSON line of counts when done.
 */
import http from 'node:http';

const [base, secondsArg, protocolArg] = process.argv.slice(2);
const until = Date.now() + Number(secondsArg ?? 4) * 1000;
// Valid JSON that is expensive to parse: ~4.7 million array elements in 9 MB.
const BIG = Buffer.from(`[${'1,'.repeat(4.5 * 1024 * 1024 - 1)}1]`);
const counts: Record<string, number> = {};
const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);

function post(path: string, headers: Record<string, string>, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request(new URL(path, base), { method: 'POST', agent: false, headers: { 'content-length': String(body.length), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', () => resolve(String(res.statusCode)));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    req.end(body);
  });
}

async function loop(kind: string, send: () => Promise<string>): Promise<void> {
  while (Date.now() < until) count(`${kind}:${await send()}`);
}

const joinBody = Buffer.from(JSON.stringify({ room: '00000000-0000-4000-8000-00000000d3e0', protocolVersion: Number(protocolArg ?? 1) }));
await Promise.all([
  ...[1, 2, 3].map(() => loop('bigAnon', () => post('/api/cases', { 'content-type': 'application/json', 'x-forwarded-for': '10.66.0.1' }, BIG))),
  ...[1, 2].map(() => loop('bigForged', () => post('/api/cases', { 'content-type': 'application/json', authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.e30.forged', 'x-forwarded-for': '10.66.0.1' }, BIG))),
  ...[1, 2].map(() => loop('bigJoin', () => post('/matchmake/joinOrCreate/clinic', { 'content-type': 'application/json', 'x-forwarded-for': '10.66.0.2' }, BIG))),
  ...[1, 2, 3, 4].map(() => loop('join', () => post('/matchmake/joinOrCreate/clinic', { 'content-type': 'application/json', authorization: 'Bearer forged.ticket.value', 'x-forwarded-for': '10.66.0.3' }, joinBody))),
]);
process.stdout.write(JSON.stringify(counts) + '\n');
