"""Training into a model folder that survives interruptions.

Run ``train`` again with the same folder and it continues from the last checkpoint
(weights and Adam's state). Checkpoints are written by time (every ``checkpoint_every``
seconds, after the first epoch and at every stop), so that a model folder on Google Drive
receives a bounded number of bytes; a killed process or a lost Colab runtime costs at most
the training since the last checkpoint.
"""

import contextlib
import dataclasses
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
    CheckpointWriter,
    META,
    ModelFolder,
    full_disk_message,
    read_history,
    read_state,
    recover_best,
    restore_checkpoint,
    save_keras_atomically,
    write_history,
)

#: Checkpoints in a row that may fail because the model folder cannot be reached (a dropped
#: Drive mount) before training stops; until then it goes on in memory.
UNREACHABLE_TRIES = 3


def train(
    loops, model_dir, *, epochs=None, preset=None, recipe=None, precision=None, strategy=None, seed=0,
    checkpoint_every=CHECKPOINT_EVERY, max_minutes=None, progress=True, callbacks=(), verbose=True,
):
    """Train (or resume training) a VAE on ``loops``, keeping everything in ``model_dir``.

    Plan, build, fit, report; the folder is held by a lease while this run writes it.

    Parameters
    ----------
    loops : LoopSet or str or os.PathLike
        The training set, or a folder to load it from.
    model_dir : str or os.PathLike
        Model folder (created if missing). A training run in it continues from its last
        checkpoint; loops its model has not heard are added instead, in a short run of their
        own (``newloops.add_loops``; the model before is kept in ``before-add-N/``).
    epochs : int > 0 or None
        Total epochs wanted, counting those done; default the recipe's (500 for the tutorial
        preset). On the clock the time decides, and ``epochs``, if given, caps it.
    preset : str or Preset or None
        ``"tutorial"``, ``"studio"``, ``"studio44"``, ``"fast"``, ``"tiny"``; default the
        folder's own, else ``"fast"`` when ``MORPHLIB_FAST`` is set, else ``"tutorial"``.
    recipe : str or Recipe or None
        ``"onecycle"`` (the default for a new folder) or ``"tutorial"`` (the exact
        reproduction; ``morphlib.model.recipes``). Default the folder's own.
    precision : {"float32", "mixed_bfloat16", "mixed_float16", "auto"} or None
        Overrides the recipe's arithmetic.
    strategy : str or None
        ``"auto"``, ``"default"``, ``"mirrored"``, ``"tpu"`` or ``"multiworker"``
        (``morphlib.model.devices``; worker 0 writes the folder; the batch is global).
    seed : int >= 0
        Seeds the first weights, the shuffles and the posterior samples.
    checkpoint_every : float > 0
        Seconds between checkpoints (also after the first epoch and at every stop): what a
        lost runtime costs at most. Default 120.
    max_minutes : float > 0 or None
        A time budget (``morphlib.training.budget``): the schedule is laid over this much
        training time, all runs of the folder; a larger one later trains the difference.
        A folder trained by epochs keeps its schedule and only stops after this long.
    progress, verbose : bool
        A progress bar (on the clock: time used of time given, epochs, rate); what it does, printed.
    callbacks : sequence of keras.callbacks.Callback
        Extra callbacks; a :class:`TrainingListener` also sees the history and checkpoints.

    Returns
    -------
    model : MorphModel
        The best model, with ``history``, ``interrupted``, ``timed_out``, ``clock`` and ``bytes_written``.
    """
    from ..data.dataset import LoopSet, load_folder

    checkpoint_every = check_positive("checkpoint_every", checkpoint_every, unit="seconds")
    if max_minutes is not None:
        max_minutes = check_positive("max_minutes", max_minutes, unit="minutes")
    if not isinstance(loops, LoopSet):
        loops = load_folder(loops, progress=progress)
    folder = ModelFolder.of(model_dir)  # its morphlib.json read once, and handed along
    model_dir = folder.path
    seed = check_int("seed", seed, low=0)
    say = print if verbose else (lambda *a, **k: None)
    meta = _existing_meta(folder)
    if meta is not None:
        _check_resumable(meta, loops, model_dir, preset=preset, recipe=recipe)
        new = new_loop_names(loops, folder)
        if new and os.path.exists(os.path.join(model_dir, BEST)):
            say(f"{len(new)} of the {len(loops)} loops are new to the model in {model_dir}: adding them in a short run of its "
                f"own from its model, rather than resuming its schedule" + (" (epochs is not used for that)" if epochs else ""))
            return add_loops(loops, folder, seconds=60 * max_minutes if max_minutes else ADD_SECONDS, seed=seed,
                             progress=progress, verbose=verbose)
    run = _plan(loops, folder, meta, epochs=epochs, preset=preset, recipe=recipe, precision=precision, strategy=strategy,
                seed=seed, checkpoint_every=checkpoint_every, max_minutes=max_minutes, say=say)
    _build(run)
    # the folder is held while this run writes it: a second run stops, naming this one
    with FolderLease(model_dir, stale_after=2 * checkpoint_every, say=say) if run.chief else contextlib.nullcontext():
        written = _open_folder(run)
        if run.done:
            say(f"{model_dir} is {run.done}")
            return _best_model(folder, run.vae, loops, run.preset, run.history, interrupted=False)
        keeper, interrupted = _fit(run, progress=progress, callbacks=callbacks, written=written)
        return _report(run, keeper, interrupted)


