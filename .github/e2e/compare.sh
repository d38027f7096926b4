#!/usr/bin/env bash
# Compares a project restored from a backup (TARGET) with the project it was taken from (SOURCE), as
# postgres, with psql only:
#   - every durable auth and storage table and every table of the user schemas, row for row;
#   - transient auth/storage tables and the audit log empty in TARGET; migration ledgers untouched;
#   - user triggers on auth/storage tables, policies, Realtime publication membership, owners and
#     privileges (ACLs) of relations, functions and schemas, sequence values, function bodies, foreign
#     keys to auth.users, RLS flags;
#   - behaviour in TARGET: a new auth.users row gets its profile from the trigger, and RLS shows a
#     signed-in user only their own notes.
#
# Usage: bash .github/e2e/compare.sh SOURCE_URL TARGET_URL
# PSQL may name the psql to use (default: psql on PATH). Exits 1 when anything differs.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 SOURCE_URL TARGET_URL" >&2
  exit 2
fi
source_url="$1"
target_url="$2"
psql="${PSQL:-psql}"
user_schemas="'public', 'private'"

passed=0
failed=0

# q URL SQL: the rows of every statement in SQL (read as a script, so BEGIN ... ROLLBACK works).
q() { "$psql" "$1" -X -q -A -t -v ON_ERROR_STOP=1 -f - <<<"$2"; }

pass() {
  passed=$((passed + 1))
  echo "  ok    $1"
}

fail() {
  failed=$((failed + 1))
  echo "  FAIL  $1" >&2
  if [[ $# -gt 1 ]]; then echo "$2" | sed 's/^/        /' >&2; fi
}

# same LABEL SQL: the query gives the same rows in SOURCE and TARGET.
same() {
  local label="$1" sql="$2" in_source in_target
  in_source="$(q "$source_url" "$sql")"
  in_target="$(q "$target_url" "$sql")"
  if [[ "$in_source" == "$in_target" ]]; then
    pass "$label"
  else
    fail "$label" "$(diff -u <(echo "$in_source") <(echo "$in_target") --label source --label target || true)"
  fi
}

# expect LABEL WANTED SQL: the query gives WANTED in TARGET.
expect() {
  local label="$1" wanted="$2" sql="$3" got
  got="$(q "$target_url" "$sql")"
  if [[ "$got" == "$wanted" ]]; then pass "$label"; else fail "$label" "expected '$wanted', got '$got'"; fi
}

exists_in() { [[ "$(q "$1" "select to_regclass('$2') is not null")" == "t" ]]; }

echo "Durable tables, row for row"
durable=(
  auth.users auth.identities auth.instances auth.mfa_factors auth.webauthn_credentials
  auth.sso_providers auth.sso_domains auth.saml_providers auth.oauth_clients auth.oauth_consents
  auth.custom_oauth_providers storage.buckets storage.objects
)
mapfile -t user_tables < <(q "$source_url" "
  select format('%I.%I', schemaname, tablename) from pg_tables
   where schemaname in ($user_schemas) order by 1")
for table in "${durable[@]}" "${user_tables[@]}"; do
  if ! exists_in "$source_url" "$table"; then continue; fi
  if ! exists_in "$target_url" "$table"; then
    fail "$table is missing in the target"
    continue
  fi
  rows="$(q "$source_url" "select count(*) from $table")"
  same "$table ($rows rows)" "select t::text from $table t order by 1"
done
expect "at least one user restored" "t" "select count(*) > 0 from auth.users"

echo "Transient tables and the audit log stay empty"
for table in auth.sessions auth.refresh_tokens auth.mfa_amr_claims auth.mfa_challenges \
  auth.one_time_tokens auth.flow_state auth.saml_relay_states auth.oauth_authorizations \
  auth.oauth_client_states auth.webauthn_challenges auth.audit_log_entries \
  storage.s3_multipart_uploads storage.s3_multipart_uploads_parts; do
  if exists_in "$target_url" "$table"; then
    expect "$table is empty" "0" "select count(*) from $table"
  fi
done

echo "Migration ledgers untouched"
for table in auth.schema_migrations storage.migrations; do
  if ! exists_in "$source_url" "$table"; then continue; fi
  if [[ "$(q "$source_url" "select has_table_privilege('$table', 'select')")" != "t" ]]; then
    echo "  skip  $table (postgres may not read it on this image)"
    continue
  fi
  same "$table" "select t::text from $table t order by 1"
done

echo "Objects and privileges"
same "user triggers on auth and storage tables" "
  select tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) from pg_trigger
   where not tgisinternal and tgrelid::regclass::text ~ '^(auth|storage)\.' order by 1, 2"
same "policies" "
  select schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check
    from pg_policies order by 1, 2, 3"
same "supabase_realtime publication membership" "
  select schemaname, tablename from pg_publication_tables where pubname = 'supabase_realtime' order by 1, 2"
same "owners and privileges of relations in the user schemas" "
  select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner),
         coalesce((select string_agg(a::text, ',' order by a::text) from unnest(c.relacl) a), '(default)')
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname in ($user_schemas) and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
   order by 1, 2"
same "owners and privileges of functions in the user schemas" "
  select p.oid::regprocedure::text, pg_get_userbyid(p.proowner),
         coalesce((select string_agg(a::text, ',' order by a::text) from unnest(p.proacl) a), '(default)')
    from pg_proc p where p.pronamespace::regnamespace::text in ($user_schemas) order by 1"
same "owners and privileges of the user schemas" "
  select nspname, pg_get_userbyid(nspowner),
         coalesce((select string_agg(a::text, ',' order by a::text) from unnest(nspacl) a), '(default)')
    from pg_namespace where nspname in ($user_schemas) order by 1"
same "function definitions" "
  select p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid)) from pg_proc p
   where p.pronamespace::regnamespace::text in ($user_schemas) and p.prokind in ('f', 'p') order by 1"
