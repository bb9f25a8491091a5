"""Where a float32 epoch's time goes on this CPU: thread settings and the input pipeline.

    python benchmarks/epoch_levers.py                 # recorded drums, tutorial preset, 30 epochs each
    python benchmarks/epoch_levers.py --quick         # CI: seconds, checks that it runs

Each setting trains the tutorial preset (default recipe, float32) for ``--epochs`` epochs
in a fresh process and reports the median s/epoch after the first (which traces):
TensorFlow's default thread pools, and the inter-/intra-op pools set for 2 cores through
``TF_NUM_INTEROP_THREADS`` / ``TF_NUM_INTRAOP_THREADS``, and oneDNN held to AVX2
(``ONEDNN_MAX_CPU_ISA=AVX2``: roughly what a CPU without AVX-512 gets from its kernels,
on a CPU that has it). The input pipeline alone (the
same ``tf.data`` batches, iterated without a model) gives its share of an epoch. Ratios
in one run; the CPU is printed with them.
"""

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

TRAIN = """
import json, statistics, sys, time
from morphlib.model.backend import keras_callback_base
from morphlib.data.dataset import load_folder
from morphlib.training.trainer import train
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[2])

class Times(keras_callback_base()):
    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.t)
times = Times()
times.seconds = []
train(loops, sys.argv[3], epochs=int(sys.argv[4]), preset=sys.argv[5], precision="float32", progress=False, verbose=False,
      callbacks=[times], checkpoint_every=3600)
print(json.dumps({"s_per_epoch": statistics.median(times.seconds[1:]), "epochs": len(times.seconds)}))
"""

PIPELINE = """
import json, statistics, sys, time
from morphlib.data.dataset import load_folder
from morphlib.training.pipeline import steps_per_epoch, training_dataset
from morphlib.model.recipes import get_recipe
from morphlib.config import get_preset
loops = load_folder(sys.argv[1], progress=False, cache=sys.argv[2])
recipe, preset = get_recipe("onecycle"), get_preset(sys.argv[5])
batch = recipe.batch_size_for(preset)
steps = steps_per_epoch(len(loops), batch)
data = iter(training_dataset(loops.S, batch_size=batch, full_batches=recipe.full_batches))  # endless, as fit takes it
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


def main(argv=None):
    from common import cpu_description, report, run_json, training_loops

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--quick", action="store_true", help="8 demo loops, the tiny preset, 3 epochs, two of the settings")
    p.add_argument("--work")
    p.add_argument("--json")
    args = p.parse_args(argv)
    work = args.work or tempfile.mkdtemp(prefix="morphlib-levers-")
    folder, cache = os.path.join(work, "loops"), os.path.join(work, "cache")
    preset, epochs = ("tiny", 3) if args.quick else ("tutorial", args.epochs)
    training_loops(folder, quick=args.quick, n=args.loops)
    result = {"cpu": cpu_description(), "preset": preset, "epochs": epochs, "runs": {}}
    settings = list(SETTINGS.items())[:2] if args.quick else SETTINGS.items()  # quick: one fresh process, as each other
    for k, (name, env) in enumerate(settings):
        result["runs"][name] = run_json(TRAIN, [folder, cache, os.path.join(work, f"model-{k}"), epochs, preset], env=env)
    result["runs"]["input pipeline alone"] = run_json(PIPELINE, [folder, cache, "-", epochs, preset])
    base = result["runs"]["TensorFlow's default threads"]["s_per_epoch"]
    print(f"on {result['cpu']}, {preset} preset, float32, median of {epochs - 1} epochs:")
    for name, r in result["runs"].items():
        print(f"  {name}: {r['s_per_epoch']:.3f} s/epoch ({r['s_per_epoch'] / base:.2f}x the default)")
    report(result, args.json)


if __name__ == "__main__":
    main()
