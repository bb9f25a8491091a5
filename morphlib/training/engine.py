"""The one training loop, and what runs on it: the model folder's keeper, the schedule, the bar.

``train`` (a model's schedule, by epochs or on the clock) and ``add_loops`` (new loops in a
short run of its own) both train through :func:`fit_loop`: Keras' ``fit`` with a
:class:`FolderKeeper` that writes the folder by time (or, for an addition, only at its end:
:class:`AddKeeper` in ``newloops``), the :class:`LearningRateSchedule` of the recipe, by
epoch or on a :class:`~morphlib.training.budget.Clock`, and the :class:`EpochProgress` bar.
Ctrl-C stops it after the step in progress.
"""

import contextlib
import math
import os
import signal
import sys
import threading
import time

import numpy as np
from tqdm.auto import tqdm

from ..errors import FolderUnreachableError, ModelFolderError
from ..files import is_full, is_unreachable
from ..model.backend import keras_callback_base
from ..model.folder import (
    BEST,
    CHECKPOINT_EVERY,
    CheckpointWriter,
    full_disk_message,
    save_keras_atomically,
    write_history,
)
from ..model.vae import VAE
from ..progress import format_duration


#: Checkpoints in a row that may fail because the model folder cannot be reached (a dropped
#: Drive mount) before training stops; until then it goes on in memory.
UNREACHABLE_TRIES = 3


def fit_loop(vae, data, *, epochs, start, steps, keeper, callbacks):
    """Train ``vae`` on ``data`` from epoch ``start`` with ``keeper`` among ``callbacks``;
    whether it was interrupted (Ctrl-C). The keeper is closed at any stop: it saves what is
    not saved yet, except where the folder failed (a full disk: its last good checkpoint
    stays), and, where its ``saves_at_any_stop`` is False, unless the run ended as planned."""
    interrupted = ended = False
    try:
        with _ctrl_c_stops(vae) as asked:
            vae.fit(data, epochs=epochs, initial_epoch=start, steps_per_epoch=steps, shuffle=False, verbose=0,
                    callbacks=callbacks)
        interrupted, ended = bool(asked), not asked
    except KeyboardInterrupt:
        interrupted = True
    except ModelFolderError:
        keeper.close(save=False)
        raise
    finally:
        keeper.close(save=keeper.saves_at_any_stop or ended)
    return interrupted

@contextlib.contextmanager
def _ctrl_c_stops(model):
    """While ``fit`` runs, Ctrl-C (SIGINT) asks it to stop after the step it is in, rather
    than raising KeyboardInterrupt wherever the main thread happens to be: raised inside
    TensorFlow's or Keras' own code it could be swallowed there, and training went on.
    Yields a list that holds True once asked. A second Ctrl-C raises at once. Outside the
    main thread, or where another handler is installed, it changes nothing."""
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


#: Forward passes timed for ``epoch_estimate``; the fastest counts.
ESTIMATE_TRIES = 3


def epoch_estimate(vae, loops, batch_size, steps):
    """Seconds an epoch takes here, roughly: a forward pass of one batch, three times (the
    backward pass costs about twice the forward), for every step.

    The fastest of ``ESTIMATE_TRIES`` passes counts: one pass stalled by a busy machine made
    a 3 s budget's first epoch look 4 s long, and its learning rate started past the peak.
    """
    x = np.asarray(loops.S[: min(batch_size, len(loops))], np.float32)
    vae(x, training=False)  # builds the layers
    return 3 * min(_timed(vae, x) for _ in range(ESTIMATE_TRIES)) * steps


def _timed(vae, x):
    started = time.perf_counter()
    vae(x, training=False)
    return time.perf_counter() - started



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
    saves_at_any_stop : bool
        Ctrl-C or an error saves what is not saved yet (``fit_loop``); an addition's keeper
        writes only when its run ended as planned.
    unreachable : OSError or None
        Why the folder could not be reached, while it cannot.
    stopped_unreachable : bool
        Training stopped because the folder stayed unreachable.
    """

    saves_at_any_stop = True

    def __init__(self, model_dir, history, *, checkpoint_every=CHECKPOINT_EVERY, max_minutes=None, newest=None, say=print,
                 clock=None):
        super().__init__()
        self.model_dir = model_dir
        self.clock = clock
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
            if not self.clock.next_epoch_fits():
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
        state = self._checkpoint_state()
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
        if self.clock is not None:  # what the last epoch of a budget must leave room for
            self.clock.reserve_s = self._saved_at - self._tried_at
        self.n_checkpoints += 1
        return True

    def _checkpoint_state(self):
        """What the checkpoint says of the run: its epoch, loss, where its best begins, its clock."""
        state = {"epoch": self.last_epoch, "loss": self.history[-1].get("loss")}
        if self.best_from:
            state["best_from"] = self.best_from
        if self.clock is not None:
            state["clock"] = self.clock.to_dict()
        return state

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
    fraction of the budget used by the middle of the coming epoch (the floor for the last
    epoch that fits)."""

    def __init__(self, recipe, preset, epochs, *, clock=None):
        super().__init__()
        self.recipe, self.preset, self.epochs, self.clock = recipe, preset, epochs, clock

    def on_epoch_begin(self, epoch, logs=None):
        if self.clock is None:
            rate = self.recipe.learning_rate(self.preset, epoch, self.epochs)
        else:
            last = self.clock.coming_epoch_is_last()
            where = 1.0 if last else self.clock.fraction(ahead=self.clock.epoch_estimate() / 2)
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

    def __init__(self, epochs, start, keeper=None, *, clock=None, desc=None):
        super().__init__()
        self.epochs, self.start, self.keeper, self.clock = epochs, start, keeper, clock
        self.desc = desc or ("training" if clock is None else "training on the clock")

    def on_train_begin(self, logs=None):
        self.began, self.done = time.monotonic(), 0
        if self.clock is None:
            self.bar = tqdm(total=self.epochs, initial=self.start, desc=self.desc, unit="epoch", file=sys.stderr)
        else:
            self.bar = tqdm(total=round(self.clock.budget_s, 1), initial=round(self.clock.used_s, 1), desc=self.desc,
                            unit="s", file=sys.stderr, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s{postfix}")

    def on_epoch_end(self, epoch, logs=None):
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
