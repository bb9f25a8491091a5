"""Training into a model folder that survives interruptions.

Run ``train`` again with the same folder and it continues from the last checkpoint
(weights and Adam's state). Checkpoints are written by time (every ``checkpoint_every``
seconds, after the first epoch and at every stop), so that a model folder on Google Drive
receives a bounded number of bytes; a killed process or a lost Colab runtime costs at most
the training since the last checkpoint.
"""

import contextlib
import math
import os
import tempfile
import time
import numpy as np

from ..model.backend import keras_callback_base
from ..model.devices import describe as describe_devices
from ..model.devices import get_strategy, in_multi_worker_mode, is_chief
from ..config import check_int, check_positive, default_preset, get_preset
from ..errors import FolderUnreachableError, ModelFolderError, ParameterError
from ..files import is_full, is_unreachable
from .lease import LEASE, FolderLease
from .newloops import DEFAULT_SECONDS as ADD_SECONDS
from .newloops import add_loops, new_loop_names
from .optimizer import make_optimizer
from .pipeline import Augmentation, steps_per_epoch, training_dataset
from .budget import check_fits
from .budget import plan as plan_clock
from ..progress import format_duration
from ..model.recipes import DEFAULT_RECIPE, get_recipe, pick_precision
from ..model.folder import (
    BEST,
    CHECKPOINT_EVERY,
    META,
    CheckpointWriter,
    full_disk_message,
    read_history,
    read_meta,
    read_state,
    recover_best,
    restore_checkpoint,
    save_keras_atomically,
    write_history,
    write_meta,
)

#: Checkpoints in a row that may fail because the model folder cannot be reached (a dropped
#: Drive mount) before training stops; until then it goes on in memory.
UNREACHABLE_TRIES = 3


