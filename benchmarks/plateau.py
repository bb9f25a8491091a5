"""How soon the tutorial preset leaves its plateau, from each start of its ReLU layers.

    python benchmarks/plateau.py                    # demo loops and recorded drums, Glorot and He, seeds 0 1, 350 epochs
    python benchmarks/plateau.py --corpus demo --seeds 0 1 2
    python benchmarks/plateau.py --corpus demo --dead-units-at 10   # and the dead units after 10 epochs
    python benchmarks/plateau.py --corpus demo --dead-units-at 10 --dead-units-only
    python benchmarks/plateau.py --corpus demo --inits glorot --recipes onecycle "onecycle:peak=4,warmup=0.3" \
        "onecycle:peak=5,warmup=0.2" "onecycle:batch_size=8"     # other shapes of the cycle, from Glorot
    python benchmarks/plateau.py --corpus demo --inits glorot --recipes onecycle "tutorial:peak=0.3" "tutorial:peak=3" \
        --levers leaky-output bias-at-mean small-posterior kl-ramp noise-ramp adam-beta2-0.99 unit-rms
                                                    # constant rates 3e-4 and 3e-3, and the other levers tried
    python benchmarks/plateau.py --quick            # CI: checks that it still runs (seconds)

The tutorial preset trained with the default recipe (``onecycle``) laid over a fixed
number of epochs (350: about what a fifth of the tutorial code's time buys in float32 on
2 CPU cores), in float32, once with the tutorial's Glorot-uniform start of its ReLU layers
(``onecycle:init=glorot``) and once with the recipe's He-uniform start, for each seed.
The demo loops first sit on a plateau where the decoder plays every loop the same mean
spectrum (cosine ≈ 0.77); the table gives the first epoch whose cosine is above 0.80 (the
plateau left), the cosine every 50 epochs and at the end. Epochs, not seconds, so that the
figures hold on any CPU; ``bench.py`` gives the same choice on the clock.
``--dead-units-at N`` also trains each start for the first N epochs of the same run (its
schedule laid over ``--epochs``) and counts the units of the encoder's first time
convolution (``time_conv_1``) that give 0 for every loop: what keeps a start on the
plateau (``--dead-units-only``: that alone). ``--recipes`` trains other recipes, or variants
(``NAME:field=value,...``), in place of the default's (each with the start of ``--inits``);
``tutorial:peak=0.3`` is the tutorial's constant rate at 0.3 times its 1e-3.
``--levers`` also trains the first of ``--recipes`` with each lever of ``start_levers.py``
(a leaky output, the output bias at the mean, a small posterior at the start, the KL term
or the posterior's noise ramped over the warm-up, Adam's β₂ 0.99, input at unit RMS), one
run each (curves only, no dead units).
"""

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

LEFT = 0.80  # above the mean spectrum's cosine (0.77 on the demo loops)


DEAD = """
import json, sys
import numpy as np
import keras
sys.path.insert(0, sys.argv[7])
from common import variant
from morphlib.data.dataset import load_folder
from morphlib.model.recipes import get_recipe
from morphlib.training.trainer import train
from morphlib.model.backend import keras_callback_base
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[2])
recipe = variant(sys.argv[5], get_recipe)

class StopAt(keras_callback_base()):  # the first epochs of a run laid over sys.argv[8]
    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= int(sys.argv[4]):
            self.model.stop_training = True
model = train(loops, sys.argv[3], epochs=int(sys.argv[8]), preset="tutorial", recipe=recipe, precision="float32",
              seed=int(sys.argv[6]), progress=False, verbose=False, callbacks=[StopAt()])
encoder = model.encoder
layer = encoder.get_layer("time_conv_1")
outputs = keras.Model(encoder.inputs, layer.output).predict(loops.S, verbose=0)  # (loops, frames, units)
alive = (outputs > 0).any(axis=(0, 1))
print(json.dumps({"dead": int((~alive).sum()), "units": int(alive.size), "trained": len(model.history)}))
"""


def dead_units(folder, work, kind, recipe, seed, epochs, run_epochs):
    """Units of ``time_conv_1`` that give 0 for every loop after the first ``epochs`` epochs
    of a run of ``run_epochs`` with ``recipe``."""
    from bench import slug
    from common import run_json

    return run_json(DEAD, [folder, os.path.join(work, "cache"), os.path.join(work, f"dead-{kind}-{slug(recipe)}-{seed}"), epochs,
                           recipe, seed, HERE, run_epochs])



