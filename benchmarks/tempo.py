"""Loops at any tempo: stretchers, tempo finding, and fit="stretch" against fit="crop".

Everything on recorded drums that this script makes (benchmarks/gm_loops.py, FluidSynth and
FluidR3 GM), in one run:

1. **Stretchers on drums.** The same pattern is rendered at two tempos; the slower or
   faster render is stretched to the other's tempo and compared with it (audible
   log-spectral distance, onset-envelope correlation, hit sharpness relative to the
   real render, seconds): librosa's phase vocoder against Rubber Band's engines.
2. **Tempo found.** A mixed corpus (90–175 BPM; 1, 2 and 4 bars; every other file with
   the tempo in its name): the share of files whose tempo is found within ±2 %. With
   ``--kits`` on other kit sets too (``gm_loops.KIT_SETS``: TimGM6mb's kits and the AVL
   acoustic kits, which the tempo finder was not tuned on), ``--corpora`` on breaks at
   160–180 BPM (``fast``) and 1-bar grooves at 88–112 (``slow1``), ``--seeds`` on other
   draws of each; every file missed is listed with what was found, or why nothing was.
3. **Crop against stretch.** The studio preset trained on the same corpus for the same
   epochs, once with each fit; each reconstruction's audible LSD and onset correlation
   against its own fitted loop, and the seam (the join's level against the loop's beats,
   in dB; 0 joins as the loop plays elsewhere) of reconstructions of held-out loops and of
   α = 0.5 morphs.

    python benchmarks/tempo.py [--n 40] [--epochs 300] [--work DIR] [--quick]
    python benchmarks/tempo.py --tempo-only --kits fluidr3 timgm6mb avl --corpora mixed fast slow1 --seeds 11 12
"""

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import cpu_description  # noqa: E402


def stretchers(work, *, sr=22050, pairs=((120, 140), (100, 140), (160, 140), (95, 128), (150, 128), (110, 128))):
    """Each stretcher's mean figures over ``pairs`` of (from BPM, to BPM)."""
    import librosa

    import gm_loops as G
    from morphlib.data.tempo import onset_envelope, time_stretch

    soundfont = G.find_soundfont()
    methods = {"librosa phase vocoder": "librosa", "Rubber Band (R2, percussive)": "rubberband",
               "Signalsmith Stretch (python-stretch; used)": "signalsmith", "libtsm HPS-TSM": hps_stretch}
    if importlib.util.find_spec("libtsm") is None:  # requirements.txt has it; pip install libtsm
        del methods["libtsm HPS-TSM"]
    rows = {m: [] for m in methods}
    for k, (slow, fast) in enumerate(pairs):
        renders = []
        for bpm in (slow, fast):
            path = os.path.join(work, f"pair{k}_{bpm}.wav")
            if not os.path.exists(path):
                rng = np.random.default_rng(100 + k)
                kit, hits = int(rng.choice(G.KITS)), G.pattern(rng, bars=2)
                with open(path[:-4] + ".mid", "wb") as f:
                    f.write(G.midi_file(hits, kit=kit, swing=0.0, rng=np.random.default_rng(1 + k), bpm=bpm))
                G.render(path[:-4] + ".mid", path, soundfont, bpm=bpm, bars=2)
            renders.append(librosa.load(path, sr=sr)[0])
        source, target = renders
        for name, method in methods.items():
            t = time.perf_counter()
            if callable(method):
                out = method(source, sr=sr, stretch=len(target) / len(source))
            else:
                out = time_stretch(source, sr=sr, stretch=len(target) / len(source), loop=True, method=method)
            seconds = time.perf_counter() - t
            out = librosa.util.fix_length(out, size=len(target))
            e_out, e_ref = onset_envelope(out, sr=sr), onset_envelope(target, sr=sr)
            peak = lambda e: np.percentile(e, 95) / max(np.median(e), 1e-9)  # noqa: E731
            rows[name].append((_lsd(out, target), float(np.corrcoef(e_out, e_ref)[0, 1]), peak(e_out) / peak(e_ref), seconds))
    return {m: dict(zip(("lsd_db", "onset_corr", "sharpness", "seconds"), np.mean(r, axis=0).round(4).tolist())) for m, r in rows.items()}


def hps_stretch(y, *, sr, stretch):
    """libtsm's harmonic-percussive TSM (Driedger and Müller: the percussive part overlap-added
    in short frames, the rest by a phase vocoder), as a loop: tiled, the middle copy kept.
    Measured beside the others; not in morphlib (slower, and no better on drums)."""
    import libtsm
    import librosa

    n_out = int(round(len(y) * stretch))
    out = libtsm.hps_tsm(np.tile(np.asarray(y, np.float64), 3), stretch, Fs=sr)[:, 0]
    return librosa.util.fix_length(np.asarray(out, np.float32), size=3 * n_out)[n_out : 2 * n_out]