def train(
    loops, model_dir, *, epochs=None, preset=None, recipe=None, precision=None, strategy=None, seed=0,
    checkpoint_every=CHECKPOINT_EVERY, max_minutes=None, progress=True, callbacks=(), verbose=True,
):
    """Train (or resume training) a VAE on ``loops``, keeping everything in ``model_dir``.

    Parameters
    ----------
    loops : LoopSet or str or os.PathLike
        The training set, or a folder to load it from.
    model_dir : str or os.PathLike
        Model folder (created if missing). If it already holds a training run, that
        run continues from its last checkpoint. If it holds a model and ``loops`` has
        loops that the model was not trained on, they are added instead, in a short run
        of its own (``newloops.add_loops``: ``max_minutes``, default one minute, from the
        model's best weights, a third of every batch new loops; the model before is kept in
        ``before-add-N/``).
    epochs : int > 0 or None
        Total epochs wanted, counting those already done; default the recipe's share of
        the preset's (500 for the tutorial preset and recipe). A finished run asked for
        more continues to that number (a one-cycle schedule is stretched to it). On the
        clock (``max_minutes``) the time decides; ``epochs``, if given, only caps them.
    preset : str or Preset or None
        ``"tutorial"``, ``"studio"``, ``"fast"``, ``"tiny"``; default the folder's own,
        else ``"fast"`` when ``MORPHLIB_FAST`` is set, else ``"tutorial"``.
    recipe : str or Recipe or None
        How to train (``morphlib.model.recipes``): ``"onecycle"`` (the default for a new
        folder: the tutorial code's quality in about an eighth of its time, and better
        at the end) or ``"tutorial"`` (Adam 1e-3 constant, batch 16, float32, all 500
        epochs, the exact reproduction). Default the folder's own.
    precision : str or None
        Overrides the recipe's arithmetic: ``"float32"``, ``"mixed_bfloat16"``,
        ``"mixed_float16"`` or ``"auto"``.
    strategy : str or None
        Devices (``morphlib.model.devices``): ``"auto"`` (default: a Colab TPU, several GPUs
        mirrored, else one device), ``"default"``, ``"mirrored"``, ``"tpu"`` or
        ``"multiworker"`` (reads ``TF_CONFIG``; worker 0 writes the model folder). The
        batch is global: the recipe's batch is split across the replicas, so that the
        same recipe trains the same way on any number of devices.
    seed : int >= 0
        Seeds weight initialisation, shuffling and the posterior samples.
    checkpoint_every : float > 0
        Seconds between checkpoints (weights, Adam's state, history and best model written
        into ``model_dir``); also written after the first epoch and at every stop. A kill
        or a lost runtime costs at most this much training (plus the epoch running).
        Default 120: the tutorial preset's 500 epochs write about half a gigabyte, where
        a checkpoint per epoch would write 36 GB (ruinous on Google Drive).
    max_minutes : float > 0 or None
        A time budget (``morphlib.training.budget``): a new run lays the recipe's schedule over
        this much training time and ends, at the learning rate's floor with the best
        model written, when the time is up. It is the total wanted, like ``epochs``: a
        run cut short resumes on the same clock, the same budget again is done, a larger
        one trains the difference as a warm restart. A folder trained by epochs keeps its
        schedule, and this then stops the run after the epoch in progress once this many
        minutes have passed.
    progress : bool
        Show a progress bar over epochs, with when the last checkpoint was saved.
    callbacks : sequence of keras.callbacks.Callback
        Extra callbacks. Those derived from :class:`TrainingListener` (such as the
        notebooks' ``LiveLossPlot``) also see the history so far and the checkpoints.
    verbose : bool
        Print where the run starts and ends.

    Returns
    -------
    model : MorphModel
        The best model so far (lowest training loss), with ``history``, ``interrupted``
        (True when stopped by Ctrl-C / a kernel interrupt), ``timed_out`` (True when
        ``max_minutes`` stopped a folder trained by epochs), ``clock`` (on the clock: the
        budget and the time used, seconds) and ``bytes_written`` (into ``model_dir``).
    """
    from ..model.backend import keras_tf_tfp
    from ..data.dataset import LoopSet, load_folder
    from ..model.vae import build_vae

    keras, _, _ = keras_tf_tfp()
    checkpoint_every = check_positive("checkpoint_every", checkpoint_every, unit="seconds")
    if max_minutes is not None:
        max_minutes = check_positive("max_minutes", max_minutes, unit="minutes")
    if not isinstance(loops, LoopSet):
        loops = load_folder(loops, progress=progress)
    model_dir = os.fspath(model_dir)
    seed = check_int("seed", seed, low=0)
    say = print if verbose else (lambda *a, **k: None)

    meta = _existing_meta(model_dir)
    if meta is not None:
        from ..model.folder import check_settings

        check_settings(loops.settings, meta["settings"], where=model_dir)
        if preset is not None and not get_preset(preset).same_model(meta["preset"]):
            raise ParameterError(_other_preset_message(model_dir, meta["preset"], get_preset(preset)))
        # by name: a folder keeps the fields its recipe had when it began, defaults may change since
        if recipe is not None and get_recipe(recipe).name != meta["recipe"].name:
            raise ParameterError(
                f"{model_dir} is being trained with recipe {meta['recipe'].name!r}; resume it without "
                f"--recipe (or with that one), or train recipe {get_recipe(recipe).name!r} into another folder"
            )
        preset, recipe = meta["preset"], meta["recipe"]
        new = new_loop_names(loops, model_dir)
        if new and os.path.exists(os.path.join(model_dir, BEST)):
            say(f"{len(new)} of the {len(loops)} loops are new to the model in {model_dir}: adding them in a short run of its "
                f"own from its model, rather than resuming its schedule" + (" (epochs is not used for that)" if epochs else ""))
            return add_loops(loops, model_dir, seconds=60 * max_minutes if max_minutes else ADD_SECONDS, seed=seed,
                             progress=progress, verbose=verbose)
    else:
        preset = get_preset(preset) if preset is not None else default_preset()
        recipe = get_recipe(DEFAULT_RECIPE if recipe is None else recipe)
    epochs_given = epochs is not None
    epochs = check_int("epochs", recipe.epochs_for(preset) if epochs is None else epochs, low=1, high=1_000_000)
    batch_size = recipe.batch_size_for(preset)
    precision = pick_precision(recipe.precision if precision is None else precision)

    strategy = get_strategy("auto" if strategy is None else strategy)
    chief = is_chief(strategy)
    if max_minutes is not None and in_multi_worker_mode(strategy):
        raise ParameterError("max_minutes cannot stop several workers at the same epoch; use it with one machine")
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        vae = build_vae(loops.settings, preset, seed=seed, precision=precision, init=preset.init_for(recipe))
        vae.compile(optimizer=make_optimizer(preset, precision))
    with strategy.scope():  # the optimizer's variables are made here on resume
        history, start, state = _restore(model_dir, vae, say)
    clock, done = plan_clock(max_minutes, (state or {}).get("clock"), epochs_done=start)
    if clock is not None:
        if not epochs_given:
            epochs = 1_000_000  # the time decides
        epoch_s = _epoch_estimate(vae, loops, batch_size, steps_per_epoch(len(loops), batch_size))
        clock.prior_epoch_s = epoch_s  # until an epoch after the first (which also builds the graph) is timed
        if clock.used_s and clock.left() < epoch_s:  # a cycle cut short with less than an epoch left
            done = f"done: its budget leaves {format_duration(clock.left())}, less than an epoch; give a larger max_minutes to train more"
        else:
            check_fits(clock, epoch_s)  # a new budget too short: refused before anything is written
    # the folder is held while this run writes it: a second run stops, naming this one
    lease = FolderLease(model_dir, stale_after=2 * checkpoint_every, say=say) if chief else contextlib.nullcontext()
    with lease:
        os.makedirs(model_dir, exist_ok=True)
        written = 0
        if meta is None and chief:
            write_meta(model_dir, settings=loops.settings, preset=preset, recipe=recipe, model_config=vae.get_config(), data_names=loops.names)
            written += os.path.getsize(os.path.join(model_dir, META))
        if done or start >= epochs:
            say(f"{model_dir} is " + (done or f"already trained for {start} epochs (asked for {epochs}); pass a larger epochs to train more"))
            return _best_model(model_dir, vae, loops, preset, history, interrupted=False)
        if start:
            keras.utils.set_random_seed(seed + start)  # fresh shuffles for the resumed part
        span = f"epochs {start + 1} to {epochs}" if clock is None else f"from epoch {start + 1}" + (f" to at most {epochs}" if epochs_given else "")
        say(
            f"training {vae.n_params:,} parameters on {len(loops)} loops, {span} "
            f"(preset {preset.name!r}, recipe {recipe.name!r}: {describe_schedule(recipe, preset, epochs, clock)}, global batch {batch_size}, "
            f"{precision}, {describe_devices(strategy)}) into {model_dir}, checkpoint every {format_duration(checkpoint_every)}"
            + (f", for at most {format_duration(max_minutes * 60)} of this run (a folder trained by epochs keeps its schedule)"
               if max_minutes and clock is None else "")
        )
        # Other workers than the first keep their (identical) checkpoints out of the shared folder.
        write_dir = model_dir if chief else tempfile.mkdtemp(prefix="morphlib-worker-")
        keeper = FolderKeeper(write_dir, history, checkpoint_every=checkpoint_every, max_minutes=max_minutes if clock is None else None,
                              newest=state if chief else None, say=say, clock=clock)
        keeper.bytes_written += written
        schedule = LearningRateSchedule(recipe, preset, epochs, clock=clock)
        cbs = [schedule, keeper, *([EpochProgress(epochs, start, keeper, clock=clock)] if progress else []), *callbacks]
        for cb in callbacks:
            if isinstance(cb, TrainingListener):
                cb.keeper = keeper
        interrupted = False
        try:
            data = training_dataset(loops.S, batch_size=batch_size, seed=seed + start, full_batches=recipe.full_batches,
                                    augment=Augmentation.of(preset))
            steps = steps_per_epoch(len(loops), batch_size) if recipe.full_batches else None
            with _ctrl_c_stops(vae) as asked:
                vae.fit(data, epochs=epochs, initial_epoch=start, steps_per_epoch=steps, shuffle=False, verbose=0, callbacks=cbs)
            interrupted = bool(asked)
        except KeyboardInterrupt:
            interrupted = True
        except ModelFolderError:
            keeper.close(save=False)  # the folder takes no more (full?): its last good checkpoint stays
            raise
        finally:
            keeper.close()
        if keeper.stopped_unreachable:
            return _stop_unreachable(keeper, vae, loops, preset, say)
        if interrupted:
            say(f"interrupted after epoch {keeper.last_epoch} (saved); run the same call again to resume from there")
        elif keeper.diverged:
            say(f"stopped at epoch {keeper.last_epoch}: the loss became NaN or infinite; the best model is kept (try a lower learning rate)")
        elif keeper.cycle_ended:
            say(f"trained on the clock: the cycle ended at epoch {keeper.last_epoch} after {format_duration(clock.budget_s)} in all, "
                f"best loss {keeper.best_loss:.5g} at epoch {keeper.best_epoch}; a larger max_minutes trains more (a warm restart)")
        elif keeper.timed_out:
            say(f"stopped after {format_duration(max_minutes * 60)} (max_minutes) at epoch {keeper.last_epoch} (saved); run the same call again to go on")
        else:
            say(f"done: {keeper.last_epoch} epochs, best loss {keeper.best_loss:.5g} at epoch {keeper.best_epoch}")
        if not chief:
            import shutil

            from ..model.morphmodel import MorphModel

            shutil.rmtree(write_dir, ignore_errors=True)  # its copies of worker 0's checkpoints
            return MorphModel(vae, loops.settings, preset=preset, model_dir=model_dir, history=keeper.history)
        model = _best_model(model_dir, vae, loops, preset, keeper.history, interrupted=interrupted)
        model.timed_out = keeper.timed_out
        model.clock = None if clock is None else clock.to_dict()
        model.bytes_written = keeper.bytes_written + getattr(model, "bytes_written", 0)
        say(f"wrote {model.bytes_written / 1e6:.1f} MB into {model_dir} ({keeper.n_checkpoints} checkpoints)")
        return model


