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

It trains on ``train``'s own loop (``engine.fit_loop``: Keras' ``fit``, the recipe's
schedule on a ``budget.Clock``, the folder's keeper and checkpoint writer); what differs is
only its policy: the clock of its own seconds, the mixed batches, and :class:`AddKeeper`.
"""

import collections
import dataclasses
import math
import os
import shutil
import time

import numpy as np

from ..data.dataset import LoopSet, load_folder
from ..errors import ModelFolderError, ParameterError
from ..files import refuse_links
from ..model.backend import keras_tf_tfp
from ..model.folder import (
    BEST,
    CHECKPOINT_EVERY,
    HISTORY,
    IMAGES,
    LATENTS,
    META,
    ModelFolder,
    check_settings,
    read_history,
    read_images,
    read_latents,
    read_state,
    settings_for_folder,
    write_latents,
)
from ..model.morphmodel import load_model
from ..model.recipes import pick_precision
from ..model.vae import build_vae
from ..progress import format_duration
from .budget import Clock
from .engine import EpochProgress, FolderKeeper, LearningRateSchedule, epoch_estimate, fit_loop
from .lease import FolderLease
from .optimizer import make_optimizer
from .pipeline import steps_per_epoch

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


def add_loops(loops, model_dir, *, seconds=DEFAULT_SECONDS, seed=0, progress=True, verbose=True, callbacks=()):
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
    callbacks : sequence of keras.callbacks.Callback
        Extra callbacks, after the addition's own; what they leave in the weights when
        training ends is what is written.

    Returns
    -------
    model : MorphModel
        The model with the new loops, with ``added`` (their names) and ``before`` (the
        folder holding the earlier model, or None when nothing was new).
    """
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
    # held while it trains and writes; it writes nothing before its end, so it counts as
    # dead to another run only after twice its own time (or two checkpoint intervals)
    with FolderLease(model_dir, stale_after=2 * max(seconds, CHECKPOINT_EVERY), say=say):
        vae, recipe, precision = _trainable_copy(folder, meta, seed)
        keeper, interrupted = _fit_added(vae, loops, fresh, known, folder=folder, recipe=recipe, precision=precision,
                                         seconds=seconds, seed=seed, progress=progress, say=say, callbacks=callbacks)
        if interrupted or keeper.before is None:
            why = "interrupted" if interrupted else "the loss became NaN or infinite" if keeper.diverged else "no epoch ended"
            say(f"{why}: {model_dir} is as it was (the new loops were not added); run it again to add them")
            if interrupted:
                raise KeyboardInterrupt
            raise ModelFolderError(f"adding loops to {model_dir} stopped ({why}); the folder is as it was: "
                                   "try fewer seconds, or train the whole folder again")
        folder.add_names(loops.names)
        model = load_model(folder)
        _write_latents(model_dir, model, loops, keeper.kept_latents, keeper.kept_images)
    model.added, model.before = new, keeper.before
    say(f"added {len(new)} loops in {format_duration(keeper.seconds)} ({keeper.steps} steps); "
        f"the model before is in {keeper.before}")
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
    vae.encoder.trainable = True
    vae.compile(optimizer=make_optimizer(preset, precision))
    vae.optimizer.build(vae.trainable_variables)
    return vae


def _fit_added(vae, loops, fresh, known, *, folder, recipe, precision, seconds, seed, progress, say, callbacks=()):
    """The addition on the training loop: a warm restart's cycle (peak ``PEAK``) laid over
    ``seconds`` on a clock of its own, mixed batches, an :class:`AddKeeper`; ``(keeper, interrupted)``."""
    preset = folder.meta["preset"]
    if PEAK is not None and recipe.schedule != "constant":
        recipe = dataclasses.replace(recipe, restart_peak=PEAK)
    batch = recipe.batch_size_for(preset)
    steps = steps_per_epoch(len(loops), batch)
    clock = Clock(seconds, cycle=2)  # cycle 2: the learning rate of a warm restart
    clock.prior_epoch_s = epoch_estimate(vae, loops, batch, steps)  # until an epoch after the first is timed
    keeper = AddKeeper(folder, preset=preset, precision=precision, steps_per_epoch=steps, clock=clock, say=say)
    callbacks = [LearningRateSchedule(recipe, preset, 1, clock=clock), keeper,
                 *([EpochProgress(1, 0, clock=clock, desc="adding loops")] if progress else []), *callbacks]
    data = mixed_batches(vae, loops, fresh, known, batch=batch, clock=clock, seed=seed)
    interrupted = fit_loop(vae, data, epochs=1_000_000, start=0, steps=steps, keeper=keeper, callbacks=callbacks)
    return keeper, interrupted


