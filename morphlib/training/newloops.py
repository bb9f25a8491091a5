"""New loops into a trained model in a minute: a short run of its own from its weights.

A producer adds loops to a library the model was trained on. Resuming the model's own
schedule would not do: a finished one-cycle run is at its floor (or asked for more epochs,
stretched from where it ended), every loop gets the same share of the steps, and the
best model stays the one of the smaller set, whose loss the bigger set cannot beat.
``add_loops`` instead trains from the model's best weights for a set time (60 s by
default) on a one-cycle schedule of its own (peak 10× the preset's learning rate), with part of
every batch drawn from the new loops (45 % at the start, 25 % at the end) and the rest from
the loops the model knows (so that it learns the new ones without forgetting the old: the
cycle's last, quiet steps mend the old loops), and with the encoder frozen (so that the
loops it knows keep their latents), and then writes the model, its latent map and the list of its loops.
The folder's earlier model is kept beside it (``before-add-N/``), and an interrupted add
leaves the folder as it was.
"""

import dataclasses
import math
import os
import shutil
import time

import numpy as np

from ..errors import ModelFolderError, ParameterError
from .lease import FolderLease
from ..model.folder import CHECKPOINT_EVERY, ModelFolder
from ..progress import format_duration

#: Seconds of training that bring new loops up to the others' quality (README, "New loops in a minute").
DEFAULT_SECONDS = 60.0
#: Share of every batch drawn from the new loops at the addition's first step and at its
#: last (straight in between), and the peak learning rate of the addition's cycle as a
#: multiple of the preset's (None: the recipe's warm-restart peak). Measured by
#: ``benchmarks/addloops.py`` (20 loops of 2 unseen kits added to a studio model of 54,
#: 60 s on 2 cores; README): a higher peak was better for both the new and the old loops
#: (0.3, 1, 3, 6, 12 tried with the encoder trained; 1.5, 3, 6, 10 with it frozen, at 22
#: and 44.1 kHz; 15 and 20 worse at 44.1), a larger share better for the new ones and
#: worse for the old (0.25, 0.27, 0.35, 0.5). At 44.1 kHz, where a minute is half as many
#: steps, a share falling over the cycle did better than the constant 35 % (old loops
#: +0.16 to +0.22 dB against +0.21 to +0.39, new ones about 0.1 dB further) and 25 % (new
#: ones 3.12 dB: over the 3 dB target).
NEW_SHARE = (0.45, 0.25)
PEAK = 10.0
#: The frozen encoder's posterior of every loop computed once, so that a step runs only the
#: decoder (README, "New loops in a minute": more steps in the same minute).
GIVEN_POSTERIOR = True


def new_loop_names(loops, model_dir):
    """Names of ``loops`` that the model in ``model_dir`` was not trained on.

    Parameters
    ----------
    loops : LoopSet or sequence of str
    model_dir : str or os.PathLike

    Returns
    -------
    names : list of str
        In the order of ``loops``; empty for a folder without a model.
    """
    folder = ModelFolder.of(model_dir)
    if not folder.has_model:
        return []
    known = folder.names
    names = getattr(loops, "names", loops)
    return [n for n in names if n not in known]


def add_loops(loops, model_dir, *, seconds=DEFAULT_SECONDS, seed=0, progress=True, verbose=True):
    """Train the model in ``model_dir`` on the loops of ``loops`` that it has not heard.

    Parameters
    ----------
    loops : LoopSet or str or os.PathLike
        The model's loops and the new ones (a folder is loaded with the model's analysis
        settings). Loops the model knows that are missing here keep their latents (the
        encoder is not trained) but are not replayed, so the decoder may drift from them.
    model_dir : str or os.PathLike
        A trained model folder. Its model before the addition is moved to
        ``before-add-N/`` inside it (a model folder of its own: ``load_model`` reads it).
    seconds : float > 0
        Training time. 60 s brings new loops of a studio model to about its old loops'
        quality on 2 CPU cores (README).
    seed : int >= 0
        Seeds the batches and the posterior samples.
    progress : bool
        A progress bar over the seconds.
    verbose : bool
        Say what it does.

    Returns
    -------
    model : MorphModel
        The model with the new loops, with ``added`` (their names) and ``before`` (the
        folder holding the earlier model, or None when nothing was new).
    """
    from ..data.dataset import LoopSet, load_folder
    from ..model.folder import check_settings, settings_for_folder
    from ..model.morphmodel import load_model

    say = print if verbose else (lambda *a, **k: None)
    folder = ModelFolder.of(model_dir)  # its morphlib.json read once, here or by train
    model_dir, meta = folder.path, folder.meta
    seconds = _check_seconds(seconds)
    if not isinstance(loops, LoopSet):
        loops = load_folder(loops, settings_for_folder(folder), progress=progress)
    check_settings(loops.settings, meta["settings"], where=model_dir)
    new = new_loop_names(loops, folder)
    if not new:
        say(f"{model_dir} knows all {len(loops)} loops; nothing to add")
        model = load_model(folder)
        model.added, model.before = [], None
        return model
    known = [i for i, n in enumerate(loops.names) if n not in set(new)]
    fresh = [loops.names.index(n) for n in new]
    say(f"adding {len(new)} new loop{'s' * (len(new) != 1)} to {model_dir} ({_few(new)}): "
        f"{format_duration(seconds)} from its model on a short cycle of its own, {_share_text()} of every batch new loops"
        + ("" if known else "; none of its old loops is here to replay, so it may drift from them"))
    # held while it trains and writes; it writes no checkpoint before its end, so it counts
    # as dead to another run only after twice its own time (or two checkpoint intervals)
    with FolderLease(model_dir, stale_after=2 * max(seconds, CHECKPOINT_EVERY), say=say):
        vae, recipe, precision = _trainable_copy(folder, meta, seed)
        try:
            history = _train_mixed(vae, loops, fresh, known, recipe=recipe, preset=meta["preset"], seconds=seconds,
                                   seed=seed, progress=progress)
        except KeyboardInterrupt:
            say(f"interrupted: {model_dir} is as it was (the new loops were not added); run it again to add them")
            raise
        before = _keep_before(model_dir)
        kept = _write_added(folder, _resumable(vae, meta["preset"], precision), loops, meta, history)
        model = load_model(folder)
        _write_latents(model_dir, model, loops, kept)
    model.added, model.before = new, before
    last = history[-1]
    say(f"added {len(new)} loops in {format_duration(last['seconds'])} ({last['steps']} steps); "
        f"the model before is in {before}")
    return model


