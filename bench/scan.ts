/**
 * `npm run bench:scan [-- --mb 256 --chunk 65536 --file backup.sql]`: throughput of the SqlScanner alone
 * (with the merge's statement rewriter), in memory, on pg_dump-shaped SQL of four kinds:
 *   copy-jsonb   COPY rows of about 1 KB (a wide jsonb table)
 *   copy-bytea   COPY rows of 128 KB of hex (a bytea table, 64 KB values)
 *   copy-narrow  COPY rows of about 60 bytes (a narrow table, many rows)
 *   inserts      one-row INSERT statements with column lists of about 1 KB (PART 1: auth.users)
 * and on a file when --file is given (read into memory first, so the disk is not measured).
 * Chunks are fed as a pipe delivers them (64 KB by default).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { rewriteDumpLine } from '../src/sql/rewrite.js';
import { SqlScanner } from '../src/sql/sqlscan.js';

function hex(seed: number, bytes: number): string {
  let out = '';
  let x = seed >>> 0 || 1;
  while (out.length < bytes * 2) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += (x >>> 0).toString(16).padStart(8, '0');
  }
  return out.slice(0, bytes * 2);
}

function build(kind: string, targetBytes: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  const push = (text: string): void => {
    parts.push(text);
    size += Buffer.byteLength(text);
  };
  let i = 0;
  switch (kind) {
    case 'copy-jsonb':
      push('COPY public.activity (id, user_id, kind, payload, created_at) FROM stdin;\n');
      while (size < targetBytes) {
        i++;
        push(
          `${i}\t${hex(i, 16)}\tpurchase\t{"geo": {"lat": ${i % 90}.5, "lon": 12.25, "city": "Zürich ${i % 50}"}, "tags": ["t${i % 13}", "tag with \\\\"quotes\\\\" & \\\\\\\\ back\\\\\\\\slash"], ` +
            `"items": [{"qty": 2, "sku": "SKU-${i % 9973}", "note": "${hex(i * 3, 32)}"}, {"qty": 1, "sku": "SKU-${i % 7919}", "note": "${hex(i * 5, 32)}"}], ` +
            `"agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "trace": "${hex(i * 7, 64)}", ` +
            `"comment": "multi-line\\\\ncomment ${hex(i, 16)}\\\\n\\\\ttabbed; -- not a comment", "session": "${hex(i * 11, 16)}", "amount": ${i % 1000}.25}\t2025-01-01 00:00:0${i % 10}+00\n`,
        );
      }
      push('\\.\n\n');
      break;
    case 'copy-bytea': {
      push('COPY public.attachments (id, owner, name, content_type, data) FROM stdin;\n');
      const blob = hex(42, 64 * 1024);
      while (size < targetBytes) {
        i++;
        push(`${i}\t${hex(i, 16)}\tupload-${i}.bin\tapplication/octet-stream\t\\\\x${blob}\n`);
      }
      push('\\.\n\n');
      break;
    }
    case 'copy-narrow':
      push('COPY public.profiles (id, username, full_name, avatar_url) FROM stdin;\n');
      while (size < targetBytes) {
        i++;
        push(`${hex(i, 16)}\tuser${i}\tUser ${i}\t\\N\n`);
      }
      push('\\.\n\n');
      break;
    case 'inserts':
      while (size < targetBytes) {
        i++;
        push(
          `INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, invited_at, confirmation_token, ` +
            `confirmation_sent_at, recovery_token, recovery_sent_at, email_change_token_new, email_change, email_change_sent_at, last_sign_in_at, ` +
            `raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at, phone, phone_confirmed_at, phone_change, ` +
            `phone_change_token, phone_change_sent_at, email_change_token_current, email_change_confirm_status, banned_until, ` +
            `reauthentication_token, reauthentication_sent_at, is_sso_user, deleted_at, is_anonymous) VALUES ('00000000-0000-0000-0000-000000000000', ` +
            `'${hex(i, 16)}', 'authenticated', 'authenticated', 'user${i}@bench.test', '$2a$10$${hex(i, 26)}', '2025-01-01 00:05:00+00', NULL, '', ` +
            `'2025-01-01 00:00:00+00', '', NULL, '', '', NULL, '2025-01-02 00:00:00+00', '{"provider": "email", "providers": ["email"]}', ` +
            `'{"locale": "en", "username": "user${i}", "full_name": "User ${i} O''Bench", "avatar_url": "https://cdn.bench.test/avatars/${i}.png", "email_verified": true}', ` +
            `NULL, '2025-01-01 00:00:00+00', '2025-01-02 00:00:00+00', NULL, NULL, '', '', NULL, '', 0, NULL, '', NULL, false, NULL, false);\n`,
        );
      }
      push('\n');
      break;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
  return Buffer.from(parts.join(''), 'utf8');
}

function scan(data: Buffer, chunk: number): { mbps: number; rows: number } {
  const scanner = new SqlScanner(rewriteDumpLine);
  const started = performance.now();
  for (let i = 0; i < data.length; i += chunk) scanner.pushParts(data.subarray(i, i + chunk));
  scanner.finish();
  const seconds = (performance.now() - started) / 1000;
  const rows = [...scanner.report.rows.values()].reduce((a, b) => a + b, 0);
  return { mbps: data.length / 1e6 / seconds, rows };
}

function best(data: Buffer, chunk: number, repeats: number): { mbps: number; rows: number } {
  let top = { mbps: 0, rows: 0 };
  for (let r = 0; r < repeats; r++) {
    const result = scan(data, chunk);
    if (result.mbps > top.mbps) top = result;
  }
  return top;
}

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '256' },
    chunk: { type: 'string', default: String(64 * 1024) },
    repeats: { type: 'string', default: '3' },
    file: { type: 'string' },
  },
  strict: true,
});
const chunk = Number(values.chunk);
const repeats = Number(values.repeats);
const results: Record<string, { mbps: number; rows: number; mb: number }> = {};
if (values.file) {
  const data = readFileSync(values.file);
  const r = best(data, chunk, repeats);
  results[values.file] = { ...r, mb: data.length / 1e6 };
} else {
  const all: Buffer[] = [];
  for (const kind of ['copy-jsonb', 'copy-bytea', 'copy-narrow', 'inserts']) {
    const data = build(kind, Number(values.mb) * 1e6);
    all.push(data);
    const r = best(data, chunk, repeats);
    results[kind] = { ...r, mb: data.length / 1e6 };
  }
  const mixed = Buffer.concat(all);
  results.mixed = { ...best(mixed, chunk, repeats), mb: mixed.length / 1e6 };
}
for (const [kind, r] of Object.entries(results)) {
  console.log(`${kind.padEnd(12)} ${r.mb.toFixed(0).padStart(6)} MB  ${r.rows.toString().padStart(9)} rows  ${r.mbps.toFixed(0).padStart(6)} MB/s  (chunks of ${chunk} bytes)`);
}
