"""Stereo: how near each channel a model's loops come back, how wide, how wide its mid-morphs
are against their ends, and what stereo costs, on recorded drums in rooms, in one run.

    python benchmarks/stereo.py                         # studio44, 74 loops, its 500 epochs
    python benchmarks/stereo.py --loops 40 --epochs 200 # smaller
    python benchmarks/stereo.py --kits timgm6mb --seed 5 # kits kept aside, at mixed tempos
    python benchmarks/stereo.py --quick                 # seconds: checks that it runs

The corpus: FluidR3 GM's kits (``gm_loops.py``, ``rooms=True``), which pan their drums, each
loop in a room of its own from dry to large (FluidSynth's reverb: ``gm_loops.ROOMS``), so
side-to-mid levels from about -21 to -3 dB and channel correlations from 0.98 down to 0.3.
A model of the preset trains on them (stereo loops: its mid, with each loop's image kept,
``morphlib.sound.stereo``), timed; then the same loops mixed down to mono files train the
same epochs, timed, for the cost of stereo (the whole run, and the epochs alone). Then, per loop, the reconstruction made stereo with
the loop's image and heard against the fitted original, channel by channel: audible LSD,
side-to-mid level and channel correlation, beside the same reconstruction played mono and
the original's own mid made stereo with its image (what the image alone loses); 20 pairs'
mid-morphs (α = 0.5) against their ends' width; the sizes of the model file and a
checkpoint; and the rendering of a morph with its image against without (the panel's cost;
``panel_latency.py`` measures the whole panel). Prints a table and one JSON object with
the targets checked; the CPU is named with the flags that matter.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from common import cpu_description, report  # noqa: E402

TARGETS = {"lsd_db": 2.5, "width_db": 1.5, "correlation": 0.05, "mid_width_db": 1.5, "model_mb": 60.0,
           "checkpoint_mb": 120.0, "train_ratio": 1.5, "render_ms": 100.0}


def make_corpus(folder, *, n, quick, kits="fluidr3", seed=0):
    """``n`` recorded-drum loops in rooms: FluidR3's kits at 140 BPM (``gm_loops``), or another
    kit set's at mixed tempos (``mixed_tempo_loops``); with ``quick``, 8 demo loops (which pan
    their drums)."""
    if quick:
        from morphlib.data.synth import synth_drums

        synth_drums(folder, n=8, progress=False)
    elif kits == "fluidr3":
        from gm_loops import gm_loops

        gm_loops(folder, n=n, seed=seed, rooms=True)
    else:
        from gm_loops import mixed_tempo_loops

        mixed_tempo_loops(folder, n=n, seed=seed, kits=kits, rooms=True)
    return folder


def mono_copy(folder, out):
    """Every file of ``folder`` mixed down to one channel in ``out`` (the mono preset's input)."""
    import soundfile as sf

    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(folder)):
        if name.lower().endswith(".wav"):
            y, sr = sf.read(os.path.join(folder, name), always_2d=True, dtype="float32")
            sf.write(os.path.join(out, name), y.mean(axis=1), sr, subtype="PCM_16")
    return out


def timed_training(loops, model_dir, *, preset, epochs):
    """The model, the run's wall-clock seconds and the seconds its epochs took (the history's)."""
    from morphlib.training.trainer import train

    start = time.perf_counter()
    model = train(loops, model_dir, epochs=epochs, preset=preset, progress=False, verbose=False)
    return model, time.perf_counter() - start, float(sum(row["seconds"] for row in model.history))


def loop_figures(model, loops, k):
    """One loop's reconstruction in stereo, in mono, and its own mid with its image, each
    heard against the fitted original, channel by channel."""
    from morphlib.data.dataset import fitted_audio
    from morphlib.sound import stereo
    from morphlib.sound.audiometrics import audible_lsd
    from morphlib.sound.spectral import magnitude

    s = model.settings
    original, _ = fitted_audio(loops.infos[k].path, s)
    refs = [magnitude(original[c], s) for c in range(2)]
    R = model.reconstruct(np.asarray(loops.S[k : k + 1], np.float32))[0]
    heard = {"stereo": model.to_audio(R, image=loops.image(k)), "mono": model.to_audio(R),
             "image_alone": stereo.render(np.asarray(loops.y[k]), loops.image(k), s)}
    n = heard["stereo"].shape[-1]
    out = {"name": loops.names[k], "width_db": stereo.side_to_mid_db(original[:, :n]),
           "correlation": stereo.channel_correlation(original[:, :n]),
           "mid_lsd_db": audible_lsd(magnitude(original.mean(axis=0), s), heard["mono"], s)}  # the floor: the model's mid
    for kind, y in heard.items():
        channels = y if y.ndim == 2 else np.stack([y, y])
        out[f"{kind}_lsd_db"] = float(np.mean([audible_lsd(refs[c], channels[c], s) for c in range(2)]))
        out[f"{kind}_width_error_db"] = stereo.side_to_mid_db(y) - out["width_db"]
        out[f"{kind}_correlation_error"] = stereo.channel_correlation(y) - out["correlation"]
    return out


