"""Google Colab's package set beside this checkout: build it, check how morphlib installs into
it, and refresh its pins.

    python tests/colab_env.py                        # build .venv-colab and check the install
    python tests/colab_env.py --check                # only the install check, in .venv-colab
    python tests/colab_env.py --refresh pip-freeze.txt --runtime "2026.07 (...)"   # new pins

**Building** makes a virtual environment without the system's packages, installs Colab's
pins (``tests/requirements-colab.txt``, pip first), then the test harness constrained by
them (nbval, hypothesis, Playwright; and widgetsnbextension 3.6.1, the classic Notebook's
page code for ipywidgets 7.7.1 — Colab's page is its own, and 3.6.10, Colab's pin, cannot
create Output widgets there), then **checks the install**: pip's dry-run report of
installing this checkout as the notebooks' first cell does (``pip install SOURCE STRETCHER``) must
list morphlib and python-stretch alone — no pinned package upgraded or downgraded, nothing else added — so that
installing morphlib in Colab never replaces Colab's TensorFlow or ipywidgets and never
asks for a restart of the runtime. Then it installs it.

**Refreshing** takes ``pip-freeze.txt`` of a Colab runtime (googlecolab/backend-info, at the
commit its README names for the runtime version), installs what morphlib, its notebooks
and the kernel side need into a scratch environment with that freeze as constraints, and
writes every installed package that Colab has, at Colab's version, as the new pins.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PINS = os.path.join(HERE, "requirements-colab.txt")
VENV = os.path.join(REPO, ".venv-colab")

#: What the pins must cover: morphlib's runtime, its notebooks' kernel side and the classic
#: Notebook that serves them in the browser test.
TOP_LEVEL = [
    "tensorflow", "keras", "tf_keras", "tensorflow-probability", "librosa", "soundfile", "soxr", "numpy", "scipy",
    "matplotlib", "tqdm", "anywidget", "ipywidgets", "ipykernel", "ipython", "traitlets", "jupyter_client",
    "jupyter_core", "notebook", "widgetsnbextension", "nbformat", "nbclient", "nbconvert", "pytest", "pillow", "pip",
]
#: The test harness, installed after the pins and constrained by them.
HARNESS = ["nbval>=0.10", "hypothesis>=6", "playwright>=1.40", "pytest-xdist>=3.5"]
#: The classic Notebook's page code for ipywidgets 7.7.1 (Colab's page does not use it).
CLASSIC_PAGE = "widgetsnbextension==3.6.1"


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path=PINS):
    """``{canonical name: (name, version)}`` of a pins or freeze file (``name==version`` lines)."""
    pins = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if "==" in line and "@" not in line:
                name, version = (part.strip() for part in line.split("==", 1))
                pins[canonical(name)] = (name, version)
    return pins


def pip(python, *args, capture=False):
    command = [python, "-m", "pip", "--disable-pip-version-check", *args]
    print("+", " ".join(command), flush=True)
    if capture:
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout
    subprocess.run(command, check=True)


def python_of(venv):
    return os.path.join(venv, "bin", "python")


def build(venv=VENV):
    """Make ``venv`` with Colab's pins and the harness, then check and do morphlib's install."""
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    python = python_of(venv)
    pins = read_pins()
    pip(python, "install", "--quiet", f"pip=={pins['pip'][1]}")
    pip(python, "install", "--quiet", "-r", PINS)
    pip(python, "install", "--quiet", "-c", PINS, *HARNESS)
    pip(python, "install", "--quiet", "--no-deps", CLASSIC_PAGE)
    check_install(venv)
    pip(python, "install", "--quiet", REPO, *NOTEBOOK_ADDS)
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True).stdout.strip()
    print(f"{venv}: Colab's pins on Python {version} (Colab's runtime has the Python named in {os.path.basename(PINS)})")


def install_problems(report, pins):
    """What an install report would change beyond adding morphlib, in words (empty: nothing)."""
    problems = []
    for item in report.get("install", []):
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        if canonical(name) == "morphlib":
            continue
        pinned = pins.get(canonical(name))
        if pinned:
            problems.append(f"{name} {pinned[1]} (Colab's) would be replaced by {version}")
        else:
            problems.append(f"{name} {version} would be added, which Colab's runtime does not have")
    return problems


#: What the notebooks' setup cell installs beside morphlib (``STRETCHER``): new packages that
#: Colab's runtime does not have, which add to its set and replace nothing of it.
NOTEBOOK_ADDS = ("python-stretch",)


def check_install(venv=VENV):
    """Fail unless installing this checkout into ``venv`` as the notebooks do (with
    ``NOTEBOOK_ADDS``) adds morphlib and those, and changes nothing of Colab's."""
    out = pip(python_of(venv), "install", "--dry-run", "--quiet", "--report", "-", REPO, *NOTEBOOK_ADDS, capture=True)
    report = json.loads(out[out.index("{"):])
    added = {canonical(name) for name in NOTEBOOK_ADDS}
    problems = [p for p in install_problems(report, read_pins())
                if not (p.endswith("which Colab's runtime does not have") and canonical(p.split()[0]) in added)]
    installs = [f"{i['metadata']['name']} {i['metadata']['version']}" for i in report.get("install", [])]
    if problems:
        raise SystemExit("installing morphlib into Colab's package set would change it: " + "; ".join(problems)
                         + ". Loosen morphlib's requirements in pyproject.toml so that Colab's versions satisfy them.")
    if not any(canonical(i.split()[0]) == "morphlib" for i in installs):
        raise SystemExit(f"pip's report does not install morphlib: {installs}")
    print(f"install check: pip would install {', '.join(installs)} and change nothing of Colab's")


def refresh(freeze, runtime):
    """Write new pins from a Colab ``pip-freeze.txt``: the packages of ``TOP_LEVEL``'s closure."""
    colab = read_pins(freeze)
    with tempfile.TemporaryDirectory(prefix="colab-pins-") as tmp:
        constraints = os.path.join(tmp, "constraints.txt")
        with open(constraints, "w", encoding="utf-8") as f:
            f.writelines(f"{name}=={version}\n" for name, version in colab.values())
        venv = os.path.join(tmp, "venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        pip(python_of(venv), "install", "--quiet", "-c", constraints, *TOP_LEVEL)
        frozen = pip(python_of(venv), "freeze", "--all", capture=True)
    installed = {canonical(line.split("==")[0]) for line in frozen.splitlines() if "==" in line}
    lines = sorted(f"{colab[n][0]}=={colab[n][1]}" for n in installed if n in colab)
    with open(PINS, encoding="utf-8") as f:
        header = [line for line in f.read().splitlines() if line.startswith("#")]
    header = [re.sub(r"^# Runtime: .*", f"# Runtime: {runtime}", line) for line in header]
    with open(PINS, "w", encoding="utf-8") as f:
        f.write("\n".join(header + lines) + "\n")
    print(f"wrote {len(lines)} pins to {PINS}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--venv", default=VENV)
    p.add_argument("--check", action="store_true", help="only check morphlib's install in an existing environment")
    p.add_argument("--refresh", metavar="PIP_FREEZE", help="write new pins from a Colab runtime's pip-freeze.txt")
    p.add_argument("--runtime", default="", help="with --refresh: the runtime version, commit and date, for the header")
    args = p.parse_args(argv)
    if args.refresh:
        refresh(args.refresh, args.runtime)
    elif args.check:
        check_install(args.venv)
    else:
        build(args.venv)


if __name__ == "__main__":
    main()
