"""Where a float32 epoch's time goes on this CPU: thread settings and the input pipeline.

    python benchmarks/epoch_levers.py                 # recorded drums, tutorial preset, 30 epochs each
    python benchmarks/epoch_levers.py --presets tutorial studio --recipe tutorial --code-levers
                                                      # and Keras' Adam, and XLA, in place of today's choices
    python benchmarks/epoch_levers.py --quick         # CI: seconds, checks that it runs

Each setting trains the tutorial preset (default recipe, float32) for ``--epochs`` epochs
in a fresh process and reports the median s/epoch after the first (which traces):
TensorFlow's default thread pools, and the inter-/intra-op pools set for 2 cores through
``TF_NUM_INTEROP_THREADS`` / ``TF_NUM_INTRAOP_THREADS``, and oneDNN held to AVX2
(``ONEDNN_MAX_CPU_ISA=AVX2``: roughly what a CPU without AVX-512 gets from its kernels,
on a CPU that has it). The input pipeline alone (the
same ``tf.data`` batches, iterated without a model) gives its share of an epoch.
``--code-levers`` adds two choices the code made, each undone in its own process: Keras'
own Adam in place of ``FusedAdam`` (``morphlib/training/optimizer.py``), and the model
compiled with ``jit_compile=True`` (XLA, on full batches: it compiles static shapes only),
which no recipe uses. Ratios in one run; the CPU
is printed with them.
"""

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

TRAIN = """
import dataclasses, json, statistics, sys, time
from morphlib.model.backend import keras_callback_base
from morphlib.model.recipes import get_recipe
from morphlib.data.dataset import load_folder
from morphlib.training.trainer import train
import morphlib.training.trainer as trainer
from morphlib.model.vae import VAE
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[2])
lever, recipe = sys.argv[7], get_recipe(sys.argv[6])
if lever == "keras-adam":  # the optimizer before FusedAdam
    import keras
    trainer.make_optimizer = lambda preset, precision="float32": keras.optimizers.Adam(
        learning_rate=preset.learning_rate, clipnorm=preset.clipnorm or None, weight_decay=preset.weight_decay or None)
elif lever == "jit":  # XLA, on full batches (it compiles static shapes only)
    compile_ = VAE.compile
    VAE.compile = lambda self, **kw: compile_(self, **{**kw, "jit_compile": True})
    recipe = dataclasses.replace(recipe, full_batches=True)

class Times(keras_callback_base()):
    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.t)
times = Times()
times.seconds = []
train(loops, sys.argv[3], epochs=int(sys.argv[4]), preset=sys.argv[5], recipe=recipe, precision="float32", progress=False,
      verbose=False, callbacks=[times], checkpoint_every=3600)
print(json.dumps({"s_per_epoch": statistics.median(times.seconds[1:]), "epochs": len(times.seconds)}))
"""

PIPELINE = """
import json, statistics, sys, time
from morphlib.data.dataset import load_folder
from morphlib.training.pipeline import steps_per_epoch, training_dataset
from morphlib.model.recipes import get_recipe
from morphlib.config import get_preset
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[2])
recipe, preset = get_recipe(sys.argv[6]), get_preset(sys.argv[5])
batch = recipe.batch_size_for(preset)
steps = steps_per_epoch(len(loops), batch)
data = iter(training_dataset(loops.S, batch_size=batch, full_batches=recipe.full_batches).repeat())  # endless, as fit takes it
seconds = []
for epoch in range(int(sys.argv[4])):
    t = time.perf_counter()
    for _ in range(steps):
        next(data)
    seconds.append(time.perf_counter() - t)
print(json.dumps({"s_per_epoch": statistics.median(seconds[1:]), "epochs": len(seconds)}))
"""

SETTINGS = {
    "TensorFlow's default threads": {},
    "inter-op 1, intra-op 2": {"TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "2"},
    "inter-op 2, intra-op 1": {"TF_NUM_INTEROP_THREADS": "2", "TF_NUM_INTRAOP_THREADS": "1"},
    # what an AVX2-only CPU would lose on oneDNN's kernels (Eigen's keep this one's width)
    "oneDNN held to AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
}

#: Choices of the code, undone one at a time (``--code-levers``): name -> the TRAIN script's lever.
CODE_LEVERS = {"Keras' Adam in place of FusedAdam": "keras-adam", "jit_compile=True (XLA), full batches": "jit"}


def main(argv=None):
    from common import cpu_description, report, run_json, training_loops

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--presets", nargs="+", default=["tutorial"])
    p.add_argument("--recipe", default="onecycle", help="the recipe every run trains with (default: the default recipe)")
    p.add_argument("--code-levers", action="store_true", help="also Keras' Adam, and jit_compile, each in place of today's")
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--quick", action="store_true", help="8 demo loops, the tiny preset, 3 epochs, two of the settings (or the code levers)")
    p.add_argument("--work")
    p.add_argument("--json")
    args = p.parse_args(argv)
    work = args.work or tempfile.mkdtemp(prefix="morphlib-levers-")
    folder, cache = os.path.join(work, "loops"), os.path.join(work, "cache")
    presets, epochs = (["tiny"], 3) if args.quick else (args.presets, args.epochs)
    training_loops(folder, quick=args.quick, n=args.loops)
    result = {"cpu": cpu_description(), "recipe": args.recipe, "epochs": epochs, "presets": {}}
    settings = [(name, env, "none") for name, env in SETTINGS.items()]
    levers = [(name, {}, lever) for name, lever in CODE_LEVERS.items()] if args.code_levers else []
    if args.quick:  # one fresh process beside the default, as each other; or the code levers' two
        settings = settings[:1] + (levers or settings[1:2])
    else:
        settings += levers
    print(f"on {result['cpu']}, float32, {args.recipe} recipe, median of {epochs - 1} epochs:")
    for preset in presets:
        runs = result["presets"][preset] = {}
        for k, (name, env, lever) in enumerate(settings):
            model_dir = os.path.join(work, f"model-{preset}-{k}")
            runs[name] = run_json(TRAIN, [folder, cache, model_dir, epochs, preset, args.recipe, lever], env=env)
        runs["input pipeline alone"] = run_json(PIPELINE, [folder, cache, "-", epochs, preset, args.recipe])
        base = runs["TensorFlow's default threads"]["s_per_epoch"]
        print(f"{preset} preset:")
        for name, r in runs.items():
            print(f"  {name}: {r['s_per_epoch']:.3f} s/epoch ({r['s_per_epoch'] / base:.2f}x the default)")
    report(result, args.json)


if __name__ == "__main__":
    main()
