"""morphlib against the tutorial's own implementation, on recorded drums and demo loops, in one run.

    python benchmarks/bench.py                       # recorded drums and demo loops, 74 each, every recipe, budgets
    python benchmarks/bench.py --corpus gm --recipes onecycle --budgets
    python benchmarks/bench.py --recipes --budgets 0.2 0.1 --budget-precisions float32 mixed_bfloat16
    python benchmarks/bench.py --quick               # CI: checks that it still runs (seconds of training)

For each corpus: the tutorial's code (tf_keras + tfp.layers) trains its 500 epochs, then
morphlib's tutorial preset trains with each recipe at its default length, and with the
default recipe on the clock (``train --max-minutes M``) for each budget, M a fraction of
the time the tutorial's code took, in each precision asked (float32 holds on any CPU).
Every 5 epochs the mean cosine similarity of the reconstructions is measured (outside the
timed part), which gives the time each run needs to reach the cosine the tutorial's code
ends with. The arithmetic of one epoch over the float32 (and bfloat16) peak of a large
matrix product measured in the same run is the ceiling each s/epoch is set against.
Prints a table and one JSON object (also written with --json PATH), with the CPU and its
flags. Absolute times on a shared 2-core machine are noise; the ratios, measured in the
same run, are the result. Recorded drums: FluidR3 GM kits rendered by FluidSynth
(benchmarks/gm_loops.py).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import common  # noqa: E402

TARGETS = {
    "train_speedup": 3.0,  # each recipe: >= 3x the tutorial code's speed per epoch
    "time_to_baseline_quality": 1 / 5,  # each recipe: <= 1/5 of the tutorial code's 500 epochs
    "budget_final_cosine_vs_code": 0.0,  # on a budget of 1/5 of the code's time: its final cosine or better
    "final_cosine_vs_tutorial_recipe": 0.0,  # a faster recipe ends no worse than the tutorial recipe
    "morph_latency_median_ms": 100.0,
    "reload_speedup": 10.0,
}


def _python(code_or_file, *args, env=None, keep=None):
    """Run a measurement in a fresh process; its JSON result. With ``keep`` (a file), a result
    kept there by an earlier run with the same --work is reused, and a new one is kept."""
    if keep and os.path.exists(keep):
        with open(keep) as f:
            return json.load(f)
    if common.IN_PROCESS and "\n" in code_or_file and not env:  # --quick: a script here, a file (the tutorial's code) apart
        result = common.run_here(code_or_file, args)
    else:
        cmd = [sys.executable, *(["-c", code_or_file] if "\n" in code_or_file else [code_or_file]), *map(str, args)]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})
        if out.returncode != 0:
            raise SystemExit(f"{cmd[:3]} failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    if keep:
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        with open(keep, "w") as f:
            json.dump(result, f)
    return result


LOAD = """
import json, sys, time
import scipy.fft, scipy.signal, soundfile, soxr  # libraries loaded: time the analysis, not the imports
from morphlib.data.dataset import load_folder
t = time.perf_counter()
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - t, "n": len(loops)}))
"""

TRAIN = """
import json, resource, sys, time
import numpy as np
from morphlib.data.dataset import load_folder
from morphlib.model.backend import keras_callback_base
from morphlib.model.vae import VAE
from morphlib.training.trainer import train
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[4])
epochs = None if sys.argv[3] == "default" else int(sys.argv[3])
EVERY = int(sys.argv[7])  # epochs between cosine measurements (outside the timed part)
max_minutes = None if sys.argv[8] == "none" else float(sys.argv[8])
precision = None if sys.argv[9] == "recipe" else sys.argv[9]
seed = int(sys.argv[10]) if len(sys.argv) > 10 else 0
levers = sys.argv[11].split("+") if len(sys.argv) > 11 and sys.argv[11] else []  # start_levers.py's, for plateau.py
sys.path.insert(0, sys.argv[6])
import start_levers
loops = start_levers.scaled_loops(loops, levers)

