"""Loops of kits a model never heard: how far off they are, and what a minute of adding buys.

    python benchmarks/addloops.py                        # studio preset, recorded drums, kits 32 and 40 held out
    python benchmarks/addloops.py --presets studio studio44 --seconds 60
    python benchmarks/addloops.py --levers               # and a model with each lever for unseen kits (about 30 min)
    python benchmarks/addloops.py --presets studio44 --shares 0.35@10 0.45:0.25@10 0.45:0.25@10 --step-back 0.9
                                                         # the new loops' share of a batch, and the peak, from one model
    python benchmarks/addloops.py --variants encoder-trained ema pulled adam-old-state frozen-patterns replay-drift
                                                         # what was tried besides the frozen encoder, from one model
    python benchmarks/addloops.py --quick                # seconds: checks that it runs

Recorded drums (``gm_loops.py``) are split by kit: a model is trained with its defaults on
the loops of the other kits, then the held-out kits' loops are heard through it before
any extra training (unseen kits: from the encoder, and from latents fitted to each loop as
the panel and ``morph`` do for loops a model has not heard, ``morphlib/model/latentfit.py``), and again after ``add_loops`` has trained for
``--seconds`` on the whole folder (45 % of every batch new loops at the start, 25 % at the end, peak 10× the preset's rate), beside the same time of
plain training (each loop its share of the batches: what resuming on a bigger folder
amounts to). Audible LSD of the new loops and of the old ones, each through the same
Griffin-Lim. Also run by ``sound.py --add-kits``, beside the sound of the same presets. Prints a table and one JSON object.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

HELD_KITS = ("32", "40")


def slug(name):
    """A preset's name (``studio44:latent_dim=64``) as a folder name."""
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", str(name))


def split_by_kit(folder, work, held=HELD_KITS):
    """A folder of the loops of every kit but ``held`` (symlinks); (that folder, held names)."""
    old = os.path.join(work, "old-kits")
    os.makedirs(old, exist_ok=True)
    files = sorted(f for f in os.listdir(folder) if f.endswith(".wav"))
    if not any(f.startswith(f"GM Kit {k} ") for k in held for f in files):  # a small corpus: the last loop's kit
        held = (files[-1].split()[2],)
    held_names = []
    for f in files:
        if not f.endswith(".wav"):
            continue
        if any(f.startswith(f"GM Kit {k} ") for k in held):
            held_names.append(f[:-4])
        elif not os.path.exists(os.path.join(old, f)):
            os.symlink(os.path.join(os.path.abspath(folder), f), os.path.join(old, f))
    return old, held_names


def audible(model, loops, names, every=1, *, fit=0):
    """Mean audible LSD (dB) of ``names`` of ``loops`` reconstructed by ``model`` (from
    latents fitted in ``fit`` steps: what the panel and morph use for loops it has not heard)."""
    from morphlib.sound.audiometrics import audible_lsd

    picked = [loops.names.index(n) for n in names][::every]
    S = np.asarray(loops.S[np.asarray(picked)], np.float32)
    decoded = model.reconstruct(S, fit=fit)
    return float(np.mean([audible_lsd(S[k], model.to_audio(decoded[k]), loops.settings) for k in range(len(S))]))


def fitted_harder(model, loops, names, old_names, every=1, *, steps, rate, nearest=0):
    """Mean audible LSD (dB) of ``names`` decoded from latents fitted in ``steps`` Adam steps
    of ``rate``; with ``nearest``, also fitted from the stored latents of the ``nearest``
    loops of ``old_names`` (the training loops) that decode closest to each, the fit with
    the lowest loss kept."""
    from morphlib.model.latentfit import fit_latents, latent_gradient
    from morphlib.sound.audiometrics import audible_lsd

    picked = [loops.names.index(n) for n in names][::every]
    S = np.asarray(loops.S[np.asarray(picked)], np.float32)
    gradient = latent_gradient(model.vae)
    starts = [model.encode(S)]
    if nearest:
        Z_old = model.encode(np.asarray(loops.S[[loops.names.index(n) for n in old_names]], np.float32))
        D_old = model.vae.compress(model.decode(Z_old)).numpy()
        target = model.vae.compress(S).numpy()
        dist = ((target[:, None] - D_old[None]) ** 2).mean(axis=(2, 3))  # (new, old)
        closest = np.argsort(dist, axis=1)[:, :nearest]
        starts += [Z_old[closest[:, j]] for j in range(nearest)]
    fits = [fit_latents(model.vae, S, z0, steps=steps, learning_rate=rate, gradient=gradient) for z0 in starts]
    losses = np.stack([np.asarray(gradient(z, S)[0]) for z in fits])  # (starts, loops)
    z = np.stack(fits)[np.argmin(losses, axis=0), np.arange(len(S))]
    decoded = model.decode(z)
    return float(np.mean([audible_lsd(S[k], model.to_audio(decoded[k]), loops.settings) for k in range(len(S))]))


