"""What comes out of the speaker: the presets side by side, on real recorded drums and on
the demo loops, in one run.

    python benchmarks/sound.py                                  # the tutorial exactly vs studio (its default recipe)
    python benchmarks/sound.py --presets tutorial@tutorial tutorial studio   # and the tutorial preset at the default recipe
    python benchmarks/sound.py --epochs 200 --presets tutorial "studio:linear_weight=0"
    python benchmarks/sound.py --corpus gm --presets studio --hit-bands 1 32 --by-level
                                                                # the ends' hits in 1 and 32 bands; the error by level
    python benchmarks/sound.py --corpus demo --presets studio --hit-crossovers 0
                                                                # the band gains' slides against hard edges (the seam)
    python benchmarks/sound.py --corpus gm --quick              # seconds: checks that it runs

Real drums: 74 loops of FluidR3 GM's sampled kits sequenced and rendered with FluidSynth
(``benchmarks/gm_loops.py``; ``apt-get install fluidsynth fluid-soundfont-gm``). Each
preset trains from scratch in a fresh folder, timed, then ``evaluate(..., audio=True)``
and ``evaluate_morphs`` on 20 pairs (the same pairs for every preset): mid-morph sharpness
at α = 0.25, 0.5, 0.75 relative to the ends, the share of both ends' hits the middle
layers, smoothness and intermediateness, each for the naive crossfade of the same decoded
ends too, and ``morph_steadiness``. A preset may be given as ``NAME:field=value,...`` to
try a variant. ``--add-kits`` adds, for each preset, loops of kits it never heard and a
minute of ``add_loops`` (``addloops.py``). Prints a table and one JSON object, and checks every run against the
tutorial preset (the sound targets) and the studio preset (the mid-morph targets) of the
same corpus.
"""

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

TARGETS = "onset ≥ 0.98, audible LSD ≤ 0.4× the tutorial preset's, energy > 4 kHz within ±1 dB, cosine ≥ 0.97, steady ≥ 98 %"


def parse_preset(text):
    from common import variant
    from morphlib.config import get_preset

    return variant(text, get_preset)


def parse_run(text):
    """``PRESET[:overrides][@RECIPE[:overrides]]`` → (Preset, Recipe or None)."""
    from common import variant
    from morphlib.model.recipes import get_recipe

    preset, _, recipe = text.partition("@")
    return parse_preset(preset), (variant(recipe, get_recipe) if recipe else None)


def make_corpus(kind, folder, n, *, kits="fluidr3", seed=0):
    """``n`` loops in ``folder``: recorded drums (FluidR3's kits at 140 BPM, or another kit
    set's at mixed tempos, kept aside: ``gm_loops.KIT_SETS``) or the demo loops."""
    if kind == "gm" and kits != "fluidr3":
        from gm_loops import mixed_tempo_loops

        mixed_tempo_loops(folder, n=n, seed=seed, kits=kits)
    elif kind == "gm":
        from gm_loops import gm_loops

        gm_loops(folder, n=n, seed=seed)
    else:
        from morphlib.data.synth import synth_drums

        synth_drums(folder, n=n, progress=False)


# --hits: as the model plays them, kept from the ends, the decoder's own, the ends blended bin by bin,
# kept in bands without the ends' floors (the library before keep_floors)
HITS = {"model": None, "keep": True, "decoder": False, "ends": True, "bands": True}
#: Levels below each loop's peak, in dB, that ``--by-level`` splits the error by.
LEVELS = ((0, 20), (20, 40), (40, 60), (60, 80))


def error_by_level(model, loops, every=4):
    """Where the decoder's error sits, by how loud the original is: each 20-dB band of level
    below the loop's peak (``LEVELS``) with its share of the squared dB error and its RMS
    error in dB. Magnitudes in dB floored 80 dB below the peak; every ``every``-th loop."""
    S = np.asarray(loops.S[::every], np.float32)
    R = model.reconstruct(S)
    peak = S.max(axis=(1, 2), keepdims=True)
    to_db = lambda X: 20 * np.log10(np.maximum(X, peak * 1e-4))  # noqa: E731
    below = to_db(peak) - to_db(S)  # 0 at the peak, 80 at the floor
    err = (to_db(R) - to_db(S)) ** 2
    total = float(err.sum())
    out = {}
    for low, high in LEVELS:
        where = (below >= low) & ((below < high) if high < 80 else (below <= high))
        out[f"{low}-{high} dB below"] = {"share": float(err[where].sum() / total), "rms_db": float(np.sqrt(err[where].mean())),
                                         "bins": float(where.mean())}
    return out


