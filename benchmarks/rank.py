"""How far a decoder whose frames are mixes of k spectra can get, whatever its training.

    python benchmarks/rank.py                     # 74 loops of recorded drums (gm_loops.py)
    python benchmarks/rank.py --data FOLDER       # your own loops
    python benchmarks/rank.py --ranks 256 --smooth 3   # and the originals smoothed over 3 bins
    python benchmarks/rank.py --quick             # seconds: checks that it runs

The tutorial's decoder ends in one Dense layer over each frame's ``hidden``-wide code, so
every frame it decodes, of every loop, is a mix of the same ``hidden`` spectra (plus a
bias) before the output activation: across a loop set its output has rank at most
``hidden``. The best such output is the truncated SVD of the set's (compressed) frames.
This puts each truncation through the same Griffin-Lim the evaluation uses and reports
the audible log-spectral distance from the originals: a floor that no training of that
decoder can go below. Prints a table and one JSON object.
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

#: (name, compress, expand): what the decoder works in.
DOMAINS = {
    "log1p(|S|)": (np.log1p, lambda L: np.expm1(np.maximum(L, 0))),
    "log(1 + |S|/0.1)": (lambda S: np.log1p(S / 0.1), lambda L: 0.1 * np.expm1(np.maximum(L, 0))),
}


def truncations(S, ranks, compress, expand):
    """Yield ``(k, S_k)``: the best rank-k fit of every frame of ``S`` in the compressed domain.

    Parameters
    ----------
    S : np.ndarray [shape=(n, n_bins, n_frames)]
        Linear magnitudes of a loop set.
    ranks : iterable of int > 0
    compress, expand : callables
        The domain the fit is made in, and back to linear magnitude.
    """
    n, n_bins, n_frames = S.shape
    frames = compress(S).transpose(0, 2, 1).reshape(-1, n_bins)
    mean = frames.mean(0)
    U, s, Vt = np.linalg.svd(frames - mean, full_matrices=False)
    for k in ranks:
        fit = (U[:, :k] * s[:k]) @ Vt[:k] + mean
        yield k, expand(fit).reshape(n, n_frames, n_bins).transpose(0, 2, 1)


def per_loop_truncations(S, ranks, compress, expand):
    """Yield ``(r, S_r)``: each loop's own best rank-r fit (frames × bins, in the compressed
    domain) — the floor of a detail bank whose patterns are rank-r products, one per loop."""
    L = compress(S).transpose(0, 2, 1)  # (n, n_frames, n_bins)
    mean = L.mean(1, keepdims=True)
    U, s, Vt = np.linalg.svd(L - mean, full_matrices=False)
    for r in ranks:
        fit = np.einsum("ntr,nr,nrf->ntf", U[:, :, :r], s[:, :r], Vt[:, :r]) + mean
        yield r, expand(fit).transpose(0, 2, 1)


def smooth_bins(S, n):
    """``S`` [shape=(..., n_bins, n_frames)] averaged over ``n`` neighbouring bins (edges: the
    bins there are)."""
    kernel = np.ones(n) / n
    padded = np.pad(S, [(0, 0)] * (S.ndim - 2) + [(n // 2, n - 1 - n // 2), (0, 0)], mode="edge")
    return np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="valid"), -2, padded)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="the loops (default: recorded drums made by gm_loops.py)")
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--ranks", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    p.add_argument("--per-loop", type=int, nargs="*", default=[], metavar="R",
                   help="also each loop's own rank-R fit (the floor of a factorised detail bank)")
    p.add_argument("--smooth", type=int, nargs="*", default=[], metavar="N",
                   help="also the original magnitude smoothed over N neighbouring bins (a moving average along "
                        "frequency): how much of the error is each loop's fine structure from bin to bin")
    p.add_argument("--every", type=int, default=4, help="put every N-th loop through Griffin-Lim (default 4)")
    p.add_argument("--quick", action="store_true", help="6 loops, small analysis settings")
    p.add_argument("--work")
    p.add_argument("--json")
    args = p.parse_args(argv)
    from morphlib.sound.audiometrics import audible_lsd
    from morphlib.config import AnalysisSettings
    from morphlib.data.dataset import load_folder
    from morphlib.sound.spectral import griffin_lim

    work = args.work or tempfile.mkdtemp(prefix="morphlib-rank-")
    settings = AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=16) if args.quick else AnalysisSettings()
    data = args.data
    if data is None:
        from gm_loops import gm_loops

        data = os.path.join(work, "gm")
        gm_loops(data, n=6 if args.quick else args.loops)
    loops = load_folder(data, settings, progress=False, cache=os.path.join(work, "cache"))
    S = np.asarray(loops.S, np.float32)
    ranks = [k for k in (args.ranks if not args.quick else [2, 4]) if k <= min(S.shape[0] * S.shape[2], S.shape[1])]
    picked = range(0, len(S), args.every if not args.quick else 1)
    results = {"original": float(np.mean([audible_lsd(S[i], griffin_lim(S[i], settings), settings) for i in picked]))}
    for n in args.smooth:
        smoothed = smooth_bins(S[list(picked)], n)
        results[f"smoothed over {n} bins"] = float(np.mean([audible_lsd(S[i], griffin_lim(smoothed[j], settings), settings)
                                                           for j, i in enumerate(picked)]))
    for name, (compress, expand) in DOMAINS.items():
        for k, fit in truncations(S, ranks, compress, expand):
            results[f"{name} rank {k}"] = float(np.mean([audible_lsd(S[i], griffin_lim(fit[i], settings), settings) for i in picked]))
        for r, fit in per_loop_truncations(S[list(picked)], [r for r in args.per_loop if r <= S.shape[2]], compress, expand):
            results[f"{name} each loop rank {r}"] = float(np.mean([audible_lsd(S[i], griffin_lim(fit[j], settings), settings)
                                                                   for j, i in enumerate(picked)]))
    print(f"{len(S)} loops, {len(picked)} through Griffin-Lim (32 iterations from random phase); audible LSD in dB:")
    for key, value in results.items():
        print(f"  {key:32s} {value:5.2f}")
    print(json.dumps(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