@contextlib.contextmanager
def _ctrl_c_stops(model):
    """While ``fit`` runs, Ctrl-C (SIGINT) asks it to stop after the step it is in, rather
    than raising KeyboardInterrupt wherever the main thread happens to be: raised inside
    TensorFlow's or Keras' own code it could be swallowed there, and training went on.
    Yields a list that holds True once asked. A second Ctrl-C raises at once. Outside the
    main thread, or where another handler is installed, it changes nothing."""
    import signal
    import threading

    asked = []
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield asked
        return

    def stop(signum, frame):
        asked.append(True)
        model.stop_training = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, stop)
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _epoch_estimate(vae, loops, batch_size, steps):
    """Seconds an epoch takes here, roughly: a forward pass of one batch, three times (the
    backward pass costs about twice the forward), for every step."""
    x = np.asarray(loops.S[: min(batch_size, len(loops))], np.float32)
    vae(x, training=False)  # builds the layers
    started = time.perf_counter()
    vae(x, training=False)
    return 3 * (time.perf_counter() - started) * steps


def _stop_unreachable(keeper, vae, loops, preset, say):
    """The folder stayed unreachable: say how to go on, and hand back the model from memory."""
    from ..model.folder import remount_message
    from ..model.morphmodel import MorphModel

    last = keeper.checkpoints.last
    kept = (f"Its last good checkpoint (epoch {last['epoch']}) is kept; the epochs after it are trained again."
            if last else "No checkpoint reached it; the run starts again.")
    say(f"stopped at epoch {keeper.last_epoch}: " + remount_message(keeper.model_dir, keeper.unreachable, kept=kept)
        + " Until then the model of this run is in memory (the returned model).")
    if keeper.best_weights() is not None:
        vae.set_weights(keeper.best_weights())
    model = MorphModel(vae, loops.settings, preset=preset, model_dir=keeper.model_dir, history=keeper.history)
    model.interrupted, model.timed_out, model.unreachable = False, False, True
    model.bytes_written = keeper.bytes_written
    return model


