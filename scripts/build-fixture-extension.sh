#!/usr/bin/env bash
# Builds the test fixture's supautils emulation (test/fixture/supautils_emulation.c) for one
# PostgreSQL major and prints the absolute path of the shared library on its last line.
#
# Usage: scripts/build-fixture-extension.sh MAJOR        (MAJOR: 15 or 17)
#
# No postgresql-server-dev install: the server headers are unpacked (apt-get download + dpkg -x)
# into a cache directory; for 17 the package comes from the Debian 13 root that
# scripts/install-postgres-17.sh made. The library is compiled once per major and per hash of the
# source file, so later runs only hash the file and print the cached path.
#
# Cache: $FIXTURE_EXT_CACHE, else /var/cache/supabase-complete-backup/fixture-ext when writable
# (root), else ${XDG_CACHE_HOME:-$HOME/.cache}/supabase-complete-backup/fixture-ext.
set -euo pipefail

major=${1:?usage: build-fixture-extension.sh MAJOR}
case "$major" in 15|17) ;; *) echo "unsupported PostgreSQL major: $major" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/test/fixture/supautils_emulation.c"
pg17_root=${PG17_ROOT:-/var/cache/supabase-complete-backup/pg17}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -n "${FIXTURE_EXT_CACHE:-}" ]; then
  cache=$FIXTURE_EXT_CACHE
elif [ "$(id -u)" = 0 ] || [ -w /var/cache/supabase-complete-backup ]; then
  cache=/var/cache/supabase-complete-backup/fixture-ext
else
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/supabase-complete-backup/fixture-ext
fi

hash=$(sha256sum "$src" | cut -c1-16)
so="$cache/$hash/pg$major/supautils_emulation.so"
if [ -f "$so" ]; then echo "$so"; exit 0; fi

mkdir -p "$cache"
chmod 755 "$cache"
# Parallel test workers may ask at once: one builds, the others wait and reuse.
exec 9>"$cache/.lock"
flock 9
if [ -f "$so" ]; then echo "$so"; exit 0; fi

headers="$cache/headers/pg$major"
include="$headers/usr/include/postgresql/$major/server"
if [ ! -f "$include/pg_config.h" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  package="postgresql-server-dev-$major"
  if [ "$major" = 15 ]; then
    if ! (cd "$work" && apt-get download -q "$package" >&2 2>&1); then
      as_root apt-get update -qq
      (cd "$work" && apt-get download -q "$package" >&2)
    fi
  else
    if [ ! -x "$pg17_root/usr/bin/apt-get" ]; then
      echo "no Debian 13 root at $pg17_root: run scripts/install-postgres-17.sh first" >&2
      exit 1
    fi
    download="cd /tmp && rm -f ${package}_*.deb && apt-get download -q $package"
    if ! as_root chroot "$pg17_root" sh -c "$download" >&2 2>&1; then
      as_root chroot "$pg17_root" apt-get update -qq >&2
      as_root chroot "$pg17_root" sh -c "$download" >&2
    fi
    as_root sh -c "mv '$pg17_root'/tmp/${package}_*.deb '$work'/"
  fi
  rm -rf "$headers.partial"
  mkdir -p "$(dirname "$headers")"
  dpkg -x "$work"/"${package}"_*.deb "$headers.partial"
  rm -rf "$headers"
  mv "$headers.partial" "$headers"
  chmod -R a+rX "$headers"
fi

mkdir -p "$(dirname "$so")"
gcc -std=gnu99 -O2 -Wall -Wmissing-prototypes -Werror -fPIC -shared \
  -I"$include" -o "$so.partial" "$src"
mv "$so.partial" "$so"
chmod -R a+rX "$cache/$hash"
echo "$so"
