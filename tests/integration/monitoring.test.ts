import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@colyseus/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../shared/src/protocol.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The shipped alert rules and dashboard watch metrics the server really exports, and the metrics
 * behind the alerts move when the thing they watch happens. (promtool checks the rules' syntax and
 * their firing logic in .ci/run: deploy/prometheus/consilium-rules.test.yml.)
 */
const root = path.resolve(import.meta.dirname, '../..');
const TOKEN = 'metrics-token-0123456789';
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({}, { METRICS_TOKEN: TOKEN, AUDIT_CHECKPOINT_INTERVAL_SECONDS: '1' });
});
afterAll(async () => {
  await server?.stop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${server.app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}
/** Metric names as exposed, with the series names a histogram or summary adds. */
function exported(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1]! + s);
    if (m[2] === 'summary') for (const s of ['_sum', '_count']) names.add(m[1]! + s);
  }
  return names;
}
const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

/** Series Prometheus makes itself (not exported by the server). */
const SCRAPE_SERIES = new Set(['up']);
const PROMQL_WORDS = new Set(['sum', 'by', 'rate', 'time', 'and', 'on', 'ignoring', 'max', 'min', 'job', 'instance', 'state', 'code', 'class', 'consilium']);

function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '');
  return [...withoutStrings.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w));
}

describe('alert rules and dashboard', () => {
  it('every rule and every panel names only metrics the server exports', async () => {
    const names = exported(await scrape());
    const rules = readFileSync(path.join(root, 'deploy/prometheus/consilium-rules.yml'), 'utf8');
    const alerts = [...rules.matchAll(/^\s+- alert: (\S+)\n\s+expr: (.+)$/gm)].map((m) => ({ alert: m[1]!, expr: m[2]! }));
    expect(alerts.length).toBe([...rules.matchAll(/- alert:/g)].length); // every rule has its expr on one line, right after the name
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining(['ConsiliumProcessDown', 'ConsiliumAuditCheckpointsStale', 'ConsiliumDatabasePoolSaturated', 'ConsiliumVoiceDegraded', 'ConsiliumJoinRefusalsSpiking']));
    for (const { alert, expr } of alerts) {
      const used = metricNames(expr);
      expect(used.length, `${alert} names no metric`).toBeGreaterThan(0);
      expect(used.filter((n) => !names.has(n) && !SCRAPE_SERIES.has(n)), `${alert}: ${expr}`).toEqual([]);
    }
    const dashboard = JSON.parse(readFileSync(path.join(root, 'deploy/grafana/consilium-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    for (const panel of dashboard.panels) for (const t of panel.targets) expect(metricNames(t.expr).filter((n) => !names.has(n) && !SCRAPE_SERIES.has(n)), panel.title).toEqual([]);
  });

  it('every metric the server exports is documented in docs/OPERATIONS.md', async () => {
    const doc = readFileSync(path.join(root, 'docs/OPERATIONS.md'), 'utf8');
    const own = [...exported(await scrape())].filter((n) => !/_(bucket|sum|count)$/.test(n) || n.endsWith('_total'));
    const custom = own.filter((n) => !/^consilium_(process|nodejs)_/.test(n));
    expect(custom.filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
    expect(doc).toContain('consilium_process_');
    expect(doc).toContain('consilium_nodejs_');
  });
});

describe('the metrics behind the alerts', () => {
  it('refused joins are counted by code', async () => {
    const before = value(await scrape(), 'consilium_join_refusals_total{code="TICKET_INVALID"}');
    const room = await server.createRoom({ participants: [] });
    const client = new Client(server.app.url);
    client.auth.token = 'not-a-ticket';
    await expect(client.joinById(room.id, { protocolVersion: PROTOCOL_VERSION })).rejects.toThrow();
    await eventually(async () => value(await scrape(), 'consilium_join_refusals_total{code="TICKET_INVALID"}') === (Number.isNaN(before) ? 0 : before) + 1, 5000);
  });

  it('the checkpoint coverage time advances while the signer works', async () => {
    const t0 = value(await scrape(), 'consilium_audit_checkpoint_covered_timestamp_seconds');
    expect(t0).toBeGreaterThan(Date.now() / 1000 - 30);
    expect(value(await scrape(), 'consilium_audit_checkpoint_interval_seconds')).toBe(1);
    await eventually(async () => value(await scrape(), 'consilium_audit_checkpoint_covered_timestamp_seconds') > t0, 10_000);
  });

  it('the pool gauges report the pool, and responses are counted by class', async () => {
    const text = await scrape();
    expect(value(text, 'consilium_db_pool_max')).toBeGreaterThan(0);
    expect(value(text, 'consilium_db_pool_connections{state="total"}')).toBeGreaterThan(0);
    expect(value(text, 'consilium_db_pool_waiting')).toBe(0);
    await fetch(`${server.app.url}/api/rooms`); // 401
    expect(value(await scrape(), 'consilium_http_responses_total{class="4xx"}')).toBeGreaterThan(0);
  });
});