same "view definitions" "
  select schemaname, viewname, md5(definition) from pg_views where schemaname in ($user_schemas) order by 1, 2"
same "sequence values" "
  select schemaname, sequencename, last_value from pg_sequences where schemaname in ($user_schemas) order by 1, 2"
same "row level security flags" "
  select c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity from pg_class c
   where c.relnamespace::regnamespace::text in ($user_schemas) and c.relkind in ('r', 'p') order by 1"
same "foreign keys to auth.users" "
  select conrelid::regclass::text, conname, convalidated, pg_get_constraintdef(oid) from pg_constraint
   where contype = 'f' and confrelid = 'auth.users'::regclass order by 1, 2"
expect "foreign keys to auth.users are validated" "0" "
  select count(*) from pg_constraint where contype = 'f' and confrelid = 'auth.users'::regclass and not convalidated"

echo "Behaviour of the restored project"
if exists_in "$target_url" public.profiles; then
  expect "a new user gets a profile from on_auth_user_created" "1" "
    begin;
    insert into auth.users (instance_id, id, aud, role, email, raw_user_meta_data)
    values ('00000000-0000-0000-0000-000000000000', 'f0000000-0000-4000-8000-00000000000f',
            'authenticated', 'authenticated', 'new-user@example.test', '{\"username\": \"newbie\"}');
    select count(*) from public.profiles where id = 'f0000000-0000-4000-8000-00000000000f' and username = 'newbie';
    rollback;"
fi
if exists_in "$target_url" public.notes && [[ "$(q "$target_url" "select pg_has_role('authenticated', 'member')")" == "t" ]]; then
  rls="
    begin;
    set local role authenticated;
    \\o /dev/null
    select set_config('request.jwt.claim.sub', 'a0000000-0000-4000-8000-00000000000a', true),
           set_config('request.jwt.claims', '{\"sub\": \"a0000000-0000-4000-8000-00000000000a\", \"role\": \"authenticated\"}', true);
    \\o
    select count(*) from public.notes;
    rollback;"
  expect "RLS: a signed-in user sees only their own notes" \
    "$(q "$source_url" "select count(*) from public.notes where owner = 'a0000000-0000-4000-8000-00000000000a'")" "$rls"
fi

echo "compare: $passed checks passed, $failed failed"
[[ $failed -eq 0 ]]
