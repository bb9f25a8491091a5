"""A library larger than memory: the on-disk store and streaming training, at 200 to 20,000 loops.

    python benchmarks/scale.py                          # 200, 2,000 and 20,000 loops
    python benchmarks/scale.py --sizes 200 2000 --work /big/disk/folder
    python benchmarks/scale.py --quick                  # CI: 40 and 80 tiny loops

For each size, in fresh processes:
- analysis into a new store: files/s the first time, and again after 1 % of the files
  changed and 1 % were deleted (incremental: only those are analysed);
- training the tutorial preset streamed from the store: examples/s and peak RSS; at the
  sizes that fit (``--in-memory-up-to``), the same from memory, for the ratio.
Targets: streamed examples/s >= 0.9x in memory; peak RSS of streamed training grows by
<= 300 MB from 200 to 2,000 loops. The loops are variants of 200 synthetic demo loops
(each a mix of two with its own gain and start), so every file has its own content.
Needs about 0.9 MB of disk per loop (the WAV files and the store).
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from common import run_json  # noqa: E402

TARGETS = {"streamed_vs_memory_examples_per_s": 0.9, "train_peak_rss_growth_mb_200_to_2000": 300.0}

ANALYSE = """
import json, resource, sys, time
from morphlib.config import AnalysisSettings
from morphlib.data.dataset import load_folder
settings = AnalysisSettings(**json.loads(sys.argv[3]))
t = time.perf_counter()
loops = load_folder(sys.argv[1], settings, progress=False, cache=sys.argv[2], in_memory=False)
print(json.dumps({"seconds": time.perf_counter() - t, "n": len(loops),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

TRAIN = """
import json, resource, sys, time
from morphlib.model.backend import keras_callback_base
from morphlib.config import AnalysisSettings
from morphlib.data.dataset import load_folder
from morphlib.training.trainer import train
settings = AnalysisSettings(**json.loads(sys.argv[3]))
loops = load_folder(sys.argv[1], settings, progress=False, cache=sys.argv[2], in_memory=sys.argv[5] == "memory")

class Clock(keras_callback_base()):
    def on_train_begin(self, logs=None):
        self.seconds = []
    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.t)

clock = Clock()
train(loops, sys.argv[4], epochs=int(sys.argv[6]), preset=sys.argv[7], progress=False, verbose=False, callbacks=[clock])
steady = sorted(clock.seconds[1:] or clock.seconds)[len(clock.seconds[1:] or clock.seconds) // 2]
print(json.dumps({"in_memory": loops.in_memory, "n": len(loops), "epoch_seconds": clock.seconds,
                  "examples_per_s": len(loops) / steady,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_library(folder, n, *, base, seed=0):
    """``n`` distinct loops in ``folder``: mixes of two of the ``base`` signals, own gain and start."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    signals, sr = base
    for k in range(n):
        i, j = rng.choice(len(signals), 2, replace=False)
        w = rng.uniform(0.2, 0.8)
        y = np.roll(w * signals[i] + (1 - w) * signals[j], int(rng.integers(0, 2000)), axis=0) * rng.uniform(0.5, 0.9)
        path = os.path.join(folder, f"{k // 1000:03d}", f"loop {k:05d}.wav")  # 1,000 per subfolder
        os.makedirs(os.path.dirname(path), exist_ok=True)
        sf.write(path, y, sr, subtype="PCM_16")


def base_signals(work, n, quick):
    import soundfile as sf

    from morphlib.data.synth import synth_drums

    paths = synth_drums(os.path.join(work, "base"), n=n, progress=False, sr=8000 if quick else 22050)
    signals = [sf.read(p, dtype="float32")[0] for p in paths]
    return [s.mean(axis=1) if s.ndim == 2 else s for s in signals], sf.info(paths[0]).samplerate


def touch_one_percent(folder, n, *, base, seed):
    """Change 1 % of the loops and delete another 1 %: what an incremental run analyses."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    picked = rng.choice(n, size=2 * max(1, n // 100), replace=False)
    signals, sr = base
    for k in picked[: len(picked) // 2]:
        sf.write(os.path.join(folder, f"{k // 1000:03d}", f"loop {k:05d}.wav"), 0.3 * signals[k % len(signals)], sr, subtype="PCM_16")
    for k in picked[len(picked) // 2 :]:
        os.remove(os.path.join(folder, f"{k // 1000:03d}", f"loop {k:05d}.wav"))
    return len(picked) // 2


def run_size(n, work, *, settings, base, epochs, preset, memory_up_to):
    loops_dir, cache = os.path.join(work, f"loops-{n}"), os.path.join(work, f"cache-{n}")
    t = time.perf_counter()
    make_library(loops_dir, n, base=base, seed=n)
    print(f"{n} loops made in {time.perf_counter() - t:.0f} s; analysing", file=sys.stderr)
    s = json.dumps(settings)
    first = run_json(ANALYSE, [loops_dir, cache, s])
    changed = touch_one_percent(loops_dir, n, base=base, seed=n + 1)
    again = run_json(ANALYSE, [loops_dir, cache, s])
    out = {"loops": n, "analysis_first": {**first, "files_per_s": n / first["seconds"]},
           "analysis_incremental": {**again, "changed": changed, "deleted": changed, "files_per_s": again["n"] / again["seconds"]},
           "store_mb": sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(cache) for f in fs) / 2**20}
    modes = ["streamed"] + (["memory"] if n <= memory_up_to else [])
    for mode in modes:
        print(f"{n} loops: training {epochs} epochs, {mode}", file=sys.stderr)
        out[f"train_{mode}"] = run_json(TRAIN, [loops_dir, cache, s, os.path.join(work, f"model-{n}-{mode}"), mode, epochs, preset])
    if "train_memory" in out:
        out["streamed_vs_memory"] = out["train_streamed"]["examples_per_s"] / out["train_memory"]["examples_per_s"]
    shutil.rmtree(loops_dir, ignore_errors=True)  # the WAVs take disk; the figures are taken
    shutil.rmtree(cache, ignore_errors=True)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", type=int, default=[200, 2000, 20000])
    p.add_argument("--epochs", type=int, default=3, help="training epochs per run (the first traces, and is left out)")
    p.add_argument("--in-memory-up-to", type=int, default=2000, help="also train from memory up to this many loops")
    p.add_argument("--quick", action="store_true", help="tiny settings, 40 and 80 loops: only checks that it runs")
    p.add_argument("--work", help="working folder (default: a new temporary one; needs ~0.9 MB per loop)")
    p.add_argument("--json", help="also write the JSON object here")
    args = p.parse_args(argv)
    import common

    common.IN_PROCESS = args.quick
    sys.path.insert(0, ROOT)
    from morphlib.config import AnalysisSettings

    settings = (AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=16) if args.quick else AnalysisSettings()).to_dict()
    sizes, preset = ([40, 80], "tiny") if args.quick else (args.sizes, "tutorial")
    work = args.work or tempfile.mkdtemp(prefix="morphlib-scale-")
    base = base_signals(work, 12 if args.quick else 200, args.quick)
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}", "sizes": {}}
    for n in sizes:
        result["sizes"][n] = run_size(n, work, settings=settings, base=base, epochs=2 if args.quick else args.epochs,
                                      preset=preset, memory_up_to=args.in_memory_up_to)
    result["targets"] = check_targets(result, small=sizes[0], big=sizes[1] if len(sizes) > 1 else sizes[0])
    print_table(result)
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


def check_targets(r, *, small, big):
    out = {}
    for n, s in r["sizes"].items():
        if "streamed_vs_memory" in s:
            v = s["streamed_vs_memory"]
            out[f"{n} streamed_vs_memory_examples_per_s"] = {"value": v, "target": TARGETS["streamed_vs_memory_examples_per_s"],
                                                             "met": v >= TARGETS["streamed_vs_memory_examples_per_s"]}
    growth = r["sizes"][big]["train_streamed"]["peak_rss_mb"] - r["sizes"][small]["train_streamed"]["peak_rss_mb"]
    out[f"train_peak_rss_growth_mb_{small}_to_{big}"] = {"value": growth, "target": TARGETS["train_peak_rss_growth_mb_200_to_2000"],
                                                         "met": growth <= TARGETS["train_peak_rss_growth_mb_200_to_2000"]}
    return out


def print_table(r):
    header = ("loops", "analysis files/s", "incremental s (files/s)", "store MB", "train ex/s streamed", "ex/s memory",
              "ratio", "peak RSS MB streamed", "peak RSS MB memory")
    rows = []
    for n, s in r["sizes"].items():
        mem = s.get("train_memory")
        rows.append((str(n), f"{s['analysis_first']['files_per_s']:.0f}",
                     f"{s['analysis_incremental']['seconds']:.1f} ({s['analysis_incremental']['files_per_s']:.0f})",
                     f"{s['store_mb']:.0f}", f"{s['train_streamed']['examples_per_s']:.1f}",
                     f"{mem['examples_per_s']:.1f}" if mem else "-", f"{s['streamed_vs_memory']:.2f}" if mem else "-",
                     f"{s['train_streamed']['peak_rss_mb']:.0f}", f"{mem['peak_rss_mb']:.0f}" if mem else "-"))
    widths = [max(len(row[k]) for row in rows + [header]) for k in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print(r["machine"])
    for key, t in r["targets"].items():
        print(f"target {key}: {t['value']:.2f} (target {t['target']}) {'met' if t['met'] else 'missed'}")


if __name__ == "__main__":
    main()
