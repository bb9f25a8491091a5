"""Bytes written into the model folder while training, before and after time-based checkpoints.

    python benchmarks/drive_writes.py                   # tutorial preset, 74 demo loops, 100 epochs
    python benchmarks/drive_writes.py --epochs 500
    python benchmarks/drive_writes.py --before 8ae986a  # also run an earlier morphlib from git
    python benchmarks/drive_writes.py --epochs 500 --only-after

Each run trains in a fresh process and counts everything that process writes (Linux's
``/proc/self/io`` ``wchar``: every byte passed to ``write()``, wherever it goes) and what
morphlib counts into the model folder; both are scaled to 100 epochs. "before" is an
earlier morphlib taken from git (a checkpoint every epoch); without ``--before`` the
per-epoch checkpointing of today's code (``checkpoint_every`` below one epoch) stands in.
"""

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from common import morphlib_at, run_json  # noqa: E402

TRAIN = """
import json, sys, time
from morphlib.data.dataset import load_folder
from morphlib.training.trainer import train
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[3])
def wchar():
    with open("/proc/self/io") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("wchar:"))
kwargs = json.loads(sys.argv[5])
before, t = wchar(), time.perf_counter()
model = train(loops, sys.argv[2], epochs=int(sys.argv[4]), preset="tutorial", progress=False, verbose=False, **kwargs)
import morphlib
print(json.dumps({"morphlib": morphlib.__file__, "process_bytes": wchar() - before, "seconds": time.perf_counter() - t,
                  "folder_bytes": getattr(model, "bytes_written", None), "epochs": len(model.history)}))
"""


def run(pythonpath, loops_dir, model_dir, cache, epochs, kwargs):
    return run_json(TRAIN, [loops_dir, model_dir, cache, epochs, json.dumps(kwargs)], pythonpath=pythonpath,
                    cwd=os.path.dirname(loops_dir))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--before", help="a git revision of morphlib to measure as 'before'")
    p.add_argument("--only-after", action="store_true", help="measure today's default only (a long run without the costly 'before')")
    p.add_argument("--work", help="working folder (default: a new temporary one)")
    args = p.parse_args(argv)
    from morphlib.data.synth import synth_drums

    work = args.work or tempfile.mkdtemp(prefix="morphlib-writes-")
    loops_dir, cache = os.path.join(work, "loops"), os.path.join(work, "cache")
    synth_drums(loops_dir, n=args.loops, progress=False)
    runs = {}
    if args.only_after:
        pass
    elif args.before:
        old = morphlib_at(args.before, os.path.join(work, "before"))
        runs[f"before ({args.before}: a checkpoint every epoch)"] = run(old, loops_dir, os.path.join(work, "m-before"), cache, args.epochs, {})
    else:
        runs["per-epoch checkpoints (checkpoint_every=1e-6)"] = run(ROOT, loops_dir, os.path.join(work, "m-every"), cache, args.epochs, {"checkpoint_every": 1e-6})
    runs["after (default: every 120 s)"] = run(ROOT, loops_dir, os.path.join(work, "m-after"), cache, args.epochs, {})
    print(f"tutorial preset, {args.loops} demo loops, {args.epochs} epochs")
    print(f"{'run':52} {'s/epoch':>8} {'process MB/100 ep':>18} {'folder MB/100 ep':>17}")
    for name, r in runs.items():
        scale = 100 / r["epochs"]
        folder = "—" if r["folder_bytes"] is None else f"{r['folder_bytes'] * scale / 1e6:.0f}"
        print(f"{name:52} {r['seconds'] / r['epochs']:8.2f} {r['process_bytes'] * scale / 1e6:18.0f} {folder:>17}")
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
