"""morphlib against the tutorial's own implementation, on the same demo loops, in one run.

    python benchmarks/bench.py            # 74 loops, 100 epochs each (about 10 minutes on 2 cores)
    python benchmarks/bench.py --epochs 500
    python benchmarks/bench.py --quick    # CI: checks that it still runs (seconds of training)

Prints a table and one JSON object (also written with --json PATH). Absolute times on a
shared 2-core machine are noise; the ratios, measured in the same run, are the result.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

TARGETS = {
    "train_speedup": 3.0,  # >= 3x the baseline's examples per second
    "time_to_baseline_quality": 1 / 3,  # <= 1/3 of the baseline's training time
    "morph_latency_median_ms": 100.0,
    "reload_speedup": 10.0,
}


def _python(code_or_file, *args, env=None):
    cmd = [sys.executable, *(["-c", code_or_file] if "\n" in code_or_file else [code_or_file]), *map(str, args)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})
    if out.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


LOAD = """
import json, sys, time
import scipy.fft, scipy.signal, soundfile, soxr  # libraries loaded: time the analysis, not the imports
from morphlib.dataset import load_folder
t = time.perf_counter()
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - t, "n": len(loops)}))
"""

TRAIN = """
import json, resource, sys, time
import numpy as np
from morphlib.dataset import load_folder
from morphlib.backend import keras_callback_base
from morphlib.training import train
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[4])

class Clock(keras_callback_base()):
    def on_train_begin(self, logs=None):
        self.last, self.elapsed, self.seconds, self.curve = time.perf_counter(), 0.0, [], []
    def on_epoch_end(self, epoch, logs=None):
        dt = time.perf_counter() - self.last  # training and the model folder's writes
        self.seconds.append(dt)
        self.elapsed += dt
        vae = self.model
        R = np.concatenate([np.asarray(vae.decode(vae.encode(loops.S[i:i + 32]))) for i in range(0, len(loops), 32)])
        f, r = loops.S.reshape(len(loops), -1), R.reshape(len(loops), -1)
        den = np.linalg.norm(f, axis=1) * np.linalg.norm(r, axis=1)
        self.curve.append([self.elapsed, float(np.mean(np.where(den > 0, np.sum(f * r, 1) / np.maximum(den, 1e-30), 0)))])
        self.last = time.perf_counter()

clock = Clock()
train(loops, sys.argv[2], epochs=int(sys.argv[3]), preset="tutorial", progress=False, verbose=False, callbacks=[clock])
print(json.dumps({"epoch_seconds": clock.seconds, "curve": clock.curve, "cosine_mean": clock.curve[-1][1],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "training_set_mb": loops.S.nbytes / 2**20}))
"""


def morph_latency(model_dir, loops, *, n_alphas, seed=0):
    """Median and p95 ms from a new α to a waveform, morphlib vs librosa's Griffin-Lim."""
    from morphlib.morphing import interpolate, load_model
    from morphlib.spectral import griffin_lim, griffin_lim_librosa, magnitude, spectral_convergence

    model = load_model(model_dir)
    z = model.encode(loops.S[:2])
    alphas = np.random.default_rng(seed).random(n_alphas)
    out = {}
    for name, phase in (("morphlib", griffin_lim), ("librosa_griffinlim_32", griffin_lim_librosa)):
        phase(model.decode(z[0])[0], model.settings)  # warm up
        times, scs = [], []
        for k, a in enumerate(alphas):
            t = time.perf_counter()
            S = model.decode(interpolate(z[0], z[1], a))[0]
            y = phase(S, model.settings, n_iter=32, seed=k)
            times.append(1000 * (time.perf_counter() - t))
            scs.append(spectral_convergence(S, magnitude(y, model.settings)))
        out[name] = {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)), "spectral_convergence": float(np.mean(scs))}
    return out


