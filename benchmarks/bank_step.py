"""One optimizer step on a detail bank: Adam's fused kernel against the factored moments.

    python benchmarks/bank_step.py                 # the studio bank (96 x 151,700) and studio44's (96 x 303,252)
    python benchmarks/bank_step.py --keras-adam    # and Keras' own Adam, which FusedAdam replaced
    python benchmarks/bank_step.py --quick         # a small bank: checks that it runs

The factored update (``FusedAdam(factored=...)``, ``Preset.detail_moments="factored"``)
keeps a row and a column of second moments instead of two bank-sized moments; this
measures, in one run on this machine, what its step costs against the fused Adam step it
replaces (ratio factored / Adam), and the optimizer state each keeps. Prints a table and
one JSON object.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from common import cpu_description  # noqa: E402

#: (name, slots, cells): the studio presets' banks (slots x frames * bins).
BANKS = (("studio", 96, 148 * 1025), ("studio44", 96, 148 * 2049))


def step_ms(shape, factored, repeats, *, keras_adam=False):
    """Milliseconds per ``apply_gradients`` on a ``shape`` variable, and the state in MB:
    morphlib's ``FusedAdam`` (its moments factored or not), or Keras' own Adam."""
    import tensorflow as tf

    from morphlib.model.vae import keras
    from morphlib.training.optimizer import FusedAdam

    g = tf.constant(np.random.default_rng(0).normal(size=shape).astype(np.float32))
    w = keras.Variable(np.zeros(shape, np.float32), name="patterns")
    if keras_adam:
        opt = keras.optimizers.Adam(learning_rate=1e-3)
    else:
        opt = FusedAdam(learning_rate=1e-3, factored=("patterns",) if factored else ())

    @tf.function
    def step():
        opt.apply_gradients([(g, w)])

    step()
    step()
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    state = sum(int(np.prod(v.shape)) for v in opt.variables) * 4 / 1e6
    return 1000 * (time.perf_counter() - started) / repeats, state


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--quick", action="store_true", help="a 16 x 4096 bank, 3 repeats")
    p.add_argument("--keras-adam", action="store_true", help="also Keras' own Adam, which FusedAdam replaced")
    p.add_argument("--json")
    args = p.parse_args(argv)
    banks = (("quick", 16, 4096),) if args.quick else BANKS
    repeats = 3 if args.quick else args.repeats
    result = {"cpu": cpu_description(), "banks": {}}
    print(f"one optimizer step on a detail bank, on {result['cpu']} ({repeats} steps each):")
    for name, slots, cells in banks:
        adam_ms, adam_mb = step_ms((slots, cells), False, repeats)
        fac_ms, fac_mb = step_ms((slots, cells), True, repeats)
        row = {"shape": [slots, cells], "adam_ms": adam_ms, "factored_ms": fac_ms, "ratio": fac_ms / adam_ms,
               "adam_state_mb": adam_mb, "factored_state_mb": fac_mb}
        if args.keras_adam:
            row["keras_adam_ms"] = step_ms((slots, cells), False, repeats, keras_adam=True)[0]
        result["banks"][name] = row
        print(f"  {name:9} {slots} x {cells:,}: Adam {adam_ms:6.1f} ms, factored {fac_ms:6.1f} ms "
              f"({row['ratio']:.2f}x); state {adam_mb:6.1f} MB against {fac_mb:4.1f} MB"
              + (f"; Keras' Adam {row['keras_adam_ms']:6.1f} ms" if args.keras_adam else ""))
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