@contextlib.contextmanager
def hits_in_bands(n_bands=None, crossover=None, fine_below=None):
    """Morphs keep their ends' hits in ``n_bands`` bands (the library keeps 8), their gains
    sliding into each other over ``crossover`` octaves at the band edges (0: hard edges),
    each bin under ``fine_below`` Hz a band of its own (0: none, as before), inside the block."""
    import morphlib.model.morphmodel as morphmodel
    from morphlib.sound import hits

    follow, fine = morphmodel.follow_ends, hits.FINE_BELOW_HZ
    morphmodel.follow_ends = functools.partial(hits.keep_hits, n_bands=hits.N_BANDS if n_bands is None else n_bands,
                                               crossover_octaves=hits.CROSSOVER_OCTAVES if crossover is None else crossover)
    hits.FINE_BELOW_HZ = fine if fine_below is None else fine_below
    try:
        yield
    finally:
        morphmodel.follow_ends, hits.FINE_BELOW_HZ = follow, fine


@contextlib.contextmanager
def ends_bin_by_bin():
    """Morphs whose middle is their decoded ends' magnitudes blended in dB bin by bin and frame
    by frame, inside the block: the ends' hits kept with a gain for every bin, so with no band
    edge anywhere; what a seam measure reads on a morph that has no seam."""
    import morphlib.model.morphmodel as morphmodel

    def blended(S, ends, weights, **_):
        log_ends = np.log(np.asarray(ends, np.float64) + 1e-9)
        return np.exp(np.einsum("mk,kbf->mbf", np.asarray(weights, np.float64), log_ends)).astype(np.float32)

    follow, morphmodel.follow_ends = morphmodel.follow_ends, blended
    try:
        yield
    finally:
        morphmodel.follow_ends = follow


@contextlib.contextmanager
def bands_alone():
    """Morphs that keep their ends' hits in bands but not their floors (``keep_hits(...,
    floors=False)``, the library before), inside the block."""
    import morphlib.model.morphmodel as morphmodel

    follow = morphmodel.follow_ends
    morphmodel.follow_ends = functools.partial(follow, floors=False)
    try:
        yield
    finally:
        morphmodel.follow_ends = follow


def run_one(loops, preset, model_dir, epochs, pairs, recipe=None, methods=("linear",), full_band=None, hits=("model",),
            hit_bands=(), by_level=False, crossovers=(), fine_below=()):
    """The preset trained and measured; one row per latent path in ``methods`` and way of
    hearing the middle in ``hits`` (keys ``(method, hits)``), and one per number of bands in
    ``hit_bands`` the ends' hits are kept in (keys ``(method, "bands N")``); ``by_level``:
    each row also splits the decoder's error by level (``error_by_level``).

    ``full_band``: the same loops analysed at 44.1 kHz, which every model's output is heard
    against too (resampled to 44.1 kHz): what a 22,050 Hz model loses above 11 kHz."""
    from morphlib.morphing.evaluation import evaluate
    from morphlib.training.trainer import train

    t = time.perf_counter()
    model = train(loops, model_dir, epochs=epochs, preset=preset, recipe=recipe, progress=False, verbose=False)
    seconds = time.perf_counter() - t
    ev = evaluate(model, loops, audio=True, morph_pairs=0)
    extra = {**sizes(model_dir, model, epochs), **(heard_at_full_band(model, loops, full_band) if full_band is not None else {})}
    if by_level:
        extra["error_by_level"] = error_by_level(model, loops)
    rows = {}
    for h in hits:
        with (ends_bin_by_bin() if h == "ends" else bands_alone() if h == "bands" else contextlib.nullcontext()):
            rows.update({(method, h): {**morph_row(model, loops, ev, pairs, preset, recipe, seconds, method, HITS[h]), **extra}
                         for method in methods})
    for n in hit_bands:
        with hits_in_bands(n):
            rows.update({(method, f"bands {n}"): {**morph_row(model, loops, ev, pairs, preset, recipe, seconds, method, True), **extra}
                         for method in methods})
    for x in crossovers:
        with hits_in_bands(crossover=x):
            rows.update({(method, f"crossover {x:g}"): {**morph_row(model, loops, ev, pairs, preset, recipe, seconds, method, True),
                                                        **extra} for method in methods})
    for hz in fine_below:
        with hits_in_bands(fine_below=hz):
            rows.update({(method, f"fine below {hz:g}"): {**morph_row(model, loops, ev, pairs, preset, recipe, seconds, method, True),
                                                          **extra} for method in methods})
    return rows


