"""What the benchmarks share: running a measurement in a fresh process, and an earlier
morphlib taken from git to measure as "before" in the same run."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_json(code, args, *, pythonpath=ROOT, cwd=None):
    """Run ``python -c code ARGS`` and return the JSON object its last line prints.

    ``cwd`` should not be the checkout when ``pythonpath`` names another morphlib (a
    ``-c`` script imports from its working folder first).
    """
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": pythonpath}, cwd=cwd)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def morphlib_at(rev, folder):
    """Extract the ``morphlib`` package of git revision ``rev`` into ``folder``; return ``folder``."""
    os.makedirs(folder, exist_ok=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "morphlib"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def variant(text, lookup):
    """``NAME`` or ``NAME:field=value,...``: the dataclass ``lookup(NAME)`` with those fields
    changed (named by the whole text), to try a variant of a preset or a recipe."""
    import dataclasses

    name, _, overrides = text.partition(":")
    base = lookup(name)
    if not overrides:
        return base
    kinds = {f.name: f.type for f in dataclasses.fields(base)}
    changes = {}
    for item in overrides.split(","):
        key, _, value = item.partition("=")
        if key not in kinds:
            raise SystemExit(f"{text}: {key!r} is not a field of {name}; fields: {', '.join(kinds)}")
        kind = kinds[key]
        changes[key] = value if kind in (str, "str") else (int(value) if kind in (int, "int") else float(value))
    return dataclasses.replace(base, name=text, **changes)