class Clock(keras_callback_base()):
    def on_train_begin(self, logs=None):
        self.last, self.elapsed, self.seconds, self.curve = time.perf_counter(), 0.0, [], []
        self.judge = VAE.from_config(self.model.get_config())  # float32, whatever the training arithmetic
        start_levers.shape_like(self.judge, levers)
    def on_epoch_end(self, epoch, logs=None):
        dt = time.perf_counter() - self.last  # training and the model folder's writes
        self.seconds.append(dt)
        self.elapsed += dt
        if (epoch + 1) % EVERY and epoch + 1 != self.params["epochs"] and not self.model.stop_training:
            self.last = time.perf_counter()
            return
        self.judge.set_weights(self.model.get_weights())
        vae = self.judge
        R = np.concatenate([np.asarray(vae.decode(vae.encode(loops.S[i:i + 32]))) for i in range(0, len(loops), 32)])
        f, r = loops.S.reshape(len(loops), -1), R.reshape(len(loops), -1)
        den = np.linalg.norm(f, axis=1) * np.linalg.norm(r, axis=1)
        self.curve.append([self.elapsed, float(np.mean(np.where(den > 0, np.sum(f * r, 1) / np.maximum(den, 1e-30), 0)))])
        self.last = time.perf_counter()

clock = Clock()
from common import variant
from morphlib.config import get_preset
from morphlib.model.recipes import get_recipe
recipe = variant(sys.argv[5], get_recipe)
ramp = (recipe.warmup or start_levers.RAMP) * (epochs or recipe.epochs_for(get_preset("tutorial")))
extra = [start_levers.start_callback(levers, loops, ramp)] if levers else []
# the cosine is measured outside the clock's time too: the budget pauses while it is measured
train(loops, sys.argv[2], epochs=epochs, preset="tutorial", recipe=recipe, precision=precision,
      max_minutes=max_minutes, seed=seed, progress=False, verbose=False, callbacks=[clock, *extra])
print(json.dumps({"epoch_seconds": clock.seconds, "curve": clock.curve, "cosine_mean": clock.curve[-1][1],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "training_set_mb": loops.S.nbytes / 2**20}))
"""


def morph_latency(model_dir, loops, *, n_alphas, seed=0):
    """Median and p95 ms from a new α to a waveform, morphlib vs librosa's Griffin-Lim."""
    from morphlib.model.morphmodel import interpolate, load_model
    from morphlib.sound.spectral import griffin_lim, griffin_lim_librosa, magnitude, spectral_convergence

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


def steady(seconds):
    """Median seconds per epoch, leaving out the first (it traces the graph)."""
    return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))


def make_corpus(kind, folder, n):
    if kind == "gm":
        from gm_loops import gm_loops

        gm_loops(folder, n=n)
    else:
        from morphlib.data.synth import synth_drums

        synth_drums(folder, n=n, progress=False)


def slug(name):
    """A run's name as a file name (its kept result and model folder)."""
    return re.sub(r"[^A-Za-z0-9.=]+", "_", name).strip("_")