def _lsd(a, b):
    import librosa

    A, B = (librosa.amplitude_to_db(np.abs(librosa.stft(x, n_fft=2048, hop_length=512)), ref=1.0, top_db=None) for x in (a, b))
    top = max(A.max(), B.max())
    A, B = np.maximum(A, top - 80), np.maximum(B, top - 80)
    return float(np.mean(np.sqrt(np.mean((A - B) ** 2, axis=0))))


def tempo_found(corpus, settings):
    """Share of files whose tempo is found within ±2 %, with and without it in the name, and
    each file missed: its tempo and bars, what was found and the loading table's notes."""
    import morphlib as ml

    loops = ml.load_folder(os.path.dirname(corpus[0]["path"]), settings, cache=False, progress=False)
    by_name = {os.path.basename(i.path): i for i in loops.infos}
    out = {"missed": []}
    for named in (True, False):
        files = [c for c in corpus if c["named"] == named]
        hits = [by_name.get(os.path.basename(c["path"])) for c in files]
        ok = [h is not None and h.bpm is not None and abs(h.bpm / c["bpm"] - 1) <= 0.02 for h, c in zip(hits, files)]
        out["named" if named else "unnamed"] = {"files": len(files), "found": int(sum(ok)), "share": float(np.mean(ok))}
        out["missed"] += [{"file": os.path.basename(c["path"]), "bpm": c["bpm"], "bars": c["bars"], "found": h and h.bpm,
                           "notes": h and "; ".join(h.notes)} for h, c, good in zip(hits, files, ok) if not good]
    out["skipped"] = [(s.name, s.reason) for s in loops.skipped]
    return out


def tempo_on_kits(work, settings, *, kits, corpora, seeds, n):
    """``tempo_found`` on each kit set, corpus and seed: {"KITS CORPUS seed S": figures}."""
    from gm_loops import mixed_tempo_loops

    out = {}
    for kit_set in kits:
        for corpus in corpora:
            for seed in seeds:
                files = mixed_tempo_loops(os.path.join(work, f"{kit_set}-{corpus}-{seed}"), n=n, seed=seed, kits=kit_set, corpus=corpus)
                out[f"{kit_set} {corpus} seed {seed}"] = tempo_found(files, settings)
    return out


def print_tempo(found):
    print(f"{'kits, corpus, seed':28s} {'named':>9s} {'unnamed':>9s}")
    for key, r in found.items():
        print(f"{key:28s} {r['named']['found']:>4d}/{r['named']['files']:<4d} {r['unnamed']['found']:>4d}/{r['unnamed']['files']:<4d}")
    for key, r in found.items():
        for m in r["missed"]:
            found_ = f"{m['found']:g} BPM" if m["found"] else "no tempo"
            print(f"  missed, {key}: {m['file']} ({m['bpm']:g} BPM, {m['bars']} bars): {found_}; {m['notes']}")


def crop_against_stretch(corpus, work, *, epochs, preset, held_out):
    """Train ``preset`` with each fit for the same ``epochs``; reconstruction and seam figures.

    Seams are ``tempo.seam_level`` (the join against the loop's middle, in dB): their
    median (a click is positive, a gap negative) and their mean |dB| (0 is perfect; the
    music alone spreads it by a few dB).
    """
    import morphlib as ml
    from morphlib.config import settings_for
    from morphlib.data.tempo import seam_level

    folder = os.path.dirname(corpus[0]["path"])
    out = {}
    for fit in ("crop", "stretch"):
        settings = settings_for(preset, fit=fit)
        loops = ml.load_folder(folder, settings, cache=os.path.join(work, "cache"), progress=False)
        test = [i for i, n in enumerate(loops.names) if int(n[-3:] if n[-3:].isdigit() else -1) % 5 == 0][:held_out]
        train_idx = [i for i in range(len(loops)) if i not in test]
        train_set = _subset(loops, train_idx)
        model_dir = os.path.join(work, f"model_{fit}_{preset}_{epochs}")
        t = time.perf_counter()
        model = ml.train(train_set, model_dir, preset=preset, epochs=epochs, seed=0, progress=False)
        seconds = time.perf_counter() - t
        ev = ml.evaluate(model, train_set, morph_pairs=0)
        held = ml.evaluate(model, _subset(loops, test), morph_pairs=0)
        seams_morph, signed_morph = [], []
        rng = np.random.default_rng(0)
        for _ in range(8):
            a, b = rng.choice(len(train_set), 2, replace=False)
            m = ml.morph(model, int(a), int(b), 0.5, loops=train_set)
            signed_morph.append(seam_level(m.y, sr=settings.sr))
        seams_morph = np.abs(signed_morph)
        out[fit] = {
            "epochs": len(model.history), "seconds": round(seconds, 1),
            "audio_lsd_db": ev.mean("audio_lsd_db"), "onset_corr": ev.mean("onset_corr"),
            "seam_db_abs_train": float(np.mean([abs(f["seam_db"]) for f in ev.files])),
            "seam_db_abs_held_out": float(np.mean([abs(f["seam_db"]) for f in held.files])),
            "seam_db_abs_morphs": float(np.mean(seams_morph)),
            "seam_db_median_train": float(np.median([f["seam_db"] for f in ev.files])),
            "seam_db_median_held_out": float(np.median([f["seam_db"] for f in held.files])),
            "seam_db_median_morphs": float(np.median(signed_morph)),
            "fitted_loops_seam_db_median": float(np.median(_seams(loops, settings))),
            "fitted_loops_seam_db_abs": float(np.mean(np.abs(_seams(loops, settings)))),
        }
    return out