@dataclasses.dataclass
class _Run:
    """One ``train`` call: its plan (read once from the arguments and the model folder), and
    what building it made; each step of ``train`` takes it and hands it on."""

    loops: object
    folder: ModelFolder
    meta: dict
    preset: object
    recipe: object
    epochs: int
    epochs_given: bool
    batch_size: int
    precision: str
    strategy: object
    chief: bool
    seed: int
    checkpoint_every: float
    max_minutes: float
    say: object
    vae: object = None
    history: list = None
    start: int = 0
    state: dict = None
    clock: object = None
    done: str = None
    write_dir: str = None

    @property
    def model_dir(self):
        return self.folder.path


def _check_resumable(meta, loops, model_dir, *, preset, recipe):
    """Refuse to resume a folder with other analysis settings, another model or another recipe."""
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


def _plan(loops, folder, meta, *, epochs, preset, recipe, precision, strategy, seed, checkpoint_every, max_minutes, say):
    """What this run trains, how, on which devices: the folder's own preset and recipe when it has a model."""
    if meta is not None:
        preset, recipe = meta["preset"], meta["recipe"]
    else:
        preset = get_preset(preset) if preset is not None else default_preset()
        recipe = get_recipe(DEFAULT_RECIPE if recipe is None else recipe)
    strategy = get_strategy("auto" if strategy is None else strategy)
    if max_minutes is not None and in_multi_worker_mode(strategy):
        raise ParameterError("max_minutes cannot stop several workers at the same epoch; use it with one machine")
    return _Run(
        loops=loops, folder=folder, meta=meta, preset=preset, recipe=recipe,
        epochs=check_int("epochs", recipe.epochs_for(preset) if epochs is None else epochs, low=1, high=1_000_000),
        epochs_given=epochs is not None, batch_size=recipe.batch_size_for(preset),
        precision=pick_precision(recipe.precision if precision is None else precision), strategy=strategy,
        chief=is_chief(strategy), seed=seed, checkpoint_every=checkpoint_every, max_minutes=max_minutes, say=say,
    )


def _build(run):
    """The model, restored from the folder's last checkpoint, and the clock; ``run.done`` says
    why there is nothing to train (a finished run, a spent budget). Writes nothing."""
    from ..model.backend import keras_tf_tfp
    from ..model.vae import build_vae

    keras, _, _ = keras_tf_tfp()
    keras.utils.set_random_seed(run.seed)
    with run.strategy.scope():
        run.vae = build_vae(run.loops.settings, run.preset, seed=run.seed, precision=run.precision, init=run.preset.init_for(run.recipe))
        run.vae.compile(optimizer=make_optimizer(run.preset, run.precision))
    with run.strategy.scope():  # the optimizer's variables are made here on resume
        run.history, run.start, run.state = _restore(run.model_dir, run.vae, run.say)
    run.clock, run.done = plan_clock(run.max_minutes, (run.state or {}).get("clock"), epochs_done=run.start)
    if run.clock is not None:
        if not run.epochs_given:
            run.epochs = 1_000_000  # the time decides
        epoch_s = _epoch_estimate(run.vae, run.loops, run.batch_size, steps_per_epoch(len(run.loops), run.batch_size))
        run.clock.prior_epoch_s = epoch_s  # until an epoch after the first (which also builds the graph) is timed
        if run.clock.used_s and run.clock.left() < epoch_s:  # a cycle cut short with less than an epoch left
            run.done = f"done: its budget leaves {format_duration(run.clock.left())}, less than an epoch; give a larger max_minutes to train more"
        else:
            check_fits(run.clock, epoch_s)  # a new budget too short: refused before anything is written
    if not run.done and run.start >= run.epochs:
        run.done = f"already trained for {run.start} epochs (asked for {run.epochs}); pass a larger epochs to train more"


def _open_folder(run):
    """Make the model folder and, for a new model, its ``morphlib.json``; the bytes written."""
    os.makedirs(run.model_dir, exist_ok=True)
    if run.meta is not None or not run.chief:
        return 0
    run.folder.write_meta(settings=run.loops.settings, preset=run.preset, recipe=run.recipe,
                          model_config=run.vae.get_config(), data_names=run.loops.names)
    return os.path.getsize(os.path.join(run.model_dir, META))