def run_corpus(kind, work, *, n_loops, baseline_epochs, recipes, epochs, budgets=(), budget_precisions=("float32",),
               budget_recipes=None, least_minutes=0.0):
    """The tutorial's code, every recipe, and the default recipe (or each of ``budget_recipes``)
    on each budget, on one corpus: s/epoch, cosine curves, time to the code's quality, final
    cosine on the clock."""
    from morphlib.data.dataset import load_folder
    from morphlib.model.recipes import DEFAULT_RECIPE

    loops_dir, cache = os.path.join(work, kind), os.path.join(work, "cache")
    make_corpus(kind, loops_dir, n_loops)
    loops = load_folder(loops_dir, progress=False, cache=cache)
    x_path = os.path.join(work, f"x-{kind}.npy")
    np.save(x_path, loops.S)
    print(f"{kind}: the tutorial's code (tf_keras + tfp.layers, TF_ENABLE_ONEDNN_OPTS=0), {baseline_epochs} epochs", file=sys.stderr)
    kept = os.path.join(work, "results")
    base = _python(os.path.join(HERE, "tutorial_baseline.py"), x_path, baseline_epochs, keep=os.path.join(kept, f"{kind}-baseline.json"))
    base_total = float(np.sum(base["epoch_seconds"]))
    out = {"loops": len(loops), "baseline": {"epochs": baseline_epochs, "s_per_epoch": steady(base["epoch_seconds"]),
                                             "seconds": base_total, "cosine_mean": base["cosine_mean"],
                                             "peak_rss_mb": base["peak_rss_mb"], "n_params": base["n_params"]}, "recipes": {}}
    every = 1 if n_loops < 20 else 5
    runs = [(recipe, recipe, None, "recipe", every) for recipe in recipes]
    # On the clock: the cosine only at the end (a measurement inside the budget would spend it).
    runs += [(f"{recipe} on {fraction:g} of the code's time, {precision}", recipe, fraction, precision, 10**9)
             for recipe in (budget_recipes or [DEFAULT_RECIPE]) for fraction in budgets for precision in budget_precisions]
    for name, recipe, fraction, precision, every_n in runs:
        minutes = None if fraction is None else max(fraction * base_total / 60, least_minutes)
        print(f"{kind}: morphlib, tutorial preset, {name}" + (f" ({minutes:.2f} min)" if minutes else ""), file=sys.stderr)
        model_dir, result = os.path.join(work, f"model-{kind}-{slug(name)}"), os.path.join(kept, f"{kind}-{slug(name)}.json")
        if not os.path.exists(result) and os.path.isdir(model_dir):
            shutil.rmtree(model_dir)  # a run that did not finish: measure it again from scratch
        ours = _python(TRAIN, loops_dir, model_dir, epochs or "default" if fraction is None else "default", cache, recipe, HERE,
                       every_n, "none" if minutes is None else minutes, precision,
                       keep=result)
        reach = time_to_reach(ours["curve"], base["cosine_mean"])
        from common import variant
        from morphlib.model.recipes import get_recipe, pick_precision

        from morphlib.training.pipeline import steps_per_epoch

        the_recipe = variant(recipe, get_recipe)
        batch = the_recipe.batch_size or 16  # the tutorial preset's
        out["recipes"][name] = {  # an epoch of whole batches only: another number of examples
            "examples_per_epoch": steps_per_epoch(len(loops), batch) * batch if the_recipe.full_batches else len(loops),
            "model_dir": model_dir, "epochs": len(ours["epoch_seconds"]), "s_per_epoch": steady(ours["epoch_seconds"]),
            "seconds": float(np.sum(ours["epoch_seconds"])), "cosine_mean": ours["cosine_mean"],
            "speedup_per_epoch": steady(base["epoch_seconds"]) / steady(ours["epoch_seconds"]),
            "seconds_to_baseline_cosine": reach, "time_to_baseline_quality": None if reach is None else reach / base_total,
            "peak_rss_mb": ours["peak_rss_mb"], "training_set_mb": ours["training_set_mb"],
            "curve": ours["curve"], "budget_fraction": fraction, "budget_minutes": minutes,
            "precision": pick_precision(variant(recipe, get_recipe).precision) if precision == "recipe" else precision,
        }
    return out, loops


CEILING = """
import json, sys, time
import numpy as np
from morphlib.model.backend import keras_tf_tfp
from morphlib.config import AnalysisSettings, get_preset
from morphlib.model.vae import build_vae
keras, tf, _ = keras_tf_tfp()
n_loops, batch = int(sys.argv[1]), int(sys.argv[2])

def flops_per_example(model):
    # Multiply-adds of the layers with a kernel: a Dense on every frame, a convolution at every
    # output step, a transposed one at every input step (PatchConv1D and PatchConv1DTranspose
    # are the same arithmetic as matrix products); 2 FLOPs each.
    total = 0
    for layer in model.layers:
        kernel = next((w for w in layer.weights if len(w.shape) >= 2), None)
        if kernel is None:
            continue
        size = int(np.prod(kernel.shape))
        if type(layer).__name__.endswith("Conv1DTranspose"):
            steps = int(layer.input.shape[1])
        elif type(layer).__name__.endswith("Conv1D") or len(layer.output.shape) == 3:
            steps = int(layer.output.shape[1])
        else:
            steps = 1
        total += 2 * size * steps
    return total

vae = build_vae(AnalysisSettings(), get_preset("tutorial"))
forward = flops_per_example(vae.encoder) + flops_per_example(vae.decoder)
steps = -(-n_loops // batch)
adam = 10 * vae.n_params * steps  # a few operations per weight and step
epoch = 3 * forward * n_loops + adam  # the backward pass costs about twice the forward

def peak(dtype, n=2048, k=10):
    a = tf.random.normal((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    f = tf.function(lambda x: tf.matmul(x, x))
    f(a).numpy()
    t = time.perf_counter()
    for _ in range(k):
        f(a).numpy()
    return 2 * n**3 * k / (time.perf_counter() - t)

out = {"flops_per_epoch": epoch, "forward_flops_per_example": forward, "float32_peak": peak(tf.float32),
       "bfloat16_peak": peak(tf.bfloat16)}
print(json.dumps(out))
"""