def first_above(curve, level=LEFT):
    """The first epoch of ``curve`` ([(epoch, cosine), ...]) whose cosine is above ``level``."""
    return next((epoch for epoch, c in curve if c > level), None)


def main(argv=None):
    from bench import TRAIN, _python, make_corpus, slug
    from common import cpu_description, report

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", nargs="+", choices=("gm", "demo"), default=["demo", "gm"])
    p.add_argument("--inits", nargs="+", choices=("glorot", "he"), default=["glorot", "he"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--epochs", type=int, default=350)
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--quick", action="store_true", help="8 loops, 4 epochs: only checks that it runs")
    p.add_argument("--work")
    p.add_argument("--recipes", nargs="+", default=["onecycle"], metavar="RECIPE",
                   help="recipes or variants NAME:field=value,... (default: the default recipe)")
    p.add_argument("--levers", nargs="+", default=[], metavar="LEVER",
                   help="also train the first of --recipes with each of these levers of start_levers.py: "
                        "leaky-output bias-at-mean small-posterior kl-ramp noise-ramp adam-beta2-0.99 unit-rms")
    p.add_argument("--dead-units-at", type=int, metavar="N", help="also count the dead units after N epochs from each start")
    p.add_argument("--dead-units-only", action="store_true", help="with --dead-units-at: only that, no curves")
    p.add_argument("--json")
    args = p.parse_args(argv)
    import common
    import start_levers

    start_levers.check(args.levers)
    common.IN_PROCESS = args.quick
    n, epochs, every = (8, 4, 1) if args.quick else (args.loops, args.epochs, 5)
    work = args.work or tempfile.mkdtemp(prefix="morphlib-plateau-")
    rows = []
    for kind in args.corpus:
        folder = os.path.join(work, kind)
        make_corpus(kind, folder, n)
        runs = [(r, "") for r in args.recipes] + [(args.recipes[0], lever) for lever in args.levers]
        for seed, (base, lever), init in [(s, r, i) for s in args.seeds for r in runs for i in args.inits]:
            recipe = f"{base}{',' if ':' in base else ':'}init={init}"
            row = {"corpus": kind, "init": init, "seed": seed, "epochs": epochs, "recipe": base + (f" + {lever}" if lever else "")}
            if not (args.dead_units_only and args.dead_units_at):
                print(f"{kind}: tutorial preset, {recipe} {lever} over {epochs} epochs, float32, seed {seed}", file=sys.stderr)
                out = _python(TRAIN, folder, os.path.join(work, f"model-{kind}-{slug(recipe + lever)}-{seed}"), epochs,
                              os.path.join(work, "cache"), recipe, HERE, every, "none", "float32", seed, lever)
                curve = [(round(k * every if k * every <= epochs else epochs), c) for k, (_, c) in enumerate(out["curve"], 1)]
                row.update(left_plateau_at=first_above(curve), curve=curve, cosine_mean=out["cosine_mean"])
            if args.dead_units_at and not lever:
                at = 2 if args.quick else args.dead_units_at
                row["dead_units"] = {"epochs": at, **dead_units(folder, work, kind, recipe, seed, at, epochs)}
            rows.append(row)
    print_table(rows)
    report({"cpu": cpu_description(), "runs": rows}, args.json)


def print_table(rows):
    rows_with_curves = [r for r in rows if "curve" in r]
    print_curves(rows_with_curves)
    for r in rows:
        if "dead_units" in r:
            d = r["dead_units"]
            print(f"{r['corpus']} {r['recipe']} {r['init']} seed {r['seed']}: after {d['epochs']} epochs of {r['epochs']}, {d['dead']} of "
                  f"time_conv_1's {d['units']} units ({100 * d['dead'] / d['units']:.0f} %) give 0 for every loop")


def print_curves(rows):
    if not rows:
        return
    marks = sorted({e for r in rows for e, _ in r["curve"] if e % 50 == 0} | {r["epochs"] for r in rows})
    print("corpus  start   seed  above 0.80 at " + " ".join(f"{m:>7}" for m in marks))
    for r in rows:
        at = dict(r["curve"])
        recipe = "" if r.get("recipe", "onecycle") == "onecycle" else f"  ({r['recipe']})"
        print(f"{r['corpus']:<7} {r['init']:<7} {r['seed']:>4}  {str(r['left_plateau_at'] or '—'):>13} "
              + " ".join(f"{at[m]:7.4f}" if m in at else "      —" for m in marks) + recipe)


if __name__ == "__main__":
    main()