def mid_morph_widths(model, loops, pairs):
    """For each pair, the α = 0.5 morph's side-to-mid level and correlation against the mean
    of its ends' (the model's own ends, α = 0 and 1)."""
    from morphlib.morphing.morphs import morph
    from morphlib.sound import stereo

    rows = []
    for a, b in pairs:
        ends_and_middle = morph(model, a, b, [0.0, 0.5, 1.0], loops=loops)
        width = [stereo.side_to_mid_db(m.y) for m in ends_and_middle]
        corr = [stereo.channel_correlation(m.y) for m in ends_and_middle]
        rows.append({"a": loops.names[a], "b": loops.names[b], "ends_width_db": (width[0] + width[2]) / 2,
                     "mid_width_db": width[1], "mid_width_error_db": width[1] - (width[0] + width[2]) / 2,
                     "ends_correlation": (corr[0] + corr[2]) / 2, "mid_correlation": corr[1]})
    return rows


def render_cost(model, loops, pairs, n_iter):
    """Milliseconds to render a blend of two loops' decoded ends (as the panel does on a move)
    with their images and without: (stereo median, mono median)."""
    from morphlib.sound import stereo

    z = model.encode(np.asarray(loops.S[sorted({i for p in pairs for i in p})], np.float32))
    index = {i: k for k, i in enumerate(sorted({i for p in pairs for i in p}))}
    times = {"stereo": [], "mono": []}
    for a, b in pairs:
        S = model.blend(z[[index[a], index[b]]], [[0.5, 0.5]])[0]
        image = stereo.blend([loops.image(a), loops.image(b)], [0.5, 0.5], settings=model.settings)
        for kind, im in (("mono", None), ("stereo", image)):
            start = time.perf_counter()
            model.to_audio(S, n_iter=n_iter, image=im)
            times[kind].append(1000 * (time.perf_counter() - start))
    return float(np.median(times["stereo"])), float(np.median(times["mono"]))


def images_mb(model_dir):
    """The size of the folder's images of its stereo loops (bands and details), in MB."""
    from morphlib.model.folder import IMAGES

    path = os.path.join(model_dir, IMAGES)
    return os.path.getsize(path) / 1e6 if os.path.isfile(path) else 0.0


def summary(rows, morphs, sizes, seconds, epoch_seconds, render_ms):
    med = lambda key, f=lambda v: v: float(np.median([f(r[key]) for r in rows]))  # noqa: E731
    out = {
        **{f"{kind}_lsd_db": med(f"{kind}_lsd_db") for kind in ("stereo", "mono", "image_alone")},
        **{f"{kind}_width_error_db": med(f"{kind}_width_error_db", abs) for kind in ("stereo", "mono", "image_alone")},
        **{f"{kind}_correlation_error": med(f"{kind}_correlation_error", abs) for kind in ("stereo", "mono", "image_alone")},
        "corpus_width_db": med("width_db"), "corpus_correlation_min": float(min(r["correlation"] for r in rows)),
        "mid_lsd_db": med("mid_lsd_db"),
        "mid_width_error_db": float(np.median([abs(m["mid_width_error_db"]) for m in morphs])),
        "mid_width_error_db_max": float(max(abs(m["mid_width_error_db"]) for m in morphs)),
        **sizes, "train_seconds_stereo": seconds[0], "train_seconds_mono": seconds[1],
        "train_ratio": seconds[0] / seconds[1], "epochs_seconds_stereo": epoch_seconds[0],
        "epochs_seconds_mono": epoch_seconds[1], "epochs_ratio": epoch_seconds[0] / epoch_seconds[1], "render_ms_stereo": render_ms[0], "render_ms_mono": render_ms[1],
    }
    out["verdicts"] = {
        "audible LSD per channel <= 2.5 dB": out["stereo_lsd_db"] <= TARGETS["lsd_db"],
        "side-to-mid within 1.5 dB (median |error|)": out["stereo_width_error_db"] <= TARGETS["width_db"],
        "correlation within 0.05 (median |error|)": out["stereo_correlation_error"] <= TARGETS["correlation"],
        "mid-morphs as wide as their ends (median |error| <= 1.5 dB)": out["mid_width_error_db"] <= TARGETS["mid_width_db"],
        "model file <= 60 MB": out["model_mb"] <= TARGETS["model_mb"],
        "checkpoint <= 120 MB": out["checkpoint_mb"] <= TARGETS["checkpoint_mb"],
        "training <= 1.5x mono": out["train_ratio"] <= TARGETS["train_ratio"],
    }
    return out


