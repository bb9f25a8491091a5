"""How a stereo image's details are taken and rebuilt: each choice in ``morphlib.sound.stereo``
tried on a trained model's reconstructions, one at a time, the others at their defaults.

    python benchmarks/stereo_details.py MODEL_DIR LOOPS_DIR                 # every choice
    python benchmarks/stereo_details.py MODEL_DIR LOOPS_DIR --loops 20 --iterations 2 4

``MODEL_DIR`` is a trained model folder, ``LOOPS_DIR`` the stereo loops it was trained on
(``benchmarks/stereo.py --work W`` leaves W/model-stereo and W/loops). For each stereo loop
(the first ``--loops``): the model's mid (its reconstruction, 32 Griffin-Lim iterations),
made stereo with the image taken from the fitted original, and heard against the original
channel by channel: audible LSD per channel, side-to-mid level and channel correlation
(median |error|), and the milliseconds of the render. The choices: ``CHANNEL_ITERATIONS``
(0 with details: the mid's STFT times the levels, no iterations), ``CHANNEL_COUPLING``,
``DETAIL_FLOOR``, ``DETAIL_BITS``, the channels' levels taken from the mid's own spectrum
instead of the model's magnitude (as before), and the image of bands only (details off), as
before details.
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from common import cpu_description, report  # noqa: E402


def heard(original, mid, image, settings, made_from=None):
    """(audible LSD per channel, side-to-mid error in dB, correlation error, render ms)."""
    from morphlib.sound import stereo
    from morphlib.sound.audiometrics import audible_lsd
    from morphlib.sound.spectral import magnitude

    start = time.perf_counter()
    y = stereo.render(mid, image, settings, magnitude=made_from)
    ms = 1000 * (time.perf_counter() - start)
    n = y.shape[1]
    lsd = float(np.mean([audible_lsd(magnitude(original[c], settings), y[c], settings) for c in range(2)]))
    return (lsd, stereo.side_to_mid_db(y) - stereo.side_to_mid_db(original[:, :n]),
            stereo.channel_correlation(y) - stereo.channel_correlation(original[:, :n]), ms)


def variants(args):
    """(label, {constant of stereo: value}, details on) of each choice tried."""
    out = [("the defaults", {}, True), ("bands only (before details)", {}, False),
           ("levels from the mid's own spectrum", {}, "mid")]
    out += [(f"CHANNEL_ITERATIONS = {n}", {"CHANNEL_ITERATIONS": n}, True) for n in args.iterations]
    out += [(f"CHANNEL_COUPLING = {c:g}", {"CHANNEL_COUPLING": c}, True) for c in args.couplings]
    out += [(f"DETAIL_FLOOR = {f:g}", {"DETAIL_FLOOR": f}, True) for f in args.floors]
    out += [(f"DETAIL_BITS = {b}", {"DETAIL_BITS": b}, True) for b in args.bits]
    return out


def run(label, changes, details, cases, settings):
    from morphlib.sound import stereo

    before = {name: getattr(stereo, name) for name in changes}
    try:
        for name, value in changes.items():
            setattr(stereo, name, value)
        rows = []
        for original, mid, made_from in cases:
            image = stereo.image_of(original, settings)
            rows.append(heard(original, mid, image if details else stereo.split(image, settings)[0], settings,
                              None if details == "mid" else made_from))
    finally:
        for name, value in before.items():
            setattr(stereo, name, value)
    lsd, width, corr, ms = (np.asarray(col) for col in zip(*rows))
    out = {"choice": label, "lsd_db": float(np.median(lsd)), "width_error_db": float(np.median(np.abs(width))),
           "correlation_error": float(np.median(np.abs(corr))), "render_ms": float(np.median(ms))}
    print(f"| {label} | {out['lsd_db']:.2f} | {out['width_error_db']:.2f} | {out['correlation_error']:.3f} | {out['render_ms']:.0f} |",
          flush=True)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir")
    p.add_argument("loops_dir")
    p.add_argument("--loops", type=int, default=20, help="the first N stereo loops")
    p.add_argument("--iterations", nargs="*", type=int, default=[0, 4, 6, 12])
    p.add_argument("--couplings", nargs="*", type=float, default=[0.0, 0.05, 0.2])
    p.add_argument("--floors", nargs="*", type=float, default=[0.001, 0.03])
    p.add_argument("--bits", nargs="*", type=int, default=[4, 8])
    p.add_argument("--json")
    args = p.parse_args(argv)
    import morphlib as ml
    from morphlib.data.dataset import fitted_audio

    model = ml.load_model(args.model_dir)
    loops = ml.load_folder(args.loops_dir, model.settings, progress=False, cache=False)
    stereo_ones = [k for k in range(len(loops)) if loops.image(k) is not None][: args.loops]
    if not stereo_ones:
        sys.exit(f"{args.loops_dir} holds no stereo loop")
    R = model.reconstruct(np.asarray(loops.S[stereo_ones], np.float32))
    cases = [(fitted_audio(loops.infos[k].path, model.settings)[0], model.to_audio(r), r) for k, r in zip(stereo_ones, R)]
    print(f"\n{len(cases)} stereo loops of {args.loops_dir}, {model.settings.sr} Hz ({cpu_description()})")
    print("| choice | audible LSD per channel, dB | side-to-mid, median abs. error, dB | correlation, median abs. error | a render, ms |")
    print("| --- | --- | --- | --- | --- |")
    rows = [run(label, changes, details, cases, model.settings) for label, changes, details in variants(args)]
    report({"model_dir": os.path.basename(os.path.normpath(args.model_dir)), "loops": len(cases), "cpu": cpu_description(),
            "date": time.strftime("%Y-%m-%d"), "rows": rows}, args.json)


if __name__ == "__main__":
    main()