def mixed_batches(vae, loops, fresh, known, *, batch, clock, seed=0):
    """Batches of ``loops`` for an addition: ``new_in_batch`` of each drawn from ``fresh``
    (indices of the new loops), at the fraction of ``clock``'s time used, the rest from
    ``known``. With the encoder frozen, each batch comes with its posterior, computed here
    once for every loop (``{"x", "loc", "scale"}``: ``VAE.train_step`` then runs only the
    decoder); else the spectrograms alone.

    Returns
    -------
    dataset : tf.data.Dataset
        Endless, of ``float32 [shape=(batch, n_bins, n_frames)]`` batches (or dicts of them).
    """
    _, tf, _ = keras_tf_tfp()
    rng = np.random.default_rng(seed)
    given = GIVEN_POSTERIOR and not vae.encoder.trainable
    loc, scale = _posteriors(vae, loops) if given else (None, None)

    def batches():
        while True:
            n_new = batch if not known else new_in_batch(batch, clock.fraction())
            idx = np.concatenate([rng.choice(fresh, n_new), rng.choice(known, batch - n_new) if known else []])
            idx = np.sort(idx.astype(int))
            x = np.asarray(loops.S[idx], np.float32)
            yield {"x": x, "loc": loc[idx], "scale": scale[idx]} if given else x

    x_spec = tf.TensorSpec((batch, *loops.S.shape[1:]), tf.float32)
    if not given:
        return tf.data.Dataset.from_generator(batches, output_signature=x_spec)
    spec = {"x": x_spec, "loc": tf.TensorSpec((batch, *loc.shape[1:]), tf.float32),
            "scale": tf.TensorSpec((batch, *scale.shape[1:]), tf.float32)}
    return tf.data.Dataset.from_generator(batches, output_signature=spec)


def _posteriors(vae, loops, batch=32):
    """The encoder's ``(loc, scale)`` of every loop, as arrays."""
    parts = [vae.posterior_params(np.asarray(loops.S[i : i + batch], np.float32)) for i in range(0, len(loops), batch)]
    return (np.concatenate([np.asarray(p[0], np.float32) for p in parts]),
            np.concatenate([np.asarray(p[1], np.float32) for p in parts]))


