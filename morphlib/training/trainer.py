"""Training into a model folder that survives interruptions.

Run ``train`` again with the same folder and it continues from the last checkpoint
(weights and Adam's state). Checkpoints are written by time (every ``checkpoint_every``
seconds, after the first epoch and at every stop), so that a model folder on Google Drive
receives a bounded number of bytes; a killed process or a lost Colab runtime costs at most
the training since the last checkpoint.
"""

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time

from ..config import check_int, check_positive, default_preset, get_preset
from ..data.dataset import LoopSet, load_folder
from ..errors import ModelFolderError, ParameterError
from ..model.backend import keras_tf_tfp
from ..model.devices import describe as describe_devices
from ..model.devices import get_strategy, in_multi_worker_mode, is_chief
from ..model.morphmodel import MorphModel, load_model
from ..model.recipes import DEFAULT_RECIPE, get_recipe, pick_precision
from ..model.vae import build_vae
from ..progress import format_duration
from .budget import check_fits
from .budget import plan as plan_clock
from .lease import LEASE, FolderLease
from .newloops import DEFAULT_SECONDS as ADD_SECONDS
from .newloops import add_loops, new_loop_names
from .engine import (
    UNREACHABLE_TRIES,  # noqa: F401 (a setting of the loop, read here by tests and callers)
    EpochProgress,
    FolderKeeper,
    LearningRateSchedule,
    TrainingListener,
    describe_schedule,
    epoch_estimate,
    fit_loop,
)
from .optimizer import make_optimizer
from .pipeline import Augmentation, steps_per_epoch, training_dataset
from ..model.folder import (
    BEST,
    CHECKPOINT_EVERY,
    META,
    ModelFolder,
    check_settings,
    read_history,
    read_state,
    recover_best,
    remount_message,
    restore_checkpoint,
    write_latents,
)


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
        epoch_s = epoch_estimate(run.vae, run.loops, run.batch_size, steps_per_epoch(len(run.loops), run.batch_size))
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
    try:
        data = training_dataset(run.loops.S, batch_size=run.batch_size, seed=run.seed + run.start,
                                full_batches=run.recipe.full_batches, augment=Augmentation.of(run.preset))
    except BaseException:
        keeper.close()
        raise
    steps = steps_per_epoch(len(run.loops), run.batch_size) if run.recipe.full_batches else None
    interrupted = fit_loop(run.vae, data, epochs=epochs, start=run.start, steps=steps, keeper=keeper, callbacks=cbs)
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
        shutil.rmtree(run.write_dir, ignore_errors=True)  # its copies of worker 0's checkpoints
        return MorphModel(run.vae, run.loops.settings, preset=run.preset, model_dir=run.model_dir, history=keeper.history)
    model = _best_model(run.folder, run.vae, run.loops, run.preset, keeper.history, interrupted=interrupted)
    model.timed_out = keeper.timed_out
    model.clock = None if clock is None else clock.to_dict()
    model.bytes_written = keeper.bytes_written + getattr(model, "bytes_written", 0)
    say(f"wrote {model.bytes_written / 1e6:.1f} MB into {run.model_dir} ({keeper.n_checkpoints} checkpoints)")
    return model

def _stop_unreachable(keeper, vae, loops, preset, say):
    """The folder stayed unreachable: say how to go on, and hand back the model from memory."""
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
    if os.path.exists(os.path.join(model_dir, BEST)):
        model = load_model(model_dir)
        model.history = list(history)
        model.bytes_written = write_latents(model_dir, loops.names, model.encode(loops.S), images=loops.stereo_images(), settings=loops.settings)
    else:  # stopped before the first epoch finished
        model = MorphModel(vae, loops.settings, preset=preset, model_dir=model_dir, history=history)
    model.interrupted = interrupted
    return model