def ceiling(n_loops, batch_size=16):
    """The arithmetic of one epoch of the tutorial preset, and the float32 and bfloat16 peaks of a
    2048 x 2048 matrix product measured here: the fastest an epoch could be."""
    c = _python(CEILING, n_loops, batch_size)
    c["float32_s_per_epoch"] = c["flops_per_epoch"] / c["float32_peak"]
    c["bfloat16_s_per_epoch"] = c["flops_per_epoch"] / c["bfloat16_peak"]
    return c


def main(argv=None):
    from morphlib.model.recipes import DEFAULT_RECIPE, RECIPES

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="8 loops, 2 epochs: only checks that everything runs")
    p.add_argument("--corpus", nargs="+", choices=("gm", "demo"), default=["gm", "demo"])
    p.add_argument("--recipes", nargs="*", default=list(RECIPES), help="names, or NAME:field=value,... to try a variant (none: only the budgets)")
    p.add_argument("--epochs", type=int, help="for every recipe (default: each recipe's own)")
    p.add_argument("--budgets", nargs="*", type=float, default=[0.2, 0.1],
                   help="fractions of the tutorial code's training time given to the default recipe as max_minutes (0.2 0.1)")
    p.add_argument("--budget-recipes", nargs="+", default=None,
                   help=f"recipes of the budget runs, names or NAME:field=value,... (default {DEFAULT_RECIPE})")
    p.add_argument("--budget-precisions", nargs="+", default=None,
                   help="precisions of the budget runs (default float32, and mixed_bfloat16 where the CPU has it)")
    p.add_argument("--baseline-epochs", type=int, default=500)
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--work", help="working folder (default: a new temporary one); a run given the same one again reuses "
                                  "the measurements it holds (results/) and measures only what is missing")
    p.add_argument("--json", help="also write the JSON object here")
    args = p.parse_args(argv)
    common.IN_PROCESS = args.quick
    n_loops = 8 if args.quick else args.loops
    epochs = 2 if args.quick else args.epochs
    baseline_epochs = 2 if args.quick else args.baseline_epochs
    work = args.work or tempfile.mkdtemp(prefix="morphlib-bench-")
    from common import cpu_description
    from morphlib.model.recipes import cpu_has_bf16

    precisions = args.budget_precisions or ["float32", *(["mixed_bfloat16"] if cpu_has_bf16() else [])]
    print(f"{n_loops} loops per corpus, working in {work}", file=sys.stderr)
    result = {"default_recipe": DEFAULT_RECIPE, "cpu": cpu_description(), "corpora": {}}
    first_loops = None
    for kind in args.corpus:
        result["corpora"][kind], loops = run_corpus(kind, work, n_loops=n_loops, baseline_epochs=baseline_epochs,
                                                    recipes=args.recipes, epochs=epochs, budgets=args.budgets,
                                                    budget_precisions=precisions, budget_recipes=args.budget_recipes, least_minutes=0.05 if args.quick else 0.0)
        first_loops = first_loops or (kind, loops)
    result["ceiling"] = ceiling(n_loops)
    kind, loops = first_loops
    loops_dir, cache = os.path.join(work, kind), os.path.join(work, "cache-reload")
    cold = _python(LOAD, loops_dir, cache)["seconds"]
    reload = _python(LOAD, loops_dir, cache)["seconds"]
    some_model = next(iter(result["corpora"][kind]["recipes"].values()))["model_dir"]
    result["morph_latency"] = morph_latency(some_model, loops, n_alphas=5 if args.quick else 40)
    result["load_seconds"] = {"cold": cold, "reload": reload}
    result["targets"] = check_targets(result)
    print_table(result)
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


