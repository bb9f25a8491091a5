"""How few bits a trained model's detail bank needs: its reconstructions heard with the bank's
patterns stored at 8 bits (as a model file keeps them) and coarser.

    python benchmarks/bank_bits.py MODEL_DIR LOOPS_DIR            # 8, 6, 5 and 4 bits
    python benchmarks/bank_bits.py MODEL_DIR LOOPS_DIR --bits 8 6

``MODEL_DIR`` is a trained model folder with a detail bank (studio or studio44; e.g.
``benchmarks/stereo.py --work W`` leaves W/model-stereo and W/loops), ``LOOPS_DIR`` the
loops it was trained on. Each pattern's frames are coded as ``bits``-bit steps between that
frame's lowest and highest value (``layers.quantise_rows``, which a model file uses with 8); then every
loop's reconstruction is heard (``evaluate(..., audio=True)``): mean audible LSD and
cosine. Why: a second bank (a model of each stereo channel's detail, docs/sound.md, Stereo)
fits the 60 MB a model file may take only if each bank takes fewer than 8 bits a value.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from common import cpu_description, report  # noqa: E402


def banks_of(model):
    from morphlib.model.layers import DetailBank

    return [layer for layer in model.decoder._flatten_layers() if isinstance(layer, DetailBank)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir")
    p.add_argument("loops_dir")
    p.add_argument("--bits", nargs="+", type=int, default=[8, 6, 5, 4])
    p.add_argument("--json")
    args = p.parse_args(argv)
    import morphlib as ml
    from morphlib.model.layers import dequantise_rows, quantise_rows
    from morphlib.morphing.evaluation import evaluate

    model = ml.load_model(args.model_dir)
    loops = ml.load_folder(args.loops_dir, model.settings, progress=False, cache=False)
    banks = banks_of(model)
    if not banks:
        sys.exit(f"{args.model_dir} has no detail bank: train a studio or studio44 model")
    stored = [b.patterns.numpy() for b in banks]
    rows = {}
    for bits in args.bits:
        for bank, patterns in zip(banks, stored):
            rows_of = patterns.reshape(bank.slots * bank.n_frames, bank.n_bins)
            bank.patterns.assign(dequantise_rows(*quantise_rows(rows_of, bits=bits)).reshape(patterns.shape))
        ev = evaluate(model, loops, audio=True, morph_pairs=0)
        mb = sum(b.slots * b.n_frames * b.n_bins for b in banks) * bits / 8 / 1e6
        rows[bits] = {"audio_lsd_db": ev.mean("audio_lsd_db"), "cosine_mean": ev.cosine_mean, "bank_mb": mb}
        print(f"{bits} bits: audible LSD {rows[bits]['audio_lsd_db']:.3f} dB, cosine {ev.cosine_mean:.4f}, "
              f"the bank {mb:.1f} MB", flush=True)
    report({"model_dir": os.path.basename(os.path.normpath(args.model_dir)), "loops": len(loops), "cpu": cpu_description(),
            "bits": rows}, args.json)


if __name__ == "__main__":
    main()