def _existing_meta(model_dir):
    if not os.path.exists(os.path.join(model_dir, META)):
        stray = sorted(set(os.listdir(model_dir)) - {LEASE}) if os.path.isdir(model_dir) else []  # a new folder another run holds
        if stray:
            raise ModelFolderError(
                f"{model_dir} is not empty ({', '.join(stray[:3])}...) but is not a morphlib model folder; "
                "choose an empty or new folder so that nothing in it is overwritten"
            )
        return None
    return read_meta(model_dir)


def _restore(model_dir, vae, say):
    """Load the last checkpoint (or the best model) into ``vae``; return (history, epochs done,
    the checkpoint's state or None)."""
    recover_best(model_dir, drop_stale=True)
    state = read_state(model_dir)
    if state is not None:
        restore_checkpoint(vae, state["weights_path"], state.get("layout", {}))
        start = state["epoch"]
        if "history" in state:  # rows up to the checkpoint: later rows are trained again
            history = [dict(r) for r in state["history"]]
        else:  # a morphlib 0.1 checkpoint: the history file, cut at the checkpoint
            history = [r for r in read_history(model_dir) if r["epoch"] <= start]
            if len(history) != start:  # an old or hand-edited history: renumber rather than leave gaps
                history = [{**r, "epoch": k + 1} for k, r in enumerate(history[-start:])] if history else []
        saved = state.get("saved_at")
        when = f", saved {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(saved))}" if saved else ""
        say(f"resuming {model_dir} after epoch {start} (its last checkpoint{when})")
        return history, start, state
    best = os.path.join(model_dir, BEST)
    history = read_history(model_dir)
    if os.path.exists(best):  # no checkpoint (deleted by hand): start from the best weights
        from ..model.morphmodel import load_model

        vae.set_weights(load_model(model_dir).vae.get_weights())
        say(f"no checkpoint in {model_dir}: continuing from its best model, epoch {len(history) + 1}")
        return history, len(history), None
    return [], 0, None


