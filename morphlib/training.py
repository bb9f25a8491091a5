"""Training into a model folder that survives interruptions.

Run ``train`` again with the same folder and it continues from the last finished epoch
(weights and Adam's state), so a killed process, a closed notebook or a lost Colab
runtime costs at most the epoch that was running.
"""

import math
import os
import time


from .config import check_int, default_preset, get_preset
from .errors import ModelFolderError, ParameterError
from .modelfolder import (
    BEST,
    CheckpointWriter,
    read_history,
    read_meta,
    read_state,
    restore_checkpoint,
    save_keras_atomically,
    write_history,
    write_meta,
)

#: Seconds between saves of an improved best model (it is always saved at the end).
BEST_SAVE_INTERVAL = 20.0


def train(loops, model_dir, *, epochs=None, preset=None, seed=0, progress=True, live_plot=False, callbacks=(), verbose=True):
    """Train (or resume training) a VAE on ``loops``, keeping everything in ``model_dir``.

    Parameters
    ----------
    loops : LoopSet or str or os.PathLike
        The training set, or a folder to load it from.
    model_dir : str or os.PathLike
        Model folder (created if missing). If it already holds a training run, that
        run continues from its last finished epoch.
    epochs : int > 0 or None
        Total epochs wanted, counting those already done; default the preset's (500
        for the tutorial). A finished run asked for more continues to that number.
    preset : str or Preset or None
        ``"tutorial"``, ``"fast"``, ``"tiny"``; default the folder's own, else
        ``"fast"`` when ``MORPHLIB_FAST`` is set, else ``"tutorial"``.
    seed : int >= 0
        Seeds weight initialisation, shuffling and the posterior samples.
    progress : bool
        Show a progress bar over epochs.
    live_plot : bool
        In a notebook: a loss curve (with the epochs already done) redrawn while training.
    callbacks : sequence of keras.callbacks.Callback
        Extra callbacks.
    verbose : bool
        Print where the run starts and ends.

    Returns
    -------
    model : MorphModel
        The best model so far (lowest training loss), with ``history`` and
        ``interrupted`` (True when stopped by Ctrl-C / a kernel interrupt).
    """
    from .backend import keras_tf_tfp
    from .dataset import LoopSet, load_folder
    from .model import build_vae

    keras, _, _ = keras_tf_tfp()
    if not isinstance(loops, LoopSet):
        loops = load_folder(loops, progress=progress)
    model_dir = os.fspath(model_dir)
    seed = check_int("seed", seed, low=0)
    say = print if verbose else (lambda *a, **k: None)

    meta = _existing_meta(model_dir)
    if meta is not None:
        from .modelfolder import check_settings

        check_settings(loops.settings, meta["settings"], where=model_dir)
        if preset is not None and get_preset(preset) != meta["preset"]:
            raise ParameterError(
                f"{model_dir} holds a model trained with preset {meta['preset'].name!r}; resume it without "
                f"--preset (or with that one), or train preset {get_preset(preset).name!r} into another folder"
            )
        preset = meta["preset"]
    else:
        preset = get_preset(preset) if preset is not None else default_preset()
    epochs = check_int("epochs", preset.epochs if epochs is None else epochs, low=1, high=1_000_000)

    os.makedirs(model_dir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    vae = build_vae(loops.settings, preset, seed=seed)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=preset.learning_rate))
    if meta is None:
        write_meta(model_dir, settings=loops.settings, preset=preset, model_config=vae.get_config(), data_names=loops.names)
    history, start = _restore(model_dir, vae, say)
    if start >= epochs:
        say(f"{model_dir} is already trained for {start} epochs (asked for {epochs}); pass a larger epochs to train more")
        return _best_model(model_dir, vae, loops, preset, history, interrupted=False)
    if start:
        keras.utils.set_random_seed(seed + start)  # fresh shuffles for the resumed part
    say(
        f"training {vae.n_params:,} parameters on {len(loops)} loops, epochs {start + 1} to {epochs} "
        f"(preset {preset.name!r}, batch {preset.batch_size}) into {model_dir}"
    )
    keeper = FolderKeeper(model_dir, history)
    cbs = [keeper, *([EpochProgress(epochs, start)] if progress else []), *callbacks]
    if live_plot:
        from .notebook import LiveLossPlot

        cbs.append(LiveLossPlot(history))
    interrupted = False
    try:
        vae.fit(loops.S, epochs=epochs, initial_epoch=start, batch_size=preset.batch_size, shuffle=True, verbose=0, callbacks=cbs)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        keeper.close()
    if interrupted:
        say(f"interrupted after epoch {keeper.last_epoch}; run the same call again to resume from there")
    elif keeper.diverged:
        say(f"stopped at epoch {keeper.last_epoch}: the loss became NaN or infinite; the best model is kept (try a lower learning rate)")
    else:
        say(f"done: {keeper.last_epoch} epochs, best loss {keeper.best_loss:.5g} at epoch {keeper.best_epoch}")
    return _best_model(model_dir, vae, loops, preset, keeper.history, interrupted=interrupted)