def run(folder, preset, work, *, seconds=60.0, epochs=None, every=2, settings=None, shares=(), step_back=(), fit_steps=(),
        held_kits=HELD_KITS, fit_rates=(), fit_nearest=0, variants=()):
    """One preset: train on the kits not held out, then add them two ways (and with each of
    ``shares``, from the same trained model); a dict of figures."""
    import morphlib.training.newloops as newloops
    from morphlib.config import settings_for
    from morphlib.model.latentfit import FIT_RATE, FIT_STEPS
    from morphlib.data.dataset import load_folder
    from morphlib.model.morphmodel import load_model
    from morphlib.training.trainer import train

    settings = settings or settings_for(preset, fit="crop")
    name = getattr(preset, "name", preset)
    old_dir, held = split_by_kit(folder, work, held_kits)
    cache = os.path.join(work, "cache")
    old = load_folder(old_dir, settings, progress=False, cache=cache)
    everything = load_folder(folder, settings, progress=False, cache=cache)
    model_dir = os.path.join(work, f"model-{slug(name)}-{int(time.time())}")
    t = time.perf_counter()
    train(old, model_dir, preset=preset, epochs=epochs, progress=False, verbose=False)
    train_s = time.perf_counter() - t
    plain_dir = model_dir + "-plain"
    shutil.copytree(model_dir, plain_dir)
    if shares or variants:
        shutil.copytree(model_dir, plain_dir + "-before")
    trained = load_model(model_dir)
    row = {"preset": name, "old_loops": len(old), "new_loops": len(held), "train_seconds": train_s, "add_seconds": seconds,
           "old_before": audible(trained, everything, old.names, every), "new_before": audible(trained, everything, held, every),
           "new_fitted": audible(trained, everything, held, every, fit=FIT_STEPS)}
    if fit_steps:  # how far fitting the unseen loops' latents reaches with more or fewer steps
        row["new_fitted_by_steps"] = {str(k): audible(trained, everything, held, every, fit=k) for k in fit_steps}
    if fit_rates or fit_nearest:  # fitting harder: larger steps, more of them, more starts
        steps = max(fit_steps or [FIT_STEPS])
        row["new_fitted_harder"] = {
            f"rate {rate}, {steps} steps{f', from {fit_nearest} nearest too' if fit_nearest else ''}":
            fitted_harder(trained, everything, held, old.names, every, steps=steps, rate=rate, nearest=fit_nearest)
            for rate in (fit_rates or [FIT_RATE])}
    added = newloops.add_loops(everything, model_dir, seconds=seconds, progress=False, verbose=False)
    row.update(old_after=audible(added, everything, old.names, every), new_after=audible(added, everything, held, every))
    share = newloops.NEW_SHARE
    try:  # the same minute, every loop its own share of the batches
        newloops.NEW_SHARE = len(held) / len(everything)
        plain = newloops.add_loops(everything, plain_dir, seconds=seconds, progress=False, verbose=False)
    finally:
        newloops.NEW_SHARE = share
    row.update(old_plain=audible(plain, everything, old.names, every), new_plain=audible(plain, everything, held, every))
    if shares:
        row["shares"] = share_runs(everything, old.names, held, plain_dir + "-before", shares, step_back=step_back,
                                   seconds=seconds, every=every)
    if variants:
        row["variants"] = variant_runs(everything, old.names, held, plain_dir + "-before", variants, seconds=seconds, every=every)
    return row


