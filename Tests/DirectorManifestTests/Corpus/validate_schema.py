#!/usr/bin/env python3
"""Validates YAML manifests against schemas/manifest.schema.json.

Usage: validate_schema.py SCHEMA FILE...
Prints one line per file, `ok FILE` or `invalid FILE: reason`, and exits 0.
Exit status 2 means the script itself could not run (missing module, unreadable schema).
"""
import json
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:
    print(f"missing module: {e}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sys.argv[2:]:
        try:
            with open(path, encoding="utf-8") as f:
                document = yaml.safe_load(f)
            # Round-trip through JSON so only JSON types reach the validator.
            document = json.loads(json.dumps(document))
        except Exception as e:  # YAML the loader rejects too: not a schema question.
            print(f"invalid {path}: yaml: {str(e).splitlines()[0]}")
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(document))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"invalid {path}: {where}: {error.message[:200]}")
        else:
            print(f"ok {path}")


main()
