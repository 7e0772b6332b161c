#!/usr/bin/env bash
# `make bench` / `make bench-quick`: builds Director in release mode, installs the peers when
# missing, compiles the floors and the probe, then runs bench/bench.py. See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=bench
VENV=$BENCH/.venv

echo "bench: building director (release)"
if ! swift build -c release --product director >/tmp/director-bench-build.log 2>&1; then
    echo "bench: release build failed (see /tmp/director-bench-build.log); Director figures will be skipped"
fi
swift build -c release --product director-bench >>/tmp/director-bench-build.log 2>&1 || true

# Peers from PyPI (and matplotlib for the plots) in a private venv.
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" || echo "bench: cannot create $VENV; supervisord, circus and plots will be skipped"
fi
if [ -x "$VENV/bin/python" ]; then
    for pkg in supervisor circus matplotlib lmdb; do
        "$VENV/bin/python" -c "import importlib.metadata as m; m.version('$pkg')" 2>/dev/null \
            || "$VENV/bin/pip" install -q "$pkg" \
            || echo "bench: cannot install $pkg from PyPI; it will be skipped"
    done
    PY="$VENV/bin/python"
else
    PY=python3
fi

# s6 and runit from Debian, only as root.
missing=()
command -v s6-svscan >/dev/null || missing+=(s6)
command -v runsvdir >/dev/null || missing+=(runit)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; } \
            || echo "bench: cannot install ${missing[*]}; they will be skipped"
    else
        echo "bench: not root, cannot install ${missing[*]}; they will be skipped"
    fi
fi

# The floors and the probe.
mkdir -p "$BENCH/.bin"
for prog in probe floor_spawn floor_restart floor_storm floor_notify; do
    cc -O2 -Wall -o "$BENCH/.bin/$prog" "$BENCH/c/$prog.c"
done
# Static, so the child's own start-up before its READY=1 is as short as it can be (Director's
# chain and the floor's run the same binary).
cc -O2 -Wall -static -o "$BENCH/.bin/notify_ready" "$BENCH/c/notify_ready.c" \
    || cc -O2 -Wall -o "$BENCH/.bin/notify_ready" "$BENCH/c/notify_ready.c"
# Director's spawn shim beside glibc's posix_spawn, compiled from the package's own C source.
cc -O2 -Wall -I "$BENCH/../Sources/CDirectorSys/include" -o "$BENCH/.bin/spawn_cost" \
    "$BENCH/c/spawn_cost.c" "$BENCH/../Sources/CDirectorSys/CDirectorSys.c"

# The cluster table's figures (a private PostgreSQL; skipped without its binaries).
python3 "$BENCH/cluster.py" "$@" || echo "bench: the cluster figures failed"

exec "$PY" "$BENCH/bench.py" "$@"