def variant_runs(everything, old_names, held, pristine, names, *, seconds=60.0, every=2):
    """An addition with each of ``names`` (``add_variants.py``), each from a copy of the
    model in ``pristine``; a list of dicts: new and old loops' audible LSD (dB), steps."""
    import morphlib.training.newloops as newloops
    from add_variants import addition_variant

    rows = []
    for k, name in enumerate(names):
        model_dir = f"{pristine}-variant{k}"
        shutil.copytree(pristine, model_dir)
        with addition_variant(name, everything, old_names) as callbacks:
            added = newloops.add_loops(everything, model_dir, seconds=seconds, progress=False, verbose=False, callbacks=callbacks)
        rows.append({"variant": name, "steps": callbacks[0].steps, "new": audible(added, everything, held, every),
                     "old": audible(added, everything, old_names, every)})
    return rows


def parse_share(text, default_peak=None):
    """``FIRST[:LAST][@PEAK]`` → (first, last, peak): the new loops' share of a batch at the
    addition's first and last step, and the peak learning rate (× the preset's; default
    ``default_peak``, else morphlib's)."""
    import morphlib.training.newloops as newloops

    shares, _, peak = text.partition("@")
    first, _, last = shares.partition(":")
    return float(first), float(last or first), float(peak) if peak else (default_peak or newloops.PEAK)


def share_runs(everything, old_names, held, pristine, specs, *, step_back=(), seconds=60.0, every=2):
    """An addition with each of ``specs`` (``parse_share``), each from a copy of the model in
    ``pristine``; after the first, its weights taken each fraction of ``step_back`` of the
    way from the model before. A list of dicts: new and old loops' audible LSD (dB)."""
    import morphlib.training.newloops as newloops
    from morphlib.model.morphmodel import load_model

    saved = newloops.NEW_SHARE, newloops.PEAK
    rows = []
    try:
        for k, spec in enumerate(specs):
            first, last, peak = parse_share(spec, default_peak=saved[1])
            newloops.NEW_SHARE, newloops.PEAK = (first, last), peak
            model_dir = f"{pristine}-share{k}"
            shutil.copytree(pristine, model_dir)
            added = newloops.add_loops(everything, model_dir, seconds=seconds, progress=False, verbose=False)
            rows.append({"spec": spec, "first": first, "last": last, "peak": peak,
                         "new": audible(added, everything, held, every), "old": audible(added, everything, old_names, every)})
            if k == 0 and step_back:
                before = load_model(pristine).vae.get_weights()
                after = added.vae.get_weights()
                for f in step_back:
                    added.vae.set_weights([b + f * (a - b) for a, b in zip(after, before)])
                    rows.append({"spec": f"{spec}, weights {f:g} of the way from the model before", "first": first, "last": last,
                                 "peak": peak, "step_back": f, "new": audible(added, everything, held, every),
                                 "old": audible(added, everything, old_names, every)})
    finally:
        newloops.NEW_SHARE, newloops.PEAK = saved
    return rows


def print_shares(rows):
    for r in rows:
        if r.get("new_fitted_by_steps"):
            print(f"{r['preset']}: unseen kits from latents fitted in " + ", ".join(
                f"{k} steps {v:.2f} dB" for k, v in r["new_fitted_by_steps"].items()))
        if r.get("new_fitted_harder"):
            print(f"{r['preset']}: unseen kits fitted harder: " + ", ".join(f"{k} {v:.2f} dB" for k, v in r["new_fitted_harder"].items()))
        if r.get("variants"):
            print(f"{r['preset']}: additions of {r['add_seconds']:.0f} s with the encoder trained (old loops {r['old_before']:.2f} dB before)")
            print(f"  {'variant':22s} {'steps':>6s} {'new loops':>10s} {'old loops lose':>15s}")
            for v in r["variants"]:
                print(f"  {v['variant']:22s} {v['steps']:>6d} {v['new']:>7.2f} dB {v['old'] - r['old_before']:>+12.2f} dB")
        if not r.get("shares"):
            continue
        print(f"{r['preset']}: additions of {r['add_seconds']:.0f} s from one model (old loops {r['old_before']:.2f} dB before)")
        print(f"  {'addition':62s} {'new loops':>10s} {'old loops lose':>15s}")
        for s in r["shares"]:
            print(f"  {s['spec']:62s} {s['new']:>7.2f} dB {s['old'] - r['old_before']:>+12.2f} dB")