class AddKeeper(FolderKeeper):
    """The keeper of an addition: the folder stays as it was until the addition ends
    (nothing written before it, nothing when it is interrupted, fails or diverges); then the model
    before goes to ``before-add-N/``, and the model as the addition ends — its last weights,
    not those of its lowest loss, which the new loops' falling share moves — is written
    with one history row for the whole addition and a checkpoint that ``train`` resumes
    from, whose loss on the bigger set is the one to beat (``best_from``). The clock stops
    the addition when its next epoch would not end within its seconds.

    Attributes
    ----------
    before : str or None
        The folder holding the model before, once written.
    kept_latents, kept_images : dict
        Latents (and stereo images) of the loops the model knew, read before its file changed.
    seconds : float
    steps : int
    """

    saves_at_any_stop = False

    def __init__(self, folder, *, preset, precision, steps_per_epoch, clock, say):
        rows = read_history(folder)
        try:
            old = read_state(folder)
        except ModelFolderError:
            old = None
        super().__init__(folder.path, rows, checkpoint_every=math.inf, newest=old, say=say, clock=clock)
        self.preset, self.precision, self.steps_per_epoch = preset, precision, steps_per_epoch
        self._old_rows, self._old_clock = rows, (old or {}).get("clock")
        self.before, self.kept_latents, self.kept_images, self.seconds, self.epochs, self._logs = None, {}, {}, 0.0, 0, {}
        self.settings = folder.meta["settings"]

    @property
    def steps(self):
        return self.epochs * self.steps_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not math.isfinite(float(logs.get("loss", math.nan))):
            self.diverged = True
            self.model.stop_training = True
            return
        self.epochs, self._logs = self.epochs + 1, {k: float(logs[k]) for k in ("loss", "mse", "kl") if k in logs}
        now = time.monotonic()
        self.clock.note_epoch(now - self._epoch_end)
        self._epoch_end = now
        if not self.clock.next_epoch_fits():
            self.clock.finish()
            self.cycle_ended = self.model.stop_training = True

    def close(self, *, save=True):
        if self._closed:
            return
        self.seconds = time.monotonic() - self._started
        if save and self.epochs and not self.diverged:
            self._write()
        super().close(save=False)

    def _write(self):
        """Keep the model before, then write the added one: its file, a history row, a checkpoint."""
        try:
            self.kept_latents = read_latents(self.model_dir)  # before the model changes (they are stamped with it)
        except ModelFolderError:
            self.kept_latents = {}
        try:
            self.kept_images = read_images(self.model_dir, self.settings)
        except ModelFolderError:  # a damaged stereo.npz costs the old loops their images, not their latents
            self.kept_images = {}
        self.before = _keep_before(self.model_dir)
        _resumable(self.model, self.preset, self.precision)
        row = {"epoch": (self._old_rows[-1]["epoch"] if self._old_rows else 0) + 1, **self._logs,
               "seconds": round(self.seconds, 3)}
        self.history, self.last_epoch, self.best_from = [*self._old_rows, row], row["epoch"], row["epoch"]
        self._best_weights = self.model.get_weights()
        if not self.save():
            raise ModelFolderError(f"could not write the added model into {self.model_dir} ({self.unreachable}); "
                                   f"the model before is in {self.before}: remount the folder and add the loops again")

    def _checkpoint_state(self):
        state = {"epoch": self.last_epoch, "loss": self.history[-1].get("loss"), "best_from": self.best_from}
        if self._old_clock:  # the folder's own clock: its cycle has ended with the addition
            state["clock"] = {**self._old_clock, "used_s": max(self._old_clock["budget_s"], self._old_clock["used_s"])}
        return state


def _keep_before(model_dir):
    """Copy the folder's model, meta, history and latents into ``before-add-N/``; its path."""
    n = 1
    while os.path.exists(os.path.join(model_dir, f"before-add-{n}")):
        n += 1
    before = os.path.join(model_dir, f"before-add-{n}")
    part = before + ".part"
    refuse_links(part, root=model_dir)
    shutil.rmtree(part, ignore_errors=True)
    os.makedirs(part)
    for name in (BEST, META, HISTORY, LATENTS, IMAGES):
        if os.path.exists(os.path.join(model_dir, name)):
            shutil.copy2(os.path.join(model_dir, name), os.path.join(part, name))
    os.replace(part, before)
    return before


def _write_latents(model_dir, model, loops, kept, kept_images):
    """``latents.json`` (and the stereo images) of the added model: the folder's loops, and
    the known ones not in it."""
    kept = {n: v for n, v in kept.items() if n not in set(loops.names)}
    # the folder's loops' images read one at a time as they are written; the known ones
    # not in it (few) as they were
    images = collections.ChainMap(loops.stereo_images(), {n: kept_images[n] for n in kept if n in kept_images})
    z = model.encode(loops.S)
    write_latents(model_dir, [*kept, *loops.names], np.concatenate([np.asarray(list(kept.values())).reshape(-1, z.shape[1]), z]),
                  images=images, settings=loops.settings)