def time_to_reach(curve, target):
    return next((t for t, c in curve if c >= target), None)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="8 loops, 2 epochs: only checks that everything runs")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--work", help="working folder (default: a new temporary one)")
    p.add_argument("--json", help="also write the JSON object here")
    args = p.parse_args(argv)
    epochs, n_loops = (2, 8) if args.quick else (args.epochs, args.loops)
    work = args.work or tempfile.mkdtemp(prefix="morphlib-bench-")
    from morphlib.synth import synth_drums

    loops_dir, cache = os.path.join(work, "loops"), os.path.join(work, "cache")
    synth_drums(loops_dir, n=n_loops, progress=False)
    print(f"{n_loops} demo loops, {epochs} epochs, working in {work}", file=sys.stderr)

    cold = _python(LOAD, loops_dir, cache)["seconds"]
    reload = _python(LOAD, loops_dir, cache)["seconds"]

    from morphlib.dataset import load_folder

    loops = load_folder(loops_dir, progress=False, cache=cache)
    x_path = os.path.join(work, "x.npy")
    np.save(x_path, loops.S)
    print("baseline: tutorial pipeline (tf_keras + tfp.layers), TF_ENABLE_ONEDNN_OPTS=0 so that it does not abort", file=sys.stderr)
    base = _python(os.path.join(HERE, "tutorial_baseline.py"), x_path, epochs)
    print("morphlib: tutorial preset, TensorFlow's default settings", file=sys.stderr)
    model_dir = os.path.join(work, f"model-{int(time.time())}")
    ours = _python(TRAIN, loops_dir, model_dir, epochs, cache)
    latency = morph_latency(model_dir, loops, n_alphas=5 if args.quick else 40)

    steady = lambda s: float(np.median(s[1:] if len(s) > 1 else s))  # noqa: E731  (epoch 1 traces the graph)
    base_epoch, our_epoch = steady(base["epoch_seconds"]), steady(ours["epoch_seconds"])
    base_total = float(np.sum(base["epoch_seconds"]))
    reach = time_to_reach(ours["curve"], base["cosine_mean"])
    result = {
        "loops": n_loops,
        "epochs": epochs,
        "baseline_note": "tf_keras + tfp.layers with TF_ENABLE_ONEDNN_OPTS=0 (it aborts otherwise)",
        "train_seconds_per_epoch": {"baseline": base_epoch, "morphlib": our_epoch},
        "train_speedup": base_epoch / our_epoch,
        "cosine_mean_after_epochs": {"baseline": base["cosine_mean"], "morphlib": ours["cosine_mean"]},
        "baseline_training_seconds": base_total,
        "morphlib_seconds_to_baseline_cosine": reach,
        "time_to_baseline_quality": (reach / base_total) if reach is not None else None,
        "morph_latency": latency,
        "morph_latency_median_ms": latency["morphlib"]["median_ms"],
        "load_seconds": {"cold": cold, "reload": reload},
        "reload_speedup": cold / reload,
        "peak_rss_mb": {"baseline": base["peak_rss_mb"], "morphlib": ours["peak_rss_mb"]},
        "training_set_mb": ours["training_set_mb"],
        "n_params": {"baseline": base["n_params"]},
    }
    result["targets"] = check_targets(result)
    print_table(result)
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


def check_targets(r):
    out = {}
    for key, target in TARGETS.items():
        value = r[key]
        lower_is_better = key in ("time_to_baseline_quality", "morph_latency_median_ms")
        if value is None:
            out[key] = {"target": target, "value": None, "met": False, "note": "not reached within the run"}
            continue
        met = value <= target if lower_is_better else value >= target
        by = (value / target) if lower_is_better else (target / value)
        out[key] = {"target": target, "value": value, "met": met, "note": "met" if met else f"missed by a factor of {by:.2f}"}
    lat = r["morph_latency"]
    met = lat["morphlib"]["spectral_convergence"] <= lat["librosa_griffinlim_32"]["spectral_convergence"] * 1.001
    out["morph_spectral_convergence_no_worse"] = {"met": bool(met), "note": "met" if met else "worse than librosa's"}
    return out


def print_table(r):
    lat = r["morph_latency"]
    rows = [
        ("training s/epoch", f"{r['train_seconds_per_epoch']['baseline']:.3f}", f"{r['train_seconds_per_epoch']['morphlib']:.3f}", f"{r['train_speedup']:.2f}x faster"),
        (f"cosine mean after {r['epochs']} epochs", f"{r['cosine_mean_after_epochs']['baseline']:.3f}", f"{r['cosine_mean_after_epochs']['morphlib']:.3f}", ""),
        ("time to baseline's final cosine (s)", f"{r['baseline_training_seconds']:.1f}", "—" if r["morphlib_seconds_to_baseline_cosine"] is None else f"{r['morphlib_seconds_to_baseline_cosine']:.1f}", "" if r["time_to_baseline_quality"] is None else f"{r['time_to_baseline_quality']:.2f} of its time"),
        ("morph latency median / p95 (ms)", f"{lat['librosa_griffinlim_32']['median_ms']:.0f} / {lat['librosa_griffinlim_32']['p95_ms']:.0f}", f"{lat['morphlib']['median_ms']:.0f} / {lat['morphlib']['p95_ms']:.0f}", "decode + 32 Griffin-Lim iterations"),
        ("spectral convergence of the morph", f"{lat['librosa_griffinlim_32']['spectral_convergence']:.4f}", f"{lat['morphlib']['spectral_convergence']:.4f}", "lower is better"),
        ("folder load cold / reload (s)", "", f"{r['load_seconds']['cold']:.2f} / {r['load_seconds']['reload']:.2f}", f"{r['reload_speedup']:.1f}x"),
        ("peak RSS of training (MB)", f"{r['peak_rss_mb']['baseline']:.0f}", f"{r['peak_rss_mb']['morphlib']:.0f}", f"training set {r['training_set_mb']:.0f} MB float32"),
    ]
    widths = [max(len(row[k]) for row in rows + [("what", "baseline", "morphlib", "")]) for k in range(4)]
    for row in [("what", "baseline", "morphlib", ""), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print()
    for key, t in r["targets"].items():
        print(f"target {key}: {t['note']}")


if __name__ == "__main__":
    main()
