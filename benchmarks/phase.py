"""Phase reconstruction methods side by side: consistency and time per loop or morph.

    python benchmarks/phase.py                          # recorded drums: the original magnitudes
    python benchmarks/phase.py --model MODEL_DIR        # also morphs of a trained model (α in steps of 0.1)
    python benchmarks/phase.py --quick                  # seconds: checks that it runs

Methods: Griffin-Lim from random phase (the tutorial's: 32 iterations), from
phase-gradient integration (PGHI), and, along a morph, from the phase of the previous
α step (the panel's "from the last morph"). For each: consistency (|STFT| of the output
against the magnitude it was given, dB, lower is better), the audible log-spectral
distance from the original loop where there is one, and milliseconds per loop. Prints a
table and one JSON object.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

METHODS = [("random", 32), ("random", 16), ("pghi", 0), ("pghi", 16), ("pghi", 24), ("pghi", 32)]
ALONG_MORPHS = [("previous", 16), ("previous", 32)]


def _db(x):
    return float(20 * np.log10(max(x, 1e-12)))


def measure(S, settings, start, n_iter, *, y_ref_S=None, seed=0):
    from morphlib.sound.audiometrics import audible_lsd
    from morphlib.sound.spectral import griffin_lim, magnitude, spectral_convergence

    t = time.perf_counter()
    y = griffin_lim(S, settings, n_iter=n_iter, seed=seed, init=start)
    ms = 1000 * (time.perf_counter() - t)
    row = {"ms": ms, "consistency_db": _db(spectral_convergence(S, magnitude(y, settings)))}
    if y_ref_S is not None:
        row["audio_lsd_db"] = audible_lsd(y_ref_S, y, settings)
    return row, y


def originals(loops, n):
    out = {}
    for start, n_iter in METHODS:
        rows = [measure(loops.S[k], loops.settings, start, n_iter, y_ref_S=loops.S[k])[0] for k in range(n)]
        out[f"{start} GL-{n_iter}"] = summarise(rows)
    return out


def morphs(model, loops, pairs):
    from morphlib.model.morphmodel import interpolate
    from morphlib.sound.spectral import phase_of

    z = model.encode(loops.S)
    alphas = np.linspace(0, 1, 11)
    sequences = [model.decode(np.stack([interpolate(z[i], z[j], a) for a in alphas])) for i, j in pairs]
    out = {}
    for start, n_iter in METHODS + ALONG_MORPHS:
        rows = []
        for S_seq in sequences:
            phase = None
            for S in S_seq:
                init = start if start != "previous" else phase
                row, y = measure(S, model.settings, init, n_iter)
                if start == "previous":
                    t = time.perf_counter()
                    phase = phase_of(y, model.settings)  # the panel pays this too
                    row["ms"] += 1000 * (time.perf_counter() - t)
                rows.append(row)
        out[f"{start} GL-{n_iter}"] = summarise(rows)
    return out


def summarise(rows):
    keys = rows[0].keys()
    out = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    out["ms"] = float(np.median([r["ms"] for r in rows]))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="a trained model folder: also measure its morphs")
    p.add_argument("--data", help="the loops (default: recorded drums made by gm_loops.py)")
    p.add_argument("--loops", type=int, default=20, help="loops measured (20)")
    p.add_argument("--pairs", type=int, default=5, help="morph pairs, 11 α steps each (5)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--work")
    p.add_argument("--json")
    args = p.parse_args(argv)
    from morphlib.config import AnalysisSettings
    from morphlib.data.dataset import load_folder

    work = args.work or tempfile.mkdtemp(prefix="morphlib-phase-")
    settings = AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=16) if args.quick else None
    if args.model:
        from morphlib.model.morphmodel import load_model

        model = load_model(args.model)
        settings = model.settings
    data = args.data
    if data is None:
        from gm_loops import gm_loops

        data = os.path.join(work, "gm")
        gm_loops(data, n=4 if args.quick else max(args.loops, 2 * args.pairs))
    loops = load_folder(data, settings, progress=False, cache=os.path.join(work, "cache"))
    n = min(len(loops), 2 if args.quick else args.loops)
    result = {"loops": originals(loops, n)}
    if args.model:
        rng = np.random.default_rng(0)
        pairs = [tuple(rng.choice(len(loops), 2, replace=False)) for _ in range(1 if args.quick else args.pairs)]
        result["morphs"] = morphs(model, loops, pairs)
    print_table(result)
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


def print_table(result):
    for part, rows in result.items():
        print(f"{part}: method, consistency dB, audible LSD dB, ms per {part[:-1]}")
        for name, r in rows.items():
            lsd = f"{r['audio_lsd_db']:.2f}" if "audio_lsd_db" in r else "—"
            print(f"  {name:14s} {r['consistency_db']:7.1f} {lsd:>7s} {r['ms']:7.0f}")


if __name__ == "__main__":
    main()