def _fit(run, *, progress, callbacks, written):
    """Train from ``run.start``, checkpointing into the folder; ``(keeper, interrupted)``."""
    from ..model.backend import keras_tf_tfp

    keras, _, _ = keras_tf_tfp()
    if run.start:
        keras.utils.set_random_seed(run.seed + run.start)  # fresh shuffles for the resumed part
    clock, epochs = run.clock, run.epochs
    span = f"epochs {run.start + 1} to {epochs}" if clock is None else f"from epoch {run.start + 1}" + (f" to at most {epochs}" if run.epochs_given else "")
    run.say(
        f"training {run.vae.n_params:,} parameters on {len(run.loops)} loops, {span} "
        f"(preset {run.preset.name!r}, recipe {run.recipe.name!r}: {describe_schedule(run.recipe, run.preset, epochs, clock)}, "
        f"global batch {run.batch_size}, {run.precision}, {describe_devices(run.strategy)}) into {run.model_dir}, "
        f"checkpoint every {format_duration(run.checkpoint_every)}"
        + (f", for at most {format_duration(run.max_minutes * 60)} of this run (a folder trained by epochs keeps its schedule)"
           if run.max_minutes and clock is None else "")
    )
    # Other workers than the first keep their (identical) checkpoints out of the shared folder.
    run.write_dir = run.model_dir if run.chief else tempfile.mkdtemp(prefix="morphlib-worker-")
    keeper = FolderKeeper(run.write_dir, run.history, checkpoint_every=run.checkpoint_every,
                          max_minutes=run.max_minutes if clock is None else None, newest=run.state if run.chief else None,
                          say=run.say, clock=clock)
    keeper.bytes_written += written
    cbs = [LearningRateSchedule(run.recipe, run.preset, epochs, clock=clock), keeper,
           *([EpochProgress(epochs, run.start, keeper, clock=clock)] if progress else []), *callbacks]
    for cb in callbacks:
        if isinstance(cb, TrainingListener):
            cb.keeper = keeper
    interrupted = False
    try:
        data = training_dataset(run.loops.S, batch_size=run.batch_size, seed=run.seed + run.start,
                                full_batches=run.recipe.full_batches, augment=Augmentation.of(run.preset))
        steps = steps_per_epoch(len(run.loops), run.batch_size) if run.recipe.full_batches else None
        with _ctrl_c_stops(run.vae) as asked:
            run.vae.fit(data, epochs=epochs, initial_epoch=run.start, steps_per_epoch=steps, shuffle=False, verbose=0, callbacks=cbs)
        interrupted = bool(asked)
    except KeyboardInterrupt:
        interrupted = True
    except ModelFolderError:
        keeper.close(save=False)  # the folder takes no more (full?): its last good checkpoint stays
        raise
    finally:
        keeper.close()
    return keeper, interrupted


def _report(run, keeper, interrupted):
    """Say how the run ended and return the best model (worker 0's, or this worker's own)."""
    say, clock = run.say, run.clock
    if keeper.stopped_unreachable:
        return _stop_unreachable(keeper, run.vae, run.loops, run.preset, say)
    if interrupted:
        say(f"interrupted after epoch {keeper.last_epoch} (saved); run the same call again to resume from there")
    elif keeper.diverged:
        say(f"stopped at epoch {keeper.last_epoch}: the loss became NaN or infinite; the best model is kept (try a lower learning rate)")
    elif keeper.cycle_ended:
        say(f"trained on the clock: the cycle ended at epoch {keeper.last_epoch} after {format_duration(clock.budget_s)} in all, "
            f"best loss {keeper.best_loss:.5g} at epoch {keeper.best_epoch}; a larger max_minutes trains more (a warm restart)")
    elif keeper.timed_out:
        say(f"stopped after {format_duration(run.max_minutes * 60)} (max_minutes) at epoch {keeper.last_epoch} (saved); run the same call again to go on")
    else:
        say(f"done: {keeper.last_epoch} epochs, best loss {keeper.best_loss:.5g} at epoch {keeper.best_epoch}")
    if not run.chief:
        import shutil

        from ..model.morphmodel import MorphModel

        shutil.rmtree(run.write_dir, ignore_errors=True)  # its copies of worker 0's checkpoints
        return MorphModel(run.vae, run.loops.settings, preset=run.preset, model_dir=run.model_dir, history=keeper.history)
    model = _best_model(run.folder, run.vae, run.loops, run.preset, keeper.history, interrupted=interrupted)
    model.timed_out = keeper.timed_out
    model.clock = None if clock is None else clock.to_dict()
    model.bytes_written = keeper.bytes_written + getattr(model, "bytes_written", 0)
    say(f"wrote {model.bytes_written / 1e6:.1f} MB into {run.model_dir} ({keeper.n_checkpoints} checkpoints)")
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


def _existing_meta(folder):
    model_dir = folder.path
    if not folder.has_model:
        stray = sorted(set(os.listdir(model_dir)) - {LEASE}) if os.path.isdir(model_dir) else []  # a new folder another run holds
        if stray:
            raise ModelFolderError(
                f"{model_dir} is not empty ({', '.join(stray[:3])}...) but is not a morphlib model folder; "
                "choose an empty or new folder so that nothing in it is overwritten"
            )
        return None
    return folder.meta


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
