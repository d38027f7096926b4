-- Run as supabase_admin on every supabase/postgres container of the e2e job (source, target, scratch)
-- before anything else.
--
-- The image creates Supabase's roles, supautils and the auth and storage schemas, but the tables of
-- those schemas come from the Auth and Storage services' own migrations, which run when the services
-- start, and no service runs in CI. This file stands in for them: it adds, only where the image has
-- not already got them, the durable tables the seed needs (auth.identities, storage.buckets,
-- storage.objects) and storage.foldername(), owned by the service roles as on a hosted project. It
-- changes nothing the image made. Source and target get the same, so the target stays a fresh project.
\set ON_ERROR_STOP on

-- Auth: identities (one row per sign-in method of a user).
set role supabase_auth_admin;
do $$
begin
  if to_regclass('auth.identities') is null then
    create table auth.identities (
      provider_id text not null,
      user_id uuid not null references auth.users (id) on delete cascade,
      identity_data jsonb not null,
      provider text not null,
      last_sign_in_at timestamptz,
      created_at timestamptz,
      updated_at timestamptz,
      email text generated always as (lower(identity_data ->> 'email')) stored,
      id uuid not null default gen_random_uuid() primary key,
      constraint identities_provider_id_provider_unique unique (provider_id, provider)
    );
    grant all on auth.identities to postgres;
  end if;
end
$$;
reset role;

-- Storage: buckets and objects (metadata only; the bytes live in S3), and the helper the policies use.
set role supabase_storage_admin;
do $$
begin
  if to_regclass('storage.buckets') is null then
    create table storage.buckets (
      id text not null primary key,
      name text not null,
      owner uuid,
      created_at timestamptz default now(),
      updated_at timestamptz default now(),
      public boolean default false,
      avif_autodetection boolean default false,
      file_size_limit bigint,
      allowed_mime_types text[],
      owner_id text
    );
    create unique index bname on storage.buckets using btree (name);
    alter table storage.buckets enable row level security;
    grant all on storage.buckets to postgres with grant option;
    grant all on storage.buckets to anon, authenticated, service_role;
  end if;

  if to_regclass('storage.objects') is null then
    create table storage.objects (
      id uuid not null default gen_random_uuid() primary key,
      bucket_id text references storage.buckets (id),
      name text,
      owner uuid,
      created_at timestamptz default now(),
      updated_at timestamptz default now(),
      last_accessed_at timestamptz default now(),
      metadata jsonb,
      path_tokens text[] generated always as (string_to_array(name, '/')) stored,
      version text,
      owner_id text,
      user_metadata jsonb
    );
    create unique index bucketid_objname on storage.objects using btree (bucket_id, name);
    alter table storage.objects enable row level security;
    grant all on storage.objects to postgres with grant option;
    grant all on storage.objects to anon, authenticated, service_role;
  end if;

  if to_regprocedure('storage.foldername(text)') is null then
    create function storage.foldername(name text) returns text[]
    language plpgsql immutable as $fn$
    declare
      _parts text[];
    begin
      select string_to_array(name, '/') into _parts;
      return _parts[1 : array_length(_parts, 1) - 1];
    end
    $fn$;
    grant execute on function storage.foldername(text) to postgres, anon, authenticated, service_role;
  end if;
end
$$;
reset role;