def new_in_batch(batch, fraction):
    """How many of a batch of ``batch`` loops are new ones, ``fraction`` in [0, 1] of the way
    through the addition: ``NEW_SHARE`` from its first value to its second, at least one
    new loop and one old one (a batch of one: the new loop).

    Parameters
    ----------
    batch : int > 0
    fraction : float in [0, 1]

    Returns
    -------
    n_new : int in [1, batch]
    """
    first, last = _first_and_last_share()
    fraction = min(max(float(fraction), 0.0), 1.0)
    share = first + (last - first) * fraction
    return int(min(max(1, round(batch * share)), max(1, batch - 1)))


def _first_and_last_share():
    return (NEW_SHARE, NEW_SHARE) if np.isscalar(NEW_SHARE) else tuple(NEW_SHARE)


def _share_text():
    first, last = _first_and_last_share()
    return f"{first:.0%}" if first == last else f"{first:.0%} → {last:.0%}"


def _check_seconds(seconds):
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"seconds must be a number > 0, got {seconds!r}")
    return value


def _few(names, k=3):
    return ", ".join(names[:k]) + (f" and {len(names) - k} more" if len(names) > k else "")


def _trainable_copy(model_dir, meta, seed):
    """The folder's best model with its encoder frozen, compiled with a fresh optimizer at its
    recipe's precision; (model, recipe, precision).

    A frozen encoder keeps the latents of the loops the model knows where they are, so the
    decoder only has to go on decoding them as before while it learns to decode the new
    loops from the encoder's guesses for them. Measured by ``benchmarks/addloops.py``
    (README): the old loops lost 0.15 dB where a trained encoder lost them 0.40 dB, and
    the new ones reached 2.65 dB against 2.37."""
    from ..model.backend import keras_tf_tfp
    from ..model.vae import build_vae
    from ..model.morphmodel import load_model
    from ..model.recipes import pick_precision
    from .optimizer import make_optimizer

    keras = keras_tf_tfp()[0]
    keras.utils.set_random_seed(seed)
    preset, recipe = meta["preset"], meta["recipe"]
    precision = pick_precision(recipe.precision)
    vae = build_vae(meta["settings"], preset, seed=seed, precision=precision)
    vae.set_weights(load_model(model_dir).vae.get_weights())
    vae.encoder.trainable = False
    vae.compile(optimizer=make_optimizer(preset, precision))
    return vae, recipe, precision


def _resumable(vae, preset, precision):
    """``vae`` whole again (encoder trainable), with a fresh optimizer built for all of its
    weights, so that its checkpoint has the layout that ``train`` resumes from."""
    from .optimizer import make_optimizer

    vae.encoder.trainable = True
    vae.compile(optimizer=make_optimizer(preset, precision))
    vae.optimizer.build(vae.trainable_variables)
    return vae