def sizes(model_dir, model, epochs):
    """What the model takes on Drive: its file, one checkpoint slot, and the bytes the run
    wrote (checkpoints every 2 minutes, the default), per 500 epochs."""
    from morphlib.model.folder import BEST, CHECKPOINTS

    slots = [os.path.getsize(os.path.join(model_dir, CHECKPOINTS, f)) for f in os.listdir(os.path.join(model_dir, CHECKPOINTS))
             if f.endswith(".bin")]
    done = max(1, len(model.history))
    return {"model_mb": os.path.getsize(os.path.join(model_dir, BEST)) / 1e6, "checkpoint_mb": max(slots) / 1e6,
            "written_mb_per_500": getattr(model, "bytes_written", 0) / 1e6 * 500 / done}


def heard_at_full_band(model, loops, full_band, every=4):
    """Audible LSD and the energy above 11 kHz of the model's reconstructions (every
    ``every``-th loop), resampled to 44.1 kHz and heard against the loops at 44.1 kHz."""
    import librosa

    from morphlib.sound.audiometrics import audible_lsd, hf_energy_db

    lsd, air = [], []
    for k in range(0, len(loops), every):
        y = model.to_audio(model.reconstruct(np.asarray(loops.S[k : k + 1], np.float32))[0])
        if model.settings.sr != full_band.settings.sr:
            y = librosa.resample(y, orig_sr=model.settings.sr, target_sr=full_band.settings.sr)
        S = np.asarray(full_band.S[k], np.float32)
        lsd.append(audible_lsd(S, y, full_band.settings))
        air.append(hf_energy_db(S, y, full_band.settings, cutoff=11000.0))
    return {"lsd44_db": float(np.mean(lsd)), "air44_db": float(np.mean(air))}


