import { describe, expect, it } from 'vitest';
import {
  ConnectionError,
  checkConnectionTarget,
  checkHostResolves,
  libpqEnv,
  parseDatabaseUrl,
  redact,
  urlSecretForms,
} from '../../src/postgres/connection.js';

const NASTY = 'p@ss:w/rd %#?é';
const URL_WITH_NASTY = `postgresql://postgres.abcdefghijklmnop:${encodeURIComponent(NASTY)}@aws-0-eu-west-1.pooler.supabase.com:5432/postgres`;

describe('parseDatabaseUrl', () => {
  it('decodes user and password and defaults port and database', () => {
    const conn = parseDatabaseUrl(URL_WITH_NASTY);
    expect(conn).toMatchObject({
      host: 'aws-0-eu-west-1.pooler.supabase.com',
      port: 5432,
      user: 'postgres.abcdefghijklmnop',
      password: NASTY,
      database: 'postgres',
    });
    expect(parseDatabaseUrl('postgres://u:p@h/').port).toBe(5432);
  });

  it('refuses a URL it cannot read without quoting it', () => {
    for (const bad of ['not a url with s3cret', 'mysql://u:s3cret@h/db', 'postgresql://u:s3cret%zz@h/db']) {
      let error: unknown;
      try {
        parseDatabaseUrl(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConnectionError);
      expect(String(error)).not.toContain('s3cret');
    }
  });
});

describe('secret handling', () => {
  it('knows the raw, encoded and decoded forms of the password', () => {
    const forms = urlSecretForms(URL_WITH_NASTY);
    expect(forms).toContain(NASTY);
    expect(forms).toContain(encodeURIComponent(NASTY));
  });

  it('masks a password pasted without percent-encoding whole, and refuses such a URL without quoting it', () => {
    for (const password of [NASTY, '123#abc', 'ab/cd@ef', 'a?b']) {
      const url = `postgresql://postgres:${password}@127.0.0.1:5432/postgres`;
      expect(urlSecretForms(url), password).toContain(password);
      let error: unknown;
      try {
        parseDatabaseUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error, password).toBeInstanceOf(ConnectionError);
      expect(String(error)).not.toContain(password.slice(0, 3));
    }
    // '@' alone is fine: the URL parser takes the last '@' before the host.
    expect(parseDatabaseUrl('postgresql://postgres:a@b@127.0.0.1:5432/postgres').password).toBe('a@b');
    expect(parseDatabaseUrl('postgresql://u:p@h/db?application_name=a@b').host).toBe('h');
  });

  it('redacts every form and any URL password', () => {
    const forms = urlSecretForms(URL_WITH_NASTY);
    const text = `failed: ${NASTY} / ${encodeURIComponent(NASTY)} / postgresql://x:other@h/db`;
    const clean = redact(text, forms);
    expect(clean).not.toContain(NASTY);
    expect(clean).not.toContain(encodeURIComponent(NASTY));
    expect(clean).not.toContain('other');
  });

  it('passes the password to libpq only through PGPASSWORD and drops inherited PG settings', () => {
    const env = libpqEnv(parseDatabaseUrl(URL_WITH_NASTY), { PATH: '/bin', PGSERVICE: 'other', PGPASSWORD: 'old' });
    expect(env.PGPASSWORD).toBe(NASTY);
    expect(env.PGSERVICE).toBeUndefined();
    expect(env.PGSSLMODE).toBe('require');
    expect(env.PATH).toBe('/bin');
  });
});

describe('Supabase connection checks', () => {
  it('refuses the transaction pooler and names the session pooler port', () => {
    const conn = parseDatabaseUrl(URL_WITH_NASTY.replace(':5432/', ':6543/'));
    expect(() => checkConnectionTarget(conn)).toThrow(/transaction pooler.*port 5432/s);
    expect(() => checkConnectionTarget(parseDatabaseUrl(URL_WITH_NASTY))).not.toThrow();
  });

  it('explains an IPv6-only direct host and points to the session pooler', async () => {
    const conn = parseDatabaseUrl('postgresql://postgres:x@db.abcdefghijklmnop.supabase.co:5432/postgres');
    const ipv6Only = async () => [{ address: '2600:1f18::1', family: 6 }];
    await expect(checkHostResolves(conn, ipv6Only)).rejects.toThrow(/only to IPv6.*session pooler.*postgres\.abcdefghijklmnop/s);
    const dualStack = async () => [
      { address: '2600:1f18::1', family: 6 },
      { address: '3.3.3.3', family: 4 },
    ];
    await expect(checkHostResolves(conn, dualStack)).resolves.toBeUndefined();
  });

  it('says which host is unknown', async () => {
    const conn = parseDatabaseUrl('postgresql://postgres:x@no-such-host.invalid:5432/postgres');
    const notFound = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    await expect(checkHostResolves(conn, notFound)).rejects.toThrow(/unknown host 'no-such-host.invalid'/);
  });
});