def _train_mixed(vae, loops, fresh, known, *, recipe, preset, seconds, seed, progress):
    """Steps until ``seconds`` are up (the last one ending within them), the learning rate a
    warm-restart cycle over the time; returns one history row for the whole run."""
    rng = np.random.default_rng(seed)
    if PEAK is not None and recipe.schedule != "constant":
        recipe = dataclasses.replace(recipe, restart_peak=PEAK)
    batch = recipe.batch_size_for(preset)
    step = _step_function(vae, loops)
    bar = _bar(seconds) if progress else None
    started, steps, step_s, logs = time.monotonic(), 0, 0.0, {}
    try:
        while True:
            elapsed = time.monotonic() - started
            if steps and elapsed + step_s > seconds:
                break
            n_new = batch if not known else new_in_batch(batch, elapsed / seconds)
            idx = np.sort(np.concatenate([rng.choice(fresh, n_new), rng.choice(known, batch - n_new) if known else []]).astype(int))
            x = np.asarray(loops.S[idx], np.float32)
            vae.optimizer.learning_rate = recipe.learning_rate_at(preset, elapsed / seconds, restart=True)
            t = time.monotonic()
            logs = step(x, idx)
            step_s = time.monotonic() - t if steps else 0.0  # the first step also builds the graph
            steps += 1
            if bar is not None:
                bar.n = min(seconds, round(time.monotonic() - started, 1))
                bar.set_postfix(loss=f"{float(logs['loss']):.4g}", refresh=True)
    finally:
        if bar is not None:
            bar.close()
    return [{"loss": float(logs.get("loss", math.nan)), "mse": float(logs.get("mse", math.nan)),
             "kl": float(logs.get("kl", math.nan)), "seconds": round(time.monotonic() - started, 3), "steps": steps}]


def _step_function(vae, loops, batch=32):
    """``(x, indices) → logs``: one training step on a batch of ``loops``. With the encoder
    frozen, its posterior of every loop is computed here once and each step runs only the
    decoder (``VAE.train_step_given_posterior``); otherwise Keras' ``train_on_batch``."""
    if not GIVEN_POSTERIOR or vae.encoder.trainable:
        return lambda x, idx: vae.train_on_batch(x, return_dict=True)
    import tensorflow as tf

    parts = [vae.posterior_params(np.asarray(loops.S[i : i + batch], np.float32)) for i in range(0, len(loops), batch)]
    loc = np.concatenate([np.asarray(p[0]) for p in parts])
    scale = np.concatenate([np.asarray(p[1]) for p in parts])
    vae.optimizer.build(vae.trainable_variables)  # its variables exist before the step is traced
    train = tf.function(vae.train_step_given_posterior)

    def step(x, idx):
        vae.reset_metrics()  # logs of this step, as train_on_batch gives them
        return train(tf.constant(x), tf.constant(loc[idx]), tf.constant(scale[idx]))

    return step


def _bar(seconds):
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=round(seconds, 1), desc="adding loops", unit="s", file=sys.stderr,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s {postfix}")


def _keep_before(model_dir):
    """Copy the folder's model, meta, history and latents into ``before-add-N/``; its path."""
    from ..files import refuse_links
    from ..model.folder import BEST, HISTORY, LATENTS, META

    n = 1
    while os.path.exists(os.path.join(model_dir, f"before-add-{n}")):
        n += 1
    before = os.path.join(model_dir, f"before-add-{n}")
    part = before + ".part"
    refuse_links(part, root=model_dir)
    shutil.rmtree(part, ignore_errors=True)
    os.makedirs(part)
    for name in (BEST, META, HISTORY, LATENTS):
        if os.path.exists(os.path.join(model_dir, name)):
            shutil.copy2(os.path.join(model_dir, name), os.path.join(part, name))
    os.replace(part, before)
    return before


def _write_added(model_dir, vae, loops, meta, history):
    """The model with the new loops: its file, the list of its loops, a history row, and a
    checkpoint that a later ``train`` resumes from (not the old run's); returns the latents
    of known loops missing from ``loops``, read before the model file changed."""
    from ..model.vae import VAE
    from ..model.folder import (
        BEST,
        CheckpointWriter,
        read_history,
        read_latents,
        read_state,
        save_keras_atomically,
        write_history,
    )

    try:
        latents = read_latents(model_dir)  # before the model changes (they are stamped with it)
    except ModelFolderError:
        latents = {}
    clean = VAE.from_config(vae.get_config())
    clean.set_weights(vae.get_weights())
    save_keras_atomically(clean, os.path.join(model_dir, BEST))

    ModelFolder.of(model_dir).add_names(loops.names)

    rows = read_history(model_dir)
    epoch = (rows[-1]["epoch"] if rows else 0) + 1
    row = {"epoch": epoch, **{k: history[-1][k] for k in ("loss", "mse", "kl", "seconds")}}
    write_history(model_dir, rows + [row])

    try:
        old = read_state(model_dir)
    except ModelFolderError:
        old = None
    state = {"epoch": epoch, "loss": row["loss"], "best_from": epoch}
    if old and old.get("clock"):
        state["clock"] = {**old["clock"], "used_s": max(old["clock"]["budget_s"], old["clock"]["used_s"])}  # its cycle has ended
    writer = CheckpointWriter(model_dir, old)
    writer.write(vae, state, rows + [row])
    writer.wait()

    return {n: v for n, v in latents.items() if n not in set(loops.names)}  # known loops not in this folder


def _write_latents(model_dir, model, loops, kept):
    """``latents.json`` of the added model: the folder's loops, and the known ones not in it."""
    from ..model.folder import write_latents

    z = model.encode(loops.S)
    write_latents(model_dir, [*kept, *loops.names], np.concatenate([np.asarray(list(kept.values())).reshape(-1, z.shape[1]), z]))