def _seams(loops, settings):
    from morphlib.data.tempo import seam_level

    return [seam_level(loops.y[i], sr=settings.sr) for i in range(len(loops))]


def _subset(loops, idx):
    import dataclasses

    return dataclasses.replace(loops, S=np.asarray(loops.S)[idx], y=np.asarray(loops.y)[idx],
                               names=[loops.names[i] for i in idx], infos=[loops.infos[i] for i in idx], skipped=[],
                               images=[loops.image(i) for i in idx] if loops.images else [])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=40, help="loops in the mixed-tempo corpus (40)")
    p.add_argument("--epochs", type=int, default=300, help="epochs of each model (300)")
    p.add_argument("--preset", default="studio")
    p.add_argument("--held-out", type=int, default=8)
    p.add_argument("--work", help="where the corpus and models go (default: a temporary folder)")
    p.add_argument("--quick", action="store_true", help="stretchers and tempo only, no training")
    p.add_argument("--tempo-only", action="store_true", help="only the tempo found, on each of --kits, --corpora and --seeds")
    p.add_argument("--kits", nargs="+", default=["fluidr3"], choices=("fluidr3", "timgm6mb", "avl"),
                   help="kit sets of the tempo corpora (fluidr3: the ones the tempo finder was tuned on)")
    p.add_argument("--corpora", nargs="+", default=["mixed"], choices=("mixed", "fast", "slow1"),
                   help="mixed: 90-175 BPM, 1, 2, 4 bars; fast: 160-180 BPM; slow1: 1 bar at 88-112 BPM")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="draws of each corpus (0: the default corpus)")
    args = p.parse_args(argv)
    from gm_loops import mixed_tempo_loops

    from morphlib.config import settings_for
    from morphlib.data.tempo import stretcher

    work = args.work or tempfile.mkdtemp(prefix="morphlib-tempo-")
    os.makedirs(work, exist_ok=True)
    if args.tempo_only:
        found = tempo_on_kits(work, settings_for(args.preset, fit="stretch"), kits=args.kits, corpora=args.corpora,
                              seeds=args.seeds, n=args.n)
        print_tempo(found)
        report = {"cpu": cpu_description(), "tempo_found": found}
        with open(os.path.join(work, "tempo.json"), "w") as f:
            json.dump(report, f, indent=1)
        print(f"written {os.path.join(work, 'tempo.json')}", file=sys.stderr)
        return
    corpus = mixed_tempo_loops(os.path.join(work, "mixed"), n=args.n)
    pairs = os.path.join(work, "pairs")
    os.makedirs(pairs, exist_ok=True)
    report = {"cpu": cpu_description(), "stretcher": stretcher(), "stretchers": stretchers(pairs)}
    report["tempo_found"] = tempo_found(corpus, settings_for(args.preset, fit="stretch"))
    print(json.dumps(report, indent=1), flush=True)
    if not args.quick:
        report["fit"] = crop_against_stretch(corpus, work, epochs=args.epochs, preset=args.preset, held_out=args.held_out)
        print(json.dumps(report["fit"], indent=1))
    with open(os.path.join(work, "tempo.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"written {os.path.join(work, 'tempo.json')}", file=sys.stderr)


if __name__ == "__main__":
    main()