#: The levers tried for unseen kits (issue 23), as fields of the preset that each replaces.
LEVERS = {
    "as it is": {},
    "augmented: gain ±6 dB, shift ±2 frames, 30 % kit mixing": dict(augment_gain_db=6.0, augment_shift=2, augment_mix=0.3),
    "augmented: gain ±6 dB": dict(augment_gain_db=6.0),
    "augmented: 30 % kit mixing": dict(augment_mix=0.3),
    "weight decay 0.05": dict(weight_decay=0.05),
    "wider (hidden 256)": dict(hidden=256),
    "convolutional frequency decoder": dict(frequency_decoder="conv"),
    "32 latent dimensions": dict(latent_dim=32),
    "64 latent dimensions": dict(latent_dim=64),
    "32 latent dimensions, 30 % kit mixing": dict(latent_dim=32, augment_mix=0.3),
}


def levers(folder, preset, work, *, epochs=None, every=2, settings=None, which=None):
    """Unseen kits with each lever of ``LEVERS``: a model trained with it on the kits not held
    out, heard on its training loops and on the held-out kits; a list of dicts."""
    import dataclasses

    from morphlib.config import get_preset, settings_for
    from morphlib.data.dataset import load_folder
    from morphlib.model.latentfit import FIT_RATE, FIT_STEPS
    from morphlib.training.trainer import train

    settings = settings or settings_for(preset, fit="crop")
    preset_name = getattr(preset, "name", preset)
    old_dir, held = split_by_kit(folder, work)
    cache = os.path.join(work, "cache")
    old = load_folder(old_dir, settings, progress=False, cache=cache)
    everything = load_folder(folder, settings, progress=False, cache=cache)
    rows = []
    for k, (name, fields) in enumerate(LEVERS.items()):
        if which is not None and name not in which:
            continue
        varied = dataclasses.replace(get_preset(preset), name=f"{preset_name}-lever{k}", **fields)
        t = time.perf_counter()
        model = train(old, os.path.join(work, f"lever{k}-{slug(preset_name)}-{int(time.time())}"), preset=varied, epochs=epochs, progress=False, verbose=False)
        rows.append({"preset": preset_name, "lever": name, "fields": fields, "train_seconds": time.perf_counter() - t,
                     "old": audible(model, everything, old.names, every), "unseen": audible(model, everything, held, every),
                     "unseen_fitted": audible(model, everything, held, every, fit=FIT_STEPS)})
        print(f"  {name}: trained in {rows[-1]['train_seconds']:.0f} s", flush=True)
    return rows


def print_levers(rows):
    print(f"{'preset':10s} {'lever':58s} {'training loops':>15s} {'unseen':>7s} {'fitted':>7s} {'train s':>8s}")
    for r in rows:
        print(f"{r['preset']:10s} {r['lever']:58s} {r['old']:>15.2f} {r['unseen']:>7.2f} {r['unseen_fitted']:>7.2f} {r['train_seconds']:>8.0f}")
    print("audible LSD in dB of the training loops and of the held-out kits' loops (from the encoder, and from fitted latents)")


