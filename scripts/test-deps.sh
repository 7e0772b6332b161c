#!/usr/bin/env bash
# What the test suite needs beyond the build: python3 with the `lmdb`, `jsonschema` and
# `yaml` packages (tests read the daemon's table with them, validate records and manifests
# against the schemas).
set -euo pipefail
python3 -c 'import lmdb, jsonschema, yaml' 2>/dev/null && exit 0
echo "director: installing python packages lmdb, jsonschema, pyyaml for the tests" >&2
python3 -m pip install -q lmdb jsonschema pyyaml >&2 || {
    echo "director: could not install the python packages lmdb, jsonschema and pyyaml" >&2; exit 1; }