def _other_preset_message(model_dir, held, asked):
    if held.name == asked.name:  # a folder from a version whose preset of that name was defined otherwise
        fields = [f for f in held.__dataclass_fields__ if getattr(held, f) != getattr(asked, f)]
        return (f"{model_dir} holds a model of an earlier version's preset {held.name!r}, which differs from this "
                f"version's in {', '.join(fields)}; resume it without --preset to finish it as it was, or train "
                f"preset {asked.name!r} into another folder")
    return (f"{model_dir} holds a model trained with preset {held.name!r}; resume it without "
            f"--preset (or with that one), or train preset {asked.name!r} into another folder")


def _best_model(model_dir, vae, loops, preset, history, *, interrupted):
    from ..model.folder import write_latents
    from ..model.morphmodel import MorphModel, load_model

    if os.path.exists(os.path.join(model_dir, BEST)):
        model = load_model(model_dir)
        model.history = list(history)
        model.bytes_written = write_latents(model_dir, loops.names, model.encode(loops.S))
    else:  # stopped before the first epoch finished
        model = MorphModel(vae, loops.settings, preset=preset, model_dir=model_dir, history=history)
    model.interrupted = interrupted
    return model


Callback = keras_callback_base()


class FolderKeeper(Callback):
    """Keeps the model folder: history, checkpoints and the best model, written by time.

    After each epoch the history row is kept in memory (and the best weights, when the loss
    improved). A checkpoint — weights and Adam's state (in the background), the history and
    the best model, if it changed — goes into the folder after the first epoch of a run,
    then whenever ``checkpoint_every`` seconds have passed since the last one, and at
    every stop. So the bytes written grow with training time, not with epochs.

    A folder that cannot be reached (Colab's Drive mount dropped: ``ENOTCONN``, ``EIO``)
    does not stop training: it goes on in memory, the checkpoint is tried again at the next
    interval (in the slot that failed, so the last good one stays whole), and after
    ``UNREACHABLE_TRIES`` failures in a row training stops cleanly, saying how to remount.

    Parameters
    ----------
    model_dir : str
    history : list of dict
        Rows already done.
    checkpoint_every : float > 0
        Seconds.
    max_minutes : float > 0 or None
    newest : dict or None
        The folder's newest checkpoint state, as ``_restore`` read it.
    say : callable
        Where to report a checkpoint that could not be written (``print``).
    clock : morphlib.training.budget.Clock or None
        A time budget: training stops when the next epoch would not fit in it, and each
        checkpoint keeps the time used.

    Attributes
    ----------
    unreachable : OSError or None
        Why the folder could not be reached, while it cannot.
    stopped_unreachable : bool
        Training stopped because the folder stayed unreachable.
    """

    def __init__(self, model_dir, history, *, checkpoint_every=CHECKPOINT_EVERY, max_minutes=None, newest=None, say=print,
                 clock=None):
        super().__init__()
        self.model_dir = model_dir
        self.clock = clock
        self._save_s = 0.0
        self.history = list(history)
        self.checkpoint_every = checkpoint_every
        self.max_minutes = max_minutes
        self.say = say
        # after new loops were added (newloops), the loss of the smaller set is no longer the one to beat
        since = (newest or {}).get("best_from", 0)
        finite = [r["loss"] for r in self.history if r["epoch"] >= since and math.isfinite(r.get("loss", math.nan))]
        self.best_loss = min(finite) if finite else math.inf
        self.best_epoch = next((r["epoch"] for r in self.history if r["epoch"] >= since and r.get("loss") == self.best_loss), 0)
        self.best_from = since
        self._best_weights = None
        self.last_epoch = self.history[-1]["epoch"] if self.history else 0
        self.saved_epoch = self.last_epoch
        self.diverged = self.timed_out = self.cycle_ended = self.stopped_unreachable = False
        self.unreachable, self.failures, self._landed = None, 0, 0
        self.n_checkpoints = 0
        self.bytes_written = 0
        self.checkpoints = CheckpointWriter(model_dir, newest)
        self._started = self._saved_at = self._tried_at = time.monotonic()
        self._tried = False
        self._closed = False

    def on_train_begin(self, logs=None):
        self._started = self._saved_at = self._tried_at = self._epoch_end = time.monotonic()
        if self.clock is not None:
            self.clock.start()

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {"epoch": epoch + 1, **{k: float(logs[k]) for k in ("loss", "mse", "kl") if k in logs}}
        row["lr"] = float(np.asarray(self.model.optimizer.learning_rate))
        row["seconds"] = round(time.perf_counter() - self._t0, 4)
        loss = row.get("loss", math.nan)
        if not math.isfinite(loss):
            self.diverged = True
            self.model.stop_training = True
            return  # keep the last good checkpoint; an epoch with NaN weights is not saved
        self.history.append(row)
        self.last_epoch = epoch + 1
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, epoch + 1
            self._best_weights = self.model.get_weights()
        if self.checkpoints.done():
            self._settle()  # a background write that failed since the last epoch counts now
        now = time.monotonic()
        if self.clock is not None:
            self.clock.note_epoch(now - self._epoch_end)  # the epoch and what came after the last one
            self._epoch_end = now
            if not self.clock.next_epoch_fits(reserve=self._save_s):
                self.clock.finish()  # the cycle ends here, and the same budget is done
                self.cycle_ended = True
                self.model.stop_training = True
                self.save()
                return
        if not self._tried or now - self._tried_at >= self.checkpoint_every:
            self.save()
        if self.max_minutes is not None and now - self._started >= 60 * self.max_minutes:
            self.timed_out = True
            self.model.stop_training = True
        if self.stopped_unreachable:
            self.model.stop_training = True

    def save(self):
        """Checkpoint now: history file, weights and optimizer (background), best model.

        Returns False when the folder could not be reached (counted; see the class)."""
        self._tried, self._tried_at = True, time.monotonic()
        self._settle()
        state = {"epoch": self.last_epoch, "loss": self.history[-1].get("loss")}
        if self.best_from:
            state["best_from"] = self.best_from
        if self.clock is not None:
            state["clock"] = self.clock.to_dict()
        try:
            with self._full_disk_is_an_error():
                self.bytes_written += write_history(self.model_dir, self.history)
                self.checkpoints.write(self.model, state, self.history)
                self.flush_best()
        except OSError as exc:
            if not is_unreachable(exc, self.model_dir):
                raise
            self._failed(exc)
            return False
        self.saved_epoch, self._saved_at = self.last_epoch, time.monotonic()
        self._save_s = self._saved_at - self._tried_at  # what the last epoch of a budget must leave room for
        self.n_checkpoints += 1
        return True

    def _settle(self):
        """Wait for the write in flight; count its failure if the folder could not be reached."""
        try:
            self.checkpoints.wait()
        except FolderUnreachableError as exc:
            self._failed(exc.__cause__ or exc)
            return
        if self.checkpoints.completed > self._landed:  # a write landed: the folder is back
            self._landed, self.unreachable, self.failures = self.checkpoints.completed, None, 0

    def _failed(self, exc):
        self.unreachable, self.failures = exc, self.failures + 1
        if self.saved_epoch > (self.checkpoints.last or {}).get("epoch", 0):
            self.saved_epoch = (self.checkpoints.last or {}).get("epoch", 0)  # what a lost runtime now costs
        if self.failures >= UNREACHABLE_TRIES:
            self.stopped_unreachable = True
        else:
            self.say(f"could not write a checkpoint into {self.model_dir} ({exc}); training goes on in "
                     f"memory and tries again in {format_duration(self.checkpoint_every)}")

    @contextlib.contextmanager
    def _full_disk_is_an_error(self):
        try:
            yield
        except OSError as exc:
            if not is_full(exc):
                raise
            last = self.checkpoints.last
            kept = f"The last good checkpoint (epoch {last['epoch']}) is kept; training resumes from it." if last else ""
            raise ModelFolderError(full_disk_message(self.model_dir, exc, kept=kept)) from exc

    def at_risk(self):
        """``(epochs, seconds)`` of training that a lost runtime would cost now."""
        return self.last_epoch - self.saved_epoch, time.monotonic() - self._saved_at

    def status(self):
        """When the last checkpoint was saved and what a lost runtime would cost now, in words."""
        if self.saved_epoch == 0:
            return "no checkpoint yet"
        epochs, seconds = self.at_risk()
        risk = "nothing" if epochs == 0 else f"{epochs} epoch{'s' * (epochs != 1)}"
        return f"saved epoch {self.saved_epoch} {format_duration(seconds)} ago; a lost runtime now costs {risk}"

    def close(self, *, save=True):
        """At any stop: checkpoint what is not saved yet (unless ``save`` is False, when the
        folder failed), and wait for it to be on disk."""
        if self._closed:
            return
        self._closed = True
        try:
            self._settle()  # a failed write in flight is reported, not written over
            if save and self.model is not None and self.last_epoch > self.saved_epoch and not self.stopped_unreachable:
                self.save()
            self._settle()
            if self.unreachable is not None and not self.stopped_unreachable:
                self.stopped_unreachable = True  # the last checkpoint failed too: say so, do not end as done
        finally:
            self.bytes_written += self.checkpoints.bytes_written

    def flush_best(self):
        """Write the best weights held in memory to ``model.keras`` (no optimizer state)."""
        if self._best_weights is None:
            return
        from ..model.vae import VAE

        clean = VAE.from_config(self.model.get_config())
        clean.set_weights(self._best_weights)
        self.bytes_written += save_keras_atomically(clean, os.path.join(self.model_dir, BEST))
        self._best_weights = None

    def best_weights(self):
        """The best weights of this run, from memory (None when they are in ``model.keras``)."""
        return self._best_weights


