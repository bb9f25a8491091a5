"""What the benchmarks share: running a measurement in a fresh process, and an earlier
morphlib taken from git to measure as "before" in the same run."""

import contextlib
import io
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Set by a benchmark's ``--quick``: measurements that need nothing of a fresh process (no
#: variables of their own, this checkout's morphlib) run in this one. A quick run checks
#: that the code runs, not its figures, and a fresh Python with TensorFlow costs about 6 s
#: here: most of the slow test tier's time before.
IN_PROCESS = False


def run_json(code, args, *, pythonpath=ROOT, cwd=None, env=None):
    """Run ``python -c code ARGS`` and return the JSON object its last line prints.

    ``cwd`` should not be the checkout when ``pythonpath`` names another morphlib (a
    ``-c`` script imports from its working folder first); ``env`` adds variables. With
    ``IN_PROCESS`` set, a script that needs neither runs here (``run_here``).
    """
    if IN_PROCESS and pythonpath == ROOT and cwd is None and not env:
        return run_here(code, args)
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": pythonpath, **(env or {})}, cwd=cwd)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_here(code, args):
    """``run_json`` in this process: ``code`` run as ``__main__`` with ``sys.argv`` set to
    ``ARGS``; the JSON object the last line it prints holds."""
    printed, argv = io.StringIO(), sys.argv
    sys.argv = ["-c", *map(str, args)]
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "<measurement>", "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
    finally:
        sys.argv = argv
    return json.loads(printed.getvalue().strip().splitlines()[-1])


def morphlib_at(rev, folder):
    """Extract the ``morphlib`` package of git revision ``rev`` into ``folder``; return ``folder``."""
    os.makedirs(folder, exist_ok=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "morphlib"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def known(names, choices, what):
    """``names`` as a list if each is one of ``choices``, else SystemExit naming the first
    that is not (``what``: "lever", "variant") and the choices."""
    for name in names:
        if name not in choices:
            raise SystemExit(f"unknown {what} {name!r}; choose from {', '.join(choices)}")
    return list(names)


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


#: The CPU flags that decide how fast morphlib runs: the vector width and bfloat16.
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_description():
    """The CPU in words: its model name, cores and the flags of ``CPU_FLAGS`` it has (Linux's
    /proc/cpuinfo), e.g. ``"AMD EPYC, 2 cores, flags avx2 fma avx512f avx512_bf16"``."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name in ("", platform.machine(), platform.processor()):
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    have = [flag for flag in CPU_FLAGS if flag in flags]
    return f"{name}, {os.cpu_count()} cores, flags {' '.join(have) or 'none of ' + ' '.join(CPU_FLAGS)}"


def report(result, path=None):
    """Print ``result`` as the one JSON line a benchmark ends with, and write it to ``path`` too."""
    print(json.dumps(result))
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=2)


def training_loops(folder, *, quick, n=74):
    """The loops a training benchmark runs on, made in ``folder`` unless there: 8 demo loops
    when ``quick``, else ``n`` recorded-drum loops (``gm_loops``)."""
    if os.path.isdir(folder):
        return folder
    if quick:
        from morphlib.data.synth import synth_drums

        synth_drums(folder, n=8, progress=False)
    else:
        from gm_loops import gm_loops

        gm_loops(folder, n=n)
    return folder
