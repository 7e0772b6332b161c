#!/usr/bin/env bash
# Installs the system packages Director builds and tests with, when they are missing.
#
# As root: apt-get install; when apt says a package is unknown (a fresh machine has empty
# package lists) it runs `apt-get update` once and tries again. Not root: prints what to
# install and fails. APT_GET overrides the apt-get command (the test suite uses this).
set -euo pipefail

APT_GET=${APT_GET:-apt-get}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
missing=()

have_pc() { "$PKG_CONFIG" --exists "$1" 2>/dev/null; }
command -v "$PKG_CONFIG" >/dev/null 2>&1 || missing+=(pkg-config)
have_pc yaml-0.1 || missing+=(libyaml-dev)
have_pc lmdb || missing+=(liblmdb-dev)
[ -n "${DIRECTOR_SKIP_TOOLS:-}" ] || command -v mdb_dump >/dev/null 2>&1 || missing+=(lmdb-utils)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] && [ -z "${DIRECTOR_FORCE_ROOT:-}" ]; then
    echo "director: missing system packages: ${missing[*]}" >&2
    echo "director: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "director: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! out=$("$APT_GET" install -y -q "${missing[@]}" 2>&1); then
    if grep -qiE "unable to locate|has no installation candidate|no packages found" <<<"$out"; then
        echo "director: package lists are empty or stale; running apt-get update" >&2
        "$APT_GET" update -q >&2
        "$APT_GET" install -y -q "${missing[@]}" >&2
    else
        printf '%s\n' "$out" >&2
        exit 1
    fi
fi
