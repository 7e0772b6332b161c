#!/usr/bin/env bash
# What the test suite needs beyond the build: python3 with the `lmdb` and `jsonschema`
# packages (tests read the daemon's table with them and validate schemas).
set -euo pipefail
python3 -c 'import lmdb, jsonschema' 2>/dev/null && exit 0
echo "director: installing python packages lmdb, jsonschema for the tests" >&2
python3 -m pip install -q lmdb jsonschema >&2 || {
    echo "director: could not install python packages lmdb and jsonschema" >&2; exit 1; }