def print_rows(rows):
    print(f"{'preset':12s} {'loops old/new':>14s} {'new: unseen':>12s} {'fitted':>7s} {'new: added':>11s} {'new: plain':>11s} "
          f"{'old before':>11s} {'old added':>10s} {'old plain':>10s}")
    for r in rows:
        print(f"{r['preset']:12s} {r['old_loops']:>8d}/{r['new_loops']:<5d} {r['new_before']:>12.2f} {r['new_fitted']:>7.2f} "
              f"{r['new_after']:>11.2f} {r['new_plain']:>11.2f} {r['old_before']:>11.2f} {r['old_after']:>10.2f} {r['old_plain']:>10.2f}")
    print("audible LSD in dB; 'unseen': from the encoder, 'fitted': from latents fitted to each loop (latentfit, what the "
          "panel and morph use for loops a model has not heard); 'added': after add_loops (45 % -> 25 % of every batch new loops); "
          "'plain': the same time, every loop its share. Targets: new added <= 3 dB, old added <= old before + 0.3 dB, "
          "unseen kits <= 7 dB")
    for r in rows:
        checks = {f"new loops {r['new_after']:.2f} <= 3 dB": r["new_after"] <= 3,
                  f"old loops lose {r['old_after'] - r['old_before']:+.2f} <= 0.3 dB": r["old_after"] - r["old_before"] <= 0.3,
                  f"unseen kits {r['new_fitted']:.2f} (fitted latents) <= 7 dB": r["new_fitted"] <= 7}
        missed = [k for k, ok in checks.items() if not ok]
        print(f"{r['preset']} (new loops in {r['add_seconds']:.0f} s): " + ("every target met" if not missed else "missed: " + "; ".join(missed))
              + f" ({'; '.join(k for k, ok in checks.items() if ok)})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["studio"], help="presets, or variants: studio44:latent_dim=64")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--epochs", type=int, help="training epochs (default: each preset's)")
    p.add_argument("--loops", type=int, default=74)
    p.add_argument("--quick", action="store_true", help="a few loops, tiny settings, 2 epochs, 3 s")
    p.add_argument("--levers", nargs="*", metavar="LEVER",
                   help="also train a model with each lever for unseen kits (augmentation, weight decay, a wider or convolutional decoder, more latent dimensions; "
                        "all without names; each a full training) and hear the held-out kits through it")
    p.add_argument("--shares", nargs="+", default=[], metavar="FIRST[:LAST][@PEAK]",
                   help="also add the loops with each of these, from the same trained model: the new loops' share of every batch "
                        "at the first and the last step, and the peak learning rate as a multiple of the preset's "
                        "(0.45:0.25@10 is the default; give one twice to see its spread)")
    p.add_argument("--fit-steps", nargs="+", type=int, default=[], metavar="K",
                   help="also the unseen kits from latents fitted in K steps (the default is latentfit.FIT_STEPS)")
    p.add_argument("--fit-rates", nargs="+", type=float, default=[], metavar="R",
                   help="also the unseen kits from latents fitted with Adam's step R (the default is latentfit.FIT_RATE), "
                        "in the most of --fit-steps steps")
    p.add_argument("--fit-nearest", type=int, default=0, metavar="K",
                   help="with --fit-rates: also fit from the latents of the K training loops that decode closest, keep the best")
    p.add_argument("--variants", nargs="+", default=[], metavar="VARIANT",
                   help="also add the loops with the encoder trained, and each of these, from the same trained model: "
                        "encoder-trained ema pulled adam-old-state frozen-patterns replay-drift (add_variants.py)")
    p.add_argument("--step-back", nargs="+", type=float, default=[], metavar="F",
                   help="after the first of --shares, its weights taken F of the way from the model before")
    p.add_argument("--held-kits", nargs="+", default=list(HELD_KITS), metavar="KIT",
                   help=f"the GM kits held out as the new loops (default {' '.join(HELD_KITS)}, the ones the addition's "
                        "defaults were tuned on; give others to check them on loops kept aside)")
    p.add_argument("--work")
    p.add_argument("--json")
    args = p.parse_args(argv)
    from add_variants import check
    from common import variant
    from gm_loops import gm_loops
    from morphlib.config import AnalysisSettings, get_preset, settings_for

    work = args.work or tempfile.mkdtemp(prefix="morphlib-addloops-")
    folder = os.path.join(work, "gm")
    gm_loops(folder, n=12 if args.quick else args.loops)
    quick = dict(settings=AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=16), epochs=2, seconds=3.0) if args.quick else {}
    presets = [variant(text, get_preset) for text in args.presets]  # PRESET or PRESET:field=value,...
    at = {p.name: settings_for(p.name.split(":")[0], fit="crop") for p in presets}
    for spec in args.shares:
        try:
            parse_share(spec)
        except ValueError:
            p.error(f"--shares {spec!r}: give FIRST[:LAST][@PEAK], e.g. 0.45:0.25@10")
    check(args.variants)
    rows = [run(folder, preset, work, shares=args.shares, variants=args.variants, step_back=args.step_back, fit_steps=args.fit_steps,
                fit_rates=args.fit_rates, fit_nearest=args.fit_nearest,
                held_kits=tuple(args.held_kits),
                **{"seconds": args.seconds, "epochs": args.epochs, "settings": at[preset.name], **quick})
            for preset in presets]
    print_rows(rows)
    print_shares(rows)
    if args.levers is not None:
        unknown = [n for n in args.levers if n not in LEVERS]
        if unknown:
            p.error(f"unknown lever {unknown[0]!r}; choose from {list(LEVERS)}")
        tried = [r for preset in presets for r in levers(folder, preset, work, epochs=args.epochs or quick.get("epochs"),
                                                        settings=quick.get("settings", at[preset.name]), which=args.levers or None)]
        print_levers(tried)
        rows = rows + tried
    print(json.dumps(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
