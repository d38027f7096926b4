#!/usr/bin/env bash
# PostgreSQL 17 (server and client) for the tests on a Debian 12 machine, without PGDG: Debian 13's
# packages need a newer glibc, so they live in a minimal Debian 13 root of their own and every
# program runs through that root's own dynamic loader. Wrapper scripts in a Debian-like layout
# (ROOT/pg/usr/lib/postgresql/17/bin, with lib/ and share/ linked from the root) let initdb, pg_ctl
# and the server find each other and their files.
#
# Usage: scripts/install-postgres-17.sh [ROOT]   (default /var/cache/supabase-complete-backup/pg17)
# Prints the wrappers' bin directory on its last line. Idempotent: a working install is reused.
set -euo pipefail

root=${1:-${PG17_ROOT:-/var/cache/supabase-complete-backup/pg17}}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
bin="$root/pg/usr/lib/postgresql/17/bin"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -x "$bin/pg_dump" ] && "$bin/pg_dump" --version 2>/dev/null | grep -q '(PostgreSQL) 17'; then
  echo "$bin"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq debootstrap >/dev/null
fi

as_root rm -rf "$root.partial"
as_root mkdir -p "$root.partial"
as_root debootstrap --variant=minbase trixie "$root.partial" "$mirror" >&2
as_root mkdir -p "$root.partial/etc/postgresql-common"
echo 'create_main_cluster = false' | as_root tee "$root.partial/etc/postgresql-common/createcluster.conf" >/dev/null
as_root chroot "$root.partial" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  postgresql-17 postgresql-client-17 postgresql-contrib >&2 || {
  # postgresql-contrib is a virtual package on some releases; the contrib modules ship in postgresql-17.
  as_root chroot "$root.partial" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql-17 postgresql-client-17 >&2
}
as_root chroot "$root.partial" apt-get clean

# Wrappers: the real binaries stay in the root; each wrapper runs one through the root's loader and
# passes its own path as argv[0], so PostgreSQL locates share/ and lib/ (and initdb finds postgres)
# next to the wrapper.
libs="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu:$root/usr/lib/postgresql/17/lib"
wrap="$root.partial/pg/usr/lib/postgresql/17"
as_root mkdir -p "$wrap/bin" "$root.partial/pg/usr/share/postgresql"
as_root ln -s "$root/usr/lib/postgresql/17/lib" "$wrap/lib"
as_root ln -s "$root/usr/share/postgresql/17" "$root.partial/pg/usr/share/postgresql/17"
for program in "$root.partial"/usr/lib/postgresql/17/bin/*; do
  name=$(basename "$program")
  as_root tee "$wrap/bin/$name" >/dev/null <<WRAPPER
#!/bin/sh
exec "$root/lib64/ld-linux-x86-64.so.2" --library-path "$libs" --argv0 "\$0" "$root/usr/lib/postgresql/17/bin/$name" "\$@"
WRAPPER
  as_root chmod 755 "$wrap/bin/$name"
done

as_root rm -rf "$root"
as_root mv "$root.partial" "$root"
"$bin/pg_dump" --version >&2
echo "$bin"