class LearningRateSchedule(Callback):
    """Sets Adam's learning rate at the start of every epoch from the recipe: a function of
    the epoch (so that a resumed run continues on the same curve), or, on the clock, of the
    fraction of the budget used by the middle of the coming epoch."""

    def __init__(self, recipe, preset, epochs, *, clock=None):
        super().__init__()
        self.recipe, self.preset, self.epochs, self.clock = recipe, preset, epochs, clock

    def on_epoch_begin(self, epoch, logs=None):
        if self.clock is None:
            rate = self.recipe.learning_rate(self.preset, epoch, self.epochs)
        else:
            where = self.clock.fraction(ahead=self.clock.epoch_estimate() / 2)
            rate = self.recipe.learning_rate_at(self.preset, where, restart=self.clock.cycle > 1)
        self.model.optimizer.learning_rate.assign(rate)


def describe_schedule(recipe, preset, epochs, clock=None):
    """The learning rate in words, e.g. ``"Adam 0.001"`` or ``"Adam one-cycle 0.0003 → 0.003 → 3e-06"``,
    and, on the clock, what the budget means for it."""
    restart = clock is not None and clock.cycle > 1
    lr = lambda f: f"{recipe.learning_rate_at(preset, f, restart=restart):.2g}"  # noqa: E731
    if recipe.schedule == "constant":
        words = f"Adam {lr(0)}"
    else:
        words = f"Adam one-cycle {lr(0)} → {preset.learning_rate * (recipe.restart_peak if restart else recipe.peak):.2g} → {lr(1)}"
    return words if clock is None else f"{words}, {clock.describe()}"