def morph_row(model, loops, ev, pairs, preset, recipe, seconds, method, keep_hits=None):
    from morphlib.morphing.evaluation import evaluate_morphs

    morphs = evaluate_morphs(model, loops, pairs=pairs, method=method, keep_hits=keep_hits)
    return {
        "preset": preset.name, "recipe": getattr(recipe, "name", recipe), "method": method, "keep_hits": morphs.keep_hits, "epochs": len(model.history), "train_seconds": seconds, "n_params": model.n_params,
        "cosine_mean": ev.cosine_mean, "cosine_min": ev.cosine_min,
        "sr": model.settings.sr,
        **{k: ev.mean(k) for k in ("audio_lsd_db", "hf_db", "air_db", "onset_corr", "consistency_db", "zero_bins",
                                   "gl_audio_lsd_db", "gl_hf_db", "gl_air_db", "gl_onset_corr", "gl_consistency_db")},
        "hf_db_median": float(np.median([f["hf_db"] for f in ev.files])),
        **morphs.steadiness,
        **{f"{kind} {key}": value for kind in ("vae", "crossfade") for key, value in morphs.to_dict()[kind].items()},
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["tutorial@tutorial", "studio"],
                   help="NAME or NAME:field=value,...; a preset may name its recipe as NAME@RECIPE (e.g. tutorial@tutorial)")
    p.add_argument("--corpus", nargs="+", choices=("gm", "demo"), default=["gm", "demo"])
    p.add_argument("--epochs", type=int, help="for every preset (default: each preset's own)")
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--kits", default="fluidr3", choices=("fluidr3", "timgm6mb", "avl"),
                   help="the recorded drums' kit set (gm_loops.KIT_SETS): FluidR3's at 140 BPM, or another's at mixed "
                        "tempos, kept aside")
    p.add_argument("--seed", type=int, default=0, help="the recorded drums' draw")
    p.add_argument("--fit", choices=("crop", "stretch"), default="crop",
                   help="how loops meet the window: crop (default: FluidR3's 2 bars at 140 BPM fill it as they are) or "
                        "stretch, as every preset but the tutorial's fits a user's loops (whole bars; for --kits at mixed tempos)")
    p.add_argument("--morph-methods", nargs="+", choices=("linear", "spherical"), default=["linear"],
                   help="latent paths the morphs are measured along (each a row; training is shared)")
    p.add_argument("--hits", nargs="+", choices=tuple(HITS), default=["model"],
                   help="how the middle of each morph is heard: as the model plays it (its preset's keep_hits), with the "
                        "ends' hits kept, the decoder's own, or the decoded ends blended in dB bin by bin (ends: no band "
                        "edge anywhere, what the seam measure reads on a morph with no seam), or kept in bands without "
                        "the ends' floors (bands: the library before keep_floors); a row for each")
    p.add_argument("--hit-bands", nargs="+", type=int, default=[], metavar="N",
                   help="also a row for each N: the ends' hits kept in N bands (the library keeps 8)")
    p.add_argument("--hit-crossovers", nargs="+", type=float, default=[], metavar="OCTAVES",
                   help="also a row for each width of the slide between the bands' gains at their edges "
                        "(0: hard edges, the seam of the library before; it slides over 0.5)")
    p.add_argument("--hit-fine-below", nargs="+", type=float, default=[], metavar="HZ",
                   help="also a row for each frequency under which every bin's gain is its own (0: none, the library "
                        "before; it does so under 100 Hz)")
    p.add_argument("--by-level", action="store_true", help="also split each model's error by the original's level (20-dB bands)")
    p.add_argument("--add-kits", action="store_true",
                   help="also, on the recorded drums, each preset's loops of kits it never heard and a minute of add_loops "
                        "(benchmarks/addloops.py: kits 32 and 40 held out, a model of the others trained from scratch)")
    p.add_argument("--quick", action="store_true", help="6 loops, 2 epochs, small analysis settings")
    p.add_argument("--work")
    p.add_argument("--json")
    args = p.parse_args(argv)
    from morphlib.config import PRESET_SETTINGS, AnalysisSettings
    from morphlib.data.dataset import load_folder

    work = args.work or tempfile.mkdtemp(prefix="morphlib-sound-")
    n = 6 if args.quick else args.loops
    settings = AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=16) if args.quick else AnalysisSettings(fit=args.fit)
    runs = [parse_run(t) for t in args.presets]
    rng = np.random.default_rng(0)
    pairs = [tuple(rng.choice(n, 2, replace=False)) for _ in range(3 if args.quick else 20)]
    results = {}
    for corpus in args.corpus:
        folder = os.path.join(work, corpus)
        make_corpus(corpus, folder, n, kits=args.kits, seed=args.seed)
        full_band = None if args.quick else load_folder(folder, dataclasses.replace(settings, **PRESET_SETTINGS["studio44"]),
                                                         progress=False, cache=os.path.join(work, "cache"))
        for preset, recipe in runs:
            at = {} if args.quick else PRESET_SETTINGS.get(preset.name.split(":")[0], {})
            loops = load_folder(folder, dataclasses.replace(settings, **at), progress=False, cache=os.path.join(work, "cache"))
            key = f"{corpus} {preset.name}" + (f"@{recipe.name}" if recipe is not None else "")
            model_dir = os.path.join(work, "models", f"{corpus}-{abs(hash(preset)) % 10**8}-{int(time.time())}")
            epochs = 2 if args.quick else args.epochs
            print(f"{key}: training", file=sys.stderr)
            rows = run_one(loops, preset, model_dir, epochs, pairs, recipe, methods=args.morph_methods, full_band=full_band,
                           hits=args.hits, hit_bands=args.hit_bands, by_level=args.by_level, crossovers=args.hit_crossovers, fine_below=args.hit_fine_below)
            for (method, hits), row in rows.items():
                results[key + ("" if method == "linear" else f" ~{method}") + _hits_label(hits)] = row
                print(json.dumps(row), file=sys.stderr)
    print_table(results)
    if args.add_kits and "gm" in args.corpus:
        results.update(add_kits(os.path.join(work, "gm"), runs, work, settings=settings if args.quick else None,
                                epochs=2 if args.quick else args.epochs, seconds=3.0 if args.quick else 60.0))
    print(json.dumps(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def _hits_label(hits):
    if hits == "model":
        return ""
    if hits.startswith("bands "):
        return f" ~hits kept in {hits[6:]} bands"
    if hits.startswith("crossover "):
        return f" ~band gains sliding over {hits[10:]} octaves"
    if hits.startswith("fine below "):
        return f" ~a gain per bin under {hits[11:]} Hz"
    return f" ~{hits} hits"


def add_kits(folder, runs, work, *, settings=None, epochs=None, seconds=60.0):
    """``addloops.run`` for each preset on the recorded drums: unseen kits, then added; its table."""
    import addloops
    from morphlib.config import settings_for

    rows = [addloops.run(folder, preset, work, seconds=seconds, epochs=epochs,
                         settings=settings or settings_for(preset.name.split(":")[0], fit="crop"))
            for preset, _ in runs]
    addloops.print_rows(rows)
    return {f"gm {row['preset']} (kits added)": row for row in rows}


def print_table(results):
    cols = [("sr", "{:.0f}"), ("epochs", "{:.0f}"), ("train_seconds", "{:.0f}"), ("cosine_mean", "{:.3f}"), ("audio_lsd_db", "{:.2f}"),
            ("lsd44_db", "{:.2f}"), ("air44_db", "{:+.1f}"), ("model_mb", "{:.0f}"), ("checkpoint_mb", "{:.0f}"),
            ("written_mb_per_500", "{:.0f}"),
            ("hf_db", "{:+.1f}"), ("hf_db_median", "{:+.1f}"), ("onset_corr", "{:.3f}"), ("consistency_db", "{:.1f}"),
            ("zero_bins", "{:.3f}"), ("steady", "{:.3f}"), ("balance", "{:.2f}"),
            ("vae sharpness_0.5_mean", "{:.2f}"), ("crossfade sharpness_0.5_mean", "{:.2f}"), ("vae layered_mean", "{:.2f}"),
            ("vae smoothness_mean", "{:.2f}"), ("vae intermediate_share", "{:.2f}"), ("vae seam_excess_db_max", "{:+.1f}"),
            ("crossfade seam_excess_db_max", "{:+.1f}")]
    width = max(len(k) for k in results) + 2
    print("run".ljust(width) + " ".join(c[0][:12].rjust(12) for c in cols))
    for key, r in results.items():
        print(key.ljust(width) + " ".join((fmt.format(r[c]) if r.get(c) is not None else "—").rjust(12) for c, fmt in cols))
    gl = next(iter(results.values()))
    print(f"original magnitude through the same Griffin-Lim: LSD {gl['gl_audio_lsd_db']:.2f} dB, "
          f"onset {gl['gl_onset_corr']:.3f}, consistency {gl['gl_consistency_db']:.1f} dB")
    for key, r in results.items():
        if r.get("vae seam_excess_db_by_edge_max"):
            print(f"{key}: seam beyond the ends' by band edge (lowest first; largest over the pairs and α = .25, .5, .75): "
                  + " / ".join(f"{v:+.1f}" for v in r["vae seam_excess_db_by_edge_max"]) + " dB; the crossfade of the ends: "
                  + " / ".join(f"{v:+.1f}" for v in r["crossfade seam_excess_db_by_edge_max"]) + " dB")
    print(f"targets: {TARGETS}")
    for line in verdicts(results):
        print(line)
    for line in morph_verdicts(results):
        print(line)
    for line in band_verdicts(results):
        print(line)


def band_verdicts(results, baseline="studio"):
    """Issue 23's targets: size on Drive for every run; for 44.1 kHz runs the sound against
    the loops at 44.1 kHz and the training time against ``baseline`` of the same corpus."""
    lines = []
    for key, r in results.items():
        corpus, run = key.split(" ", 1)
        if "model_mb" not in r:
            continue
        checks = {
            f"model file {r['model_mb']:.0f} MB <= 60": r["model_mb"] <= 60,
            f"checkpoint {r['checkpoint_mb']:.0f} MB <= 120": r["checkpoint_mb"] <= 120,
            f"written {r['written_mb_per_500']:.0f} MB per 500 epochs <= 1000": r["written_mb_per_500"] <= 1000,
        }
        base = results.get(f"{corpus} {baseline}")
        if r.get("sr") == 44100:
            checks.update({
                f"audible LSD {r['audio_lsd_db']:.2f} <= 2.5 dB": r["audio_lsd_db"] <= 2.5,
                f"> 11 kHz {r['air44_db']:+.1f} dB within ±1.5": abs(r["air44_db"]) <= 1.5,
                f"onset {r['onset_corr']:.3f} >= 0.99": r["onset_corr"] >= 0.99,
                f"steady {r['steady']:.3f} >= 0.98": r["steady"] >= 0.98,
            })
            if base is not None:
                checks[f"training {r['train_seconds']:.0f} s <= 2 x {base['train_seconds']:.0f} s"] = r["train_seconds"] <= 2 * base["train_seconds"]
        missed = [k for k, ok in checks.items() if not ok]
        lines.append(f"{key} (size{', 44.1 kHz' if r.get('sr') == 44100 else ''}): "
                     + ("every target met" if not missed else "missed: " + "; ".join(missed))
                     + f" ({'; '.join(k for k, ok in checks.items() if ok)})")
    return lines


def verdicts(results, baseline="tutorial@tutorial"):
    """The issue's targets, checked for every run against ``baseline`` of the same corpus."""
    lines = []
    for key, r in results.items():
        corpus, run = key.split(" ", 1)
        base = results.get(f"{corpus} {baseline}")
        if base is None or run == baseline:
            continue
        checks = {
            f"training {r['train_seconds']:.0f} s <= {base['train_seconds']:.0f} s": r["train_seconds"] <= base["train_seconds"],
            f"onset {r['onset_corr']:.3f} >= 0.98": r["onset_corr"] >= 0.98,
            f"audible LSD {r['audio_lsd_db']:.2f} <= 0.4 x {base['audio_lsd_db']:.2f} dB": r["audio_lsd_db"] <= 0.4 * base["audio_lsd_db"],
            f"> 4 kHz {r['hf_db']:+.1f} dB within ±{2 if corpus == 'demo' else 1}": abs(r["hf_db"]) <= (2 if corpus == "demo" else 1),
            f"cosine {r['cosine_mean']:.3f} >= 0.97": r["cosine_mean"] >= 0.97,
            f"steady {r['steady']:.3f} >= 0.98": r["steady"] >= 0.98,
            f"holes {r['zero_bins']:.3f} == 0": r["zero_bins"] == 0,
        }
        missed = [k for k, ok in checks.items() if not ok]
        lines.append(f"{key}: " + ("every target met" if not missed else "missed: " + "; ".join(missed))
                     + f" ({'; '.join(k for k, ok in checks.items() if ok)})")
    return lines


def morph_verdicts(results, baseline="studio"):
    """Issue 24's targets for the middle of the slider, for every run against ``baseline``
    (the studio preset as it is) of the same corpus."""
    lines = []
    for key, r in results.items():
        corpus, run = key.split(" ", 1)
        base = results.get(f"{corpus} {baseline}")
        if base is None or "vae sharpness_0.5_mean" not in r:
            continue
        above = all(r[f"vae sharpness_{a}_mean"] > r[f"crossfade sharpness_{a}_mean"] for a in ("0.25", "0.5", "0.75"))
        checks = {
            f"sharpness at α = 0.5 {r['vae sharpness_0.5_mean']:.2f} >= 0.85": r["vae sharpness_0.5_mean"] >= 0.85,
            "above the crossfade's at α = .25, .5, .75": above,
            f"steady {r['steady']:.3f} >= 0.98": r["steady"] >= 0.98,
            f"intermediate {r['vae intermediate_share']:.2f} >= 0.90 of pairs": r["vae intermediate_share"] >= 0.90,
            f"audible LSD {r['audio_lsd_db']:.2f} <= 2.5 dB": r["audio_lsd_db"] <= 2.5,
            f"no seam: band-edge steps at most the ends' + {r['vae seam_excess_db_max']:.1f} dB <= 1 dB":
                r["vae seam_excess_db_max"] <= 1.0,
            f"training {r['train_seconds']:.0f} s <= 1.25 x {base['train_seconds']:.0f} s": r["train_seconds"] <= 1.25 * base["train_seconds"],
        }
        missed = [k for k, ok in checks.items() if not ok]
        lines.append(f"{key} (mid-morphs): " + ("every target met" if not missed else "missed: " + "; ".join(missed))
                     + f" ({'; '.join(k for k, ok in checks.items() if ok)})")
    return lines


if __name__ == "__main__":
    main()
