"""What peak suits a warm restart: a model trained on the clock, then given more minutes.

    python benchmarks/restart.py                      # recorded drums, 1 + 1 minutes, peaks 0.3 1 3
    python benchmarks/restart.py --first 1 --total 2 --peaks 0.3 1 3 --precision float32
    python benchmarks/restart.py --quick              # CI: seconds, checks that it runs

The tutorial preset with the default recipe trains ``--first`` minutes on the clock (one
cycle, ending at the schedule's floor). Each peak then gets a copy of that folder and
``max_minutes=--total``: the difference is a new, shorter cycle from the same weights
(``Recipe.restart_peak`` × the preset's learning rate at its top, ``restart_warmup`` of
it rising). For reference a fresh run gets ``--total`` minutes in one cycle. Prints the
cosine each ends at (the tutorial's measure, on the training loops) and the CPU. Each
training runs in its own process, one after another.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

TRAIN = """
import json, sys
import numpy as np
from morphlib.data.dataset import load_folder
from morphlib.training.trainer import train
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[2])
model_dir, minutes, precision, preset = sys.argv[3], float(sys.argv[4]), sys.argv[5], sys.argv[6]
model = train(loops, model_dir, preset=preset, precision=precision, max_minutes=minutes, progress=False, verbose=False)
R = model.decode(model.encode(loops.S))
f, r = loops.S.reshape(len(loops), -1), R.reshape(len(loops), -1)
cos = np.sum(f * r, 1) / np.maximum(np.linalg.norm(f, axis=1) * np.linalg.norm(r, axis=1), 1e-30)
print(json.dumps({"cosine_mean": float(np.mean(cos)), "epochs": len(model.history)}))
"""


def set_restart_peak(model_dir, peak):
    """The copy's recipe, as its folder keeps it, with another warm-restart peak."""
    from morphlib.model.folder import META

    path = os.path.join(model_dir, META)
    with open(path) as f:
        meta = json.load(f)
    meta["recipe"]["restart_peak"] = peak
    with open(path, "w") as f:
        json.dump(meta, f, indent=2)


def main(argv=None):
    from common import cpu_description, report, run_json, training_loops

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--first", type=float, default=1.0, help="minutes of the first cycle")
    p.add_argument("--total", type=float, default=2.0, help="minutes in all, after the restart")
    p.add_argument("--peaks", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    p.add_argument("--precision", default="float32")
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--quick", action="store_true", help="8 demo loops, the tiny preset, seconds")
    p.add_argument("--work")
    p.add_argument("--json")
    args = p.parse_args(argv)
    import common

    common.IN_PROCESS = args.quick
    work = args.work or tempfile.mkdtemp(prefix="morphlib-restart-")
    folder, cache = os.path.join(work, "loops"), os.path.join(work, "cache")
    preset = "tiny" if args.quick else "tutorial"
    first, total = (0.05, 0.1) if args.quick else (args.first, args.total)
    training_loops(folder, quick=args.quick, n=args.loops)

    def run(model_dir, minutes):
        return run_json(TRAIN, [folder, cache, model_dir, minutes, args.precision, preset])

    base = os.path.join(work, "first")
    shutil.rmtree(base, ignore_errors=True)
    result = {"cpu": cpu_description(), "first_minutes": first, "total_minutes": total, "precision": args.precision,
              "first": run(base, first), "restarts": {}}
    for peak in args.peaks:
        copy = os.path.join(work, f"peak-{peak:g}")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(base, copy)
        set_restart_peak(copy, peak)
        result["restarts"][f"{peak:g}"] = run(copy, total)
        print(f"restart peak {peak:g}: cosine {result['restarts'][f'{peak:g}']['cosine_mean']:.4f}", file=sys.stderr)
    fresh = os.path.join(work, "fresh")
    shutil.rmtree(fresh, ignore_errors=True)
    result["fresh"] = run(fresh, total)
    print(f"on {result['cpu']}, {args.precision}:")
    print(f"  {first:g} min in one cycle: cosine {result['first']['cosine_mean']:.4f} ({result['first']['epochs']} epochs)")
    for peak, r in result["restarts"].items():
        print(f"  then to {total:g} min, restart peak {peak}x: cosine {r['cosine_mean']:.4f} ({r['epochs']} epochs)")
    print(f"  {total:g} min in one cycle from scratch: cosine {result['fresh']['cosine_mean']:.4f} ({result['fresh']['epochs']} epochs)")
    report(result, args.json)


if __name__ == "__main__":
    main()