class TrainingListener(Callback):
    """A callback that ``train`` hands its :class:`FolderKeeper` (as ``self.keeper``) before
    training: the history so far, the best loss, and when the last checkpoint was saved."""

    keeper = None


class EpochProgress(Callback):
    """A tqdm bar with the latest loss figures and the last checkpoint.

    By epochs, it counts epochs of the total. On the clock (``clock`` given), it counts
    seconds of training time used of the time given, with the epochs done and their rate
    beside it: an epoch total that the time will not reach is never shown.
    """

    def __init__(self, epochs, start, keeper=None, *, clock=None):
        super().__init__()
        self.epochs, self.start, self.keeper, self.clock = epochs, start, keeper, clock

    def on_train_begin(self, logs=None):
        import sys
        import time

        from tqdm.auto import tqdm

        self.began, self.done = time.monotonic(), 0
        if self.clock is None:
            self.bar = tqdm(total=self.epochs, initial=self.start, desc="training", unit="epoch", file=sys.stderr)
        else:
            self.bar = tqdm(total=round(self.clock.budget_s, 1), initial=round(self.clock.used_s, 1), desc="training on the clock",
                            unit="s", file=sys.stderr, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s{postfix}")

    def on_epoch_end(self, epoch, logs=None):
        import time

        logs = logs or {}
        self.done += 1
        figures = {}
        if self.clock is not None:
            figures["epoch"] = epoch + 1
            figures["rate"] = f"{self.done / max(time.monotonic() - self.began, 1e-9):.3g} epoch/s"
        figures.update({k: f"{float(v):.4g}" for k, v in logs.items() if k in ("loss", "mse", "kl")})
        if self.keeper is not None and self.keeper.saved_epoch:
            figures["saved"] = f"ep {self.keeper.saved_epoch}, {format_duration(self.keeper.at_risk()[1])} ago"
        self.bar.set_postfix(figures, refresh=False)
        if self.clock is None:
            self.bar.update(1)
        else:
            self.bar.update(min(self.clock.elapsed(), self.bar.total) - self.bar.n)

    def on_train_end(self, logs=None):
        self.bar.close()
