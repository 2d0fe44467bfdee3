/**
 * `npx consilium <command>`: the tasks hospital IT scripts, on the same repositories, policy and
 * audit log as the HTTP API (not over HTTP). Reads the server's environment (DATABASE_URL,
 * DATABASE_OWNER_URL, AUDIT_CHECKPOINT_KEY_FILE, FHIR_*…). Prints a table, or JSON with --json.
 * Exit 0 on success, 1 on failure (a plain message on stderr), 2 on bad usage. docs/OPERATIONS.md.
 */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from '../server/src/config.ts';
import { backup, restore } from '../server/src/ops/backup.ts';
import * as ops from '../server/src/ops/commands.ts';
import { openOps, OpsError, type OpsContext } from '../server/src/ops/context.ts';

const USAGE = `usage: consilium <command> [options] [--json]

  rooms list
  rooms create --title T --kind case-conference|surgical-guidance|training [--case CASE_ID]
               [--participant user:role[:scope,scope]]... [--scope-ceiling s,s] [--observer-video]
  rooms close ROOM_ID
  rooms set-participant ROOM_ID USER_ID --role ROLE|none [--scopes s,s]
  cases import BUNDLE.json [--all-or-nothing]
  cases pull (--patient-id ID | --identifier system|value)
  users list
  audit verify [--public-key key.pem]... [--checkpoint saved.json]...
  audit export --out FILE [--format jsonl|fhir] [--from ISO] [--to ISO]
  keys rotate-ticket
  keys rotate-checkpoint
  retention run [--dry-run]
  backup --out DIR [--keys-out KEYDIR]
  restore --from DIR`;

const options = {
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  title: { type: 'string' },
  kind: { type: 'string' },
  case: { type: 'string' },
  participant: { type: 'string', multiple: true },
  'scope-ceiling': { type: 'string' },
  'observer-video': { type: 'boolean' },
  role: { type: 'string' },
  scopes: { type: 'string' },
  'all-or-nothing': { type: 'boolean' },
  'patient-id': { type: 'string' },
  identifier: { type: 'string' },
  'public-key': { type: 'string', multiple: true },
  checkpoint: { type: 'string', multiple: true },
  out: { type: 'string' },
  'keys-out': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  format: { type: 'string' },
} as const;

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)';
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new OpsError(`${(err as Error).message}\n${USAGE}`, 2);
  }
  const { values: v, positionals: [group, sub, ...rest] } = parsed;
  if (v.help || !group) {
    console.log(USAGE);
    return group || v.help ? 0 : 2;
  }
  const config = loadConfig(process.env);
  const need = (value: string | undefined, name: string): string => {
    if (!value) throw new OpsError(`${name} is required\n${USAGE}`, 2);
    return value;
  };

  let out: ops.Output & { ok?: boolean };
  if (group === 'backup') out = await backup(config, { out: need(v.out, '--out'), ...(v['keys-out'] ? { keysOut: v['keys-out'] } : {}) });
  else if (group === 'restore') out = await restore(config, { from: need(v.from, '--from') });
  else {
    const ctx: OpsContext = openOps(config);
    try {
      out = await dispatch(ctx, `${group} ${sub ?? ''}`.trim(), rest, v, need);
    } finally {
      await ctx.close();
    }
  }
  if (v.json) console.log(JSON.stringify(out.data, null, 2));
  else {
    if (out.table) console.log(table(out.table));
    if (out.message) (out.ok === false ? console.error : console.log)(out.message);
  }
  return out.ok === false ? 1 : 0;
}

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function dispatch(ctx: OpsContext, command: string, args: string[], v: Values, need: (value: string | undefined, name: string) => string): Promise<ops.Output & { ok?: boolean }> {
  switch (command) {
    case 'rooms list':
      return ops.roomsList(ctx);
    case 'rooms create':
      return ops.roomsCreate(ctx, { title: need(v.title, '--title'), kind: need(v.kind, '--kind'), ...(v.case ? { caseId: v.case } : {}), participants: v.participant ?? [], ...(v['scope-ceiling'] ? { scopeCeiling: v['scope-ceiling'] } : {}), observerVideo: v['observer-video'] === true });
    case 'rooms close':
      return ops.roomsClose(ctx, need(args[0], 'ROOM_ID'));
    case 'rooms set-participant':
      return ops.roomsSetParticipant(ctx, need(args[0], 'ROOM_ID'), need(args[1], 'USER_ID'), need(v.role, '--role'), v.scopes);
    case 'cases import':
      return ops.casesImport(ctx, need(args[0], 'BUNDLE.json'), v['all-or-nothing'] === true);
    case 'cases pull':
      if (Boolean(v['patient-id']) === Boolean(v.identifier)) throw new OpsError('give exactly one of --patient-id and --identifier', 2);
      return ops.casesPull(ctx, v['patient-id'] ? { patientId: v['patient-id'] } : { identifier: v.identifier! });
    case 'users list':
      return ops.usersList(ctx);
    case 'audit verify':
      return ops.auditVerify(ctx, { publicKeys: v['public-key'] ?? [], checkpoints: v.checkpoint ?? [] });
    case 'audit export': {
      const format = v.format ?? 'jsonl';
      if (format !== 'jsonl' && format !== 'fhir') throw new OpsError('--format is jsonl or fhir', 2);
      return ops.auditExport(ctx, { out: need(v.out, '--out'), format, ...(v.from ? { from: v.from } : {}), ...(v.to ? { to: v.to } : {}) });
    }
    case 'retention run':
      return ops.retentionRun(ctx, v['dry-run'] === true);
    case 'keys rotate-ticket':
      return ops.rotateTicketKey(ctx);
    case 'keys rotate-checkpoint':
      return ops.rotateCheckpointKey(ctx);
    default:
      throw new OpsError(`unknown command: ${command}\n${USAGE}`, 2);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof OpsError) {
      console.error(`consilium: ${err.message}`);
      process.exitCode = err.exitCode;
    } else if (err instanceof ConfigError) {
      console.error(`consilium: ${err.message}`);
      process.exitCode = 2;
    } else {
      // Unexpected: the message only (a database error's detail may quote patient data).
      const e = err as { code?: string; message?: string };
      console.error(`consilium: failed${e.code ? ` (${e.code})` : ''}: ${(e.message ?? String(err)).split('\n')[0]}`);
      process.exitCode = 1;
    }
  },
);