def print_table(result):
    s = result["summary"]
    print(f"\nstereo, {result['preset']}, {result['n_loops']} loops ({result['cpu']})")
    print(f"corpus: median side {s['corpus_width_db']:.1f} dB under the mid, lowest correlation {s['corpus_correlation_min']:.2f}")
    print("| | stereo (the image: bands and details) | mono (as before) | the original's mid with its image |")
    print("| --- | --- | --- | --- |")
    for label, key, fmt in (("audible LSD per channel", "lsd_db", "{:.2f} dB"), ("side-to-mid, median |error|", "width_error_db", "{:.2f} dB"),
                            ("correlation, median |error|", "correlation_error", "{:.3f}")):
        print(f"| {label} | " + " | ".join(fmt.format(s[f"{kind}_{key}"]) for kind in ("stereo", "mono", "image_alone")) + " |")
    print(f"the model's mid against the original's mid (what a channel's LSD rests on): {s['mid_lsd_db']:.2f} dB")
    print(f"mid-morphs' side-to-mid against their ends' mean: median |error| {s['mid_width_error_db']:.2f} dB, largest {s['mid_width_error_db_max']:.2f} dB")
    print(f"model file {s['model_mb']:.1f} MB, checkpoint {s['checkpoint_mb']:.1f} MB, the loops' images (stereo.npz) {s['images_mb']:.1f} MB; training {s['train_seconds_stereo']:.0f} s stereo, "
          f"{s['train_seconds_mono']:.0f} s mono ({s['train_ratio']:.2f}x; in its epochs {s['epochs_ratio']:.2f}x); a render {s['render_ms_stereo']:.1f} ms stereo, "
          f"{s['render_ms_mono']:.1f} ms mono")
    for name, ok in s["verdicts"].items():
        print(f"  {'met' if ok else 'NOT met'}: {name}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="studio44")
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--epochs", type=int, help="default: the preset's own")
    p.add_argument("--pairs", type=int, default=20)
    p.add_argument("--kits", default="fluidr3", choices=("fluidr3", "timgm6mb", "avl"),
                   help="the kit set (gm_loops.KIT_SETS): FluidR3's at 140 BPM, or another's at mixed tempos, kept aside")
    p.add_argument("--seed", type=int, default=0, help="the corpus's draw")
    p.add_argument("--quick", action="store_true", help="8 demo loops, the tiny preset, 2 epochs")
    p.add_argument("--work", help="keep the corpus and models here")
    p.add_argument("--json")
    args = p.parse_args(argv)

    from morphlib.config import get_preset, settings_for
    from morphlib.data.dataset import load_folder

    preset = get_preset("tiny" if args.quick else args.preset)
    epochs = 2 if args.quick else args.epochs
    work = args.work or tempfile.mkdtemp(prefix="morphlib-stereo-")
    folder = make_corpus(os.path.join(work, "loops"), n=args.loops, quick=args.quick, kits=args.kits, seed=args.seed)
    settings = settings_for(preset.name)
    loops = load_folder(folder, settings, progress=False, cache=False)
    mono_loops = load_folder(mono_copy(folder, os.path.join(work, "mono")), settings, progress=False, cache=False)
    model, seconds, epoch_seconds = timed_training(loops, os.path.join(work, "model-stereo"), preset=preset, epochs=epochs)
    _, mono_seconds, mono_epoch_seconds = timed_training(mono_loops, os.path.join(work, "model-mono"), preset=preset, epochs=epochs)
    from sound import sizes

    rows = [loop_figures(model, loops, k) for k in range(len(loops)) if loops.image(k) is not None]
    rng = np.random.default_rng(0)
    stereo_ones = [k for k in range(len(loops)) if loops.image(k) is not None]
    pairs = [tuple(int(i) for i in rng.choice(stereo_ones, 2, replace=False)) for _ in range(args.pairs)]
    morphs = mid_morph_widths(model, loops, pairs)
    render_ms = render_cost(model, loops, pairs, n_iter=32)
    result = {"preset": preset.name, "kits": "demo" if args.quick else args.kits, "seed": args.seed, "n_loops": len(loops), "cpu": cpu_description(), "date": time.strftime("%Y-%m-%d"),
              "summary": summary(rows, morphs, {**sizes(model.model_dir, model, epochs), "images_mb": images_mb(model.model_dir)}, (seconds, mono_seconds),
                                 (epoch_seconds, mono_epoch_seconds), render_ms),
              "loops": rows, "morphs": morphs}
    print_table(result)
    report(result, args.json)


if __name__ == "__main__":
    main()