def _existing_meta(model_dir):
    if not os.path.exists(os.path.join(model_dir, "morphlib.json")):
        if os.path.isdir(model_dir) and os.listdir(model_dir):
            stray = sorted(os.listdir(model_dir))[:3]
            raise ModelFolderError(
                f"{model_dir} is not empty ({', '.join(stray)}...) but is not a morphlib model folder; "
                "choose an empty or new folder so that nothing in it is overwritten"
            )
        return None
    return read_meta(model_dir)


def _restore(model_dir, vae, say):
    """Load the last checkpoint (or the best model) into ``vae``; return (history, epochs done)."""
    history = read_history(model_dir)
    state = read_state(model_dir)
    if state is not None:
        restore_checkpoint(vae, state["weights_path"], state.get("layout", {}))
        start = state["epoch"]
        history = [r for r in history if r["epoch"] <= start]
        if len(history) != start:  # an old or hand-edited history: renumber rather than leave gaps
            history = [{**r, "epoch": k + 1} for k, r in enumerate(history[-start:])] if history else []
        say(f"resuming {model_dir} after epoch {start}")
        return history, start
    best = os.path.join(model_dir, BEST)
    if os.path.exists(best):  # no checkpoint (deleted, or an interrupted first epoch): start from the best weights
        from .morphing import load_model

        vae.set_weights(load_model(model_dir).vae.get_weights())
        say(f"no checkpoint in {model_dir}: continuing from its best model, epoch {len(history) + 1}")
        return history, len(history)
    return [], 0


def _best_model(model_dir, vae, loops, preset, history, *, interrupted):
    from .modelfolder import write_latents
    from .morphing import MorphModel, load_model

    if os.path.exists(os.path.join(model_dir, BEST)):
        model = load_model(model_dir)
        model.history = list(history)
        write_latents(model_dir, loops.names, model.encode(loops.S))
    else:  # stopped before the first epoch finished
        model = MorphModel(vae, loops.settings, preset=preset, model_dir=model_dir, history=history)
    model.interrupted = interrupted
    return model


def _keras_callback():
    from .backend import keras_tf_tfp

    return keras_tf_tfp()[0].callbacks.Callback


class FolderKeeper(_keras_callback()):
    """After each epoch: history row, checkpoint (weights + optimizer, written in the
    background), best model.

    The best model (lowest loss) is written at its first improvement, then at most every
    ``BEST_SAVE_INTERVAL`` seconds and at the end, so that saving does not dominate short
    epochs (a kill loses at most that much of the best model's progress); the checkpoint,
    which resuming needs, is written every epoch.
    """

    def __init__(self, model_dir, history):
        super().__init__()
        self.model_dir = model_dir
        self.history = list(history)
        finite = [r["loss"] for r in self.history if math.isfinite(r.get("loss", math.nan))]
        self.best_loss = min(finite) if finite else math.inf
        self.best_epoch = next((r["epoch"] for r in self.history if r.get("loss") == self.best_loss), 0)
        self._best_weights = None
        self._last_best_save = -math.inf  # the first improvement is written at once
        self.last_epoch = self.history[-1]["epoch"] if self.history else 0
        self.diverged = False
        self.checkpoints = CheckpointWriter(model_dir)

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {"epoch": epoch + 1, **{k: float(logs[k]) for k in ("loss", "mse", "kl") if k in logs}}
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
        write_history(self.model_dir, self.history)
        self.checkpoints.write(self.model, {"epoch": epoch + 1, "loss": loss})
        if self._best_weights is not None and time.monotonic() - self._last_best_save >= BEST_SAVE_INTERVAL:
            self.flush_best()

    def close(self):
        """Finish the checkpoint in flight and write the best model held in memory."""
        try:
            self.checkpoints.close()
        finally:
            self.flush_best()

    def flush_best(self):
        """Write the best weights held in memory to ``model.keras`` (no optimizer state)."""
        if self._best_weights is None:
            return
        from .model import VAE

        clean = VAE.from_config(self.model.get_config())
        clean.set_weights(self._best_weights)
        save_keras_atomically(clean, os.path.join(self.model_dir, BEST))
        self._best_weights = None
        self._last_best_save = -math.inf  # the first improvement is written at once


class EpochProgress(_keras_callback()):
    """A tqdm bar over epochs, with the latest loss figures."""

    def __init__(self, epochs, start):
        super().__init__()
        self.epochs, self.start = epochs, start

    def on_train_begin(self, logs=None):
        import sys

        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.epochs, initial=self.start, desc="training", unit="epoch", file=sys.stderr)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix({k: f"{float(v):.4g}" for k, v in logs.items() if k in ("loss", "mse", "kl")}, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()