def check_targets(r):
    """Each target: its value, whether it is met, and by how much it is missed."""
    out = {}

    def judge(key, value, target, lower_is_better):
        if value is None:
            out[key] = {"target": target, "value": None, "met": False, "note": "not reached within the run"}
            return
        met = value <= target if lower_is_better else value >= target
        by = "" if met else (f"missed by a factor of {value / target:.2f}" if lower_is_better and target else
                             f"missed by a factor of {target / value:.2f}" if target else f"missed by {value:+.4f}")
        out[key] = {"target": target, "value": value, "met": bool(met), "note": "met" if met else by}

    for kind, c in r["corpora"].items():
        for name, ours in c["recipes"].items():
            judge(f"{kind} {name} train_speedup", ours["speedup_per_epoch"], TARGETS["train_speedup"], False)
            if ours.get("budget_fraction") is not None:  # on the clock: where it ends is what counts
                judge(f"{kind} {name} final cosine vs the code's", ours["cosine_mean"] - c["baseline"]["cosine_mean"],
                      TARGETS["budget_final_cosine_vs_code"], False)
                continue
            judge(f"{kind} {name} time_to_baseline_quality", ours["time_to_baseline_quality"], TARGETS["time_to_baseline_quality"], True)
            if "tutorial" in c["recipes"] and name != "tutorial":
                judge(f"{kind} {name} final_cosine_vs_tutorial_recipe", ours["cosine_mean"] - c["recipes"]["tutorial"]["cosine_mean"], 0.0, False)
    lat = r["morph_latency"]
    judge("morph_latency_median_ms", lat["morphlib"]["median_ms"], TARGETS["morph_latency_median_ms"], True)
    judge("reload_speedup", r["load_seconds"]["cold"] / r["load_seconds"]["reload"], TARGETS["reload_speedup"], False)
    met = lat["morphlib"]["spectral_convergence"] <= lat["librosa_griffinlim_32"]["spectral_convergence"] * 1.001
    out["morph_spectral_convergence_no_worse"] = {"met": bool(met), "note": "met" if met else "worse than librosa's"}
    return out


def print_table(r):
    header = ("corpus / run", "epochs", "s/epoch", "speed-up", "train s", "cosine", "s to baseline cosine", "of its time")
    rows = []
    for kind, c in r["corpora"].items():
        b = c["baseline"]
        rows.append((f"{kind}: tutorial's code", str(b["epochs"]), f"{b['s_per_epoch']:.3f}", "1.00x", f"{b['seconds']:.0f}", f"{b['cosine_mean']:.4f}", "", ""))
        for name, o in c["recipes"].items():
            reach = o["seconds_to_baseline_cosine"]
            rows.append((f"{kind}: recipe {name}", str(o["epochs"]), f"{o['s_per_epoch']:.3f}", f"{o['speedup_per_epoch']:.2f}x",
                         f"{o['seconds']:.0f}", f"{o['cosine_mean']:.4f}", "not reached" if reach is None else f"{reach:.0f}",
                         "" if reach is None else f"{o['time_to_baseline_quality']:.2f}"))
    widths = [max(len(row[k]) for row in rows + [header]) for k in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    c = r["ceiling"]
    print(f"\non {r['cpu']}: an epoch of the tutorial preset ({r['corpora'][next(iter(r['corpora']))]['loops']} examples) is {c['flops_per_epoch'] / 1e9:.1f} GFLOP; a 2048 x 2048 matrix "
          f"product runs at {c['float32_peak'] / 1e9:.0f} GFLOP/s in float32 and {c['bfloat16_peak'] / 1e9:.0f} in bfloat16 here, "
          f"so an epoch takes at least {c['float32_s_per_epoch']:.3f} s in float32 ({c['bfloat16_s_per_epoch']:.3f} s in bfloat16)")
    for kind, corpus in r["corpora"].items():
        for name, o in corpus["recipes"].items():
            floor = c["bfloat16_s_per_epoch"] if "bfloat16" in str(o.get("precision")) else c["float32_s_per_epoch"]
            floor *= o.get("examples_per_epoch", corpus["loops"]) / corpus["loops"]
            print(f"  {kind}: {name}: {o['s_per_epoch'] / floor:.2f}x the floor of its {o.get('examples_per_epoch', corpus['loops'])} examples per epoch")
    lat = r["morph_latency"]
    print(f"\nmorph latency median / p95: {lat['morphlib']['median_ms']:.0f} / {lat['morphlib']['p95_ms']:.0f} ms "
          f"(librosa's Griffin-Lim {lat['librosa_griffinlim_32']['median_ms']:.0f} / {lat['librosa_griffinlim_32']['p95_ms']:.0f} ms)")
    print(f"folder load cold / reload: {r['load_seconds']['cold']:.2f} / {r['load_seconds']['reload']:.2f} s\n")
    for key, t in r["targets"].items():
        print(f"target {key}: {t['note']}")


if __name__ == "__main__":
    main()
