"""Training on the clock: a time budget that shapes the learning-rate schedule.

Given ``max_minutes``, a new run lays its recipe's schedule over the *time*, not over a
number of epochs: the schedule's position is the elapsed fraction of the budget, measured
as the run goes, and the run ends when the next epoch would not fit — so that the cycle
ends, at the learning rate's floor with the best model written, when the time is up.
Stopping a one-cycle schedule laid out over 500 epochs when the minutes run out would stop
it in its middle, at a high rate: the worst moment.

The budget is the total wanted, like ``epochs``, and it is kept in the model folder with
the time used (in each checkpoint): a run cut short resumes on the same clock; a run asked
again for the minutes it has had is done; a larger budget trains the difference as a new,
shorter cycle from the weights it has (a warm restart, at the recipe's ``restart_peak``).
A folder trained by epochs keeps its epoch schedule, and ``max_minutes`` then only stops
it after that many minutes of this run.
"""

import dataclasses
import statistics
import time

from ..errors import ParameterError
from ..progress import format_duration

#: Epoch times that the estimate of the next epoch's is taken from (their median).
RECENT_EPOCHS = 5


@dataclasses.dataclass
class Clock:
    """A time budget in seconds, across runs and cycles.

    Parameters
    ----------
    budget_s : float > 0
        Total training time wanted, all cycles.
    used_s : float >= 0
        Training time used so far (at the checkpoint this run starts from).
    cycle : int >= 1
        1 for the first cycle, 2, 3, ... for warm restarts.
    cycle_start_s : float >= 0
        ``used_s`` when this cycle began.
    """

    budget_s: float
    used_s: float = 0.0
    cycle: int = 1
    cycle_start_s: float = 0.0

    def __post_init__(self):
        self._started = None
        self._epochs = []
        self._first_of_run = True
        #: Seconds an epoch is expected to take before one has been timed (see ``note_epoch``).
        self.prior_epoch_s = None
        #: Seconds the run needs after its last epoch (its final checkpoint), set by whoever writes it.
        self.reserve_s = 0.0

    # --- where the run stands ----------------------------------------------------------

    def start(self):
        """Start counting this run's time (at the first epoch)."""
        self._started = time.monotonic()

    def elapsed(self):
        """Training time used, all runs of this folder, seconds."""
        return self.used_s + (time.monotonic() - self._started if self._started is not None else 0.0)

    @property
    def cycle_budget_s(self):
        return self.budget_s - self.cycle_start_s

    def fraction(self, ahead=0.0):
        """How far this cycle is, in [0, 1]: its time used (``ahead`` seconds on) over its budget."""
        return min(1.0, max(0.0, (self.elapsed() + ahead - self.cycle_start_s) / self.cycle_budget_s))

    def left(self):
        return self.budget_s - self.elapsed()

    def ended(self):
        return self.used_s >= self.budget_s

    def finish(self):
        """End the cycle now: its budget counts as used, so that the same budget is done."""
        self.used_s, self._started = self.budget_s, None

    # --- epochs ------------------------------------------------------------------------

    def note_epoch(self, seconds):
        """Record an epoch's wall time (with what the run did after it).

        A run's first epoch also builds and compiles the training step, often taking
        several times a later one's; with ``prior_epoch_s`` set it is left out, so that a
        short budget is not ended after one epoch for fear of another as slow.
        """
        first, self._first_of_run = self._first_of_run, False
        if first and self.prior_epoch_s is not None:
            return
        self._epochs = (self._epochs + [float(seconds)])[-RECENT_EPOCHS:]

    def epoch_estimate(self):
        """The next epoch's expected seconds: the median of the last few timed, else
        ``prior_epoch_s``, else 0."""
        if self._epochs:
            return statistics.median(self._epochs)
        return self.prior_epoch_s or 0.0

    def next_epoch_fits(self):
        """Whether another epoch (and ``reserve_s`` after it) ends within the budget."""
        return self.left() >= self.epoch_estimate() + self.reserve_s

    def coming_epoch_is_last(self):
        """Whether the epoch about to start is the last that fits: after it, by the estimate,
        another would not. It runs at the schedule's floor, so that the cycle ends there
        however long an epoch is against the budget (a slow machine's epochs of a second
        left the last one of a 6 s budget at 8 % of the peak, its middle 0.7 s from the end)."""
        estimate = self.epoch_estimate()
        return estimate > 0 and self.left() - estimate < estimate + self.reserve_s

    # --- the model folder --------------------------------------------------------------

    def to_dict(self):
        """What a checkpoint keeps: the budget and the time used at that moment."""
        return {"budget_s": self.budget_s, "used_s": round(self.elapsed(), 3), "cycle": self.cycle,
                "cycle_start_s": self.cycle_start_s}

    @classmethod
    def from_dict(cls, d):
        return cls(float(d["budget_s"]), float(d["used_s"]), int(d.get("cycle", 1)), float(d.get("cycle_start_s", 0.0)))

    def describe(self):
        """The budget and what it means for the schedule, in words (the start line's)."""
        total = format_duration(self.budget_s)
        if self.cycle > 1:
            return (f"on the clock: warm restart {self.cycle - 1}, a new cycle over the {format_duration(self.cycle_budget_s)} "
                    f"that raise the budget to {total}, from the weights it has")
        if self.used_s > 0:
            return (f"on the clock: {total} in all, {format_duration(self.used_s)} used; the schedule goes on over the time "
                    f"left and ends at its floor when it is up")
        return f"on the clock: {total}; the schedule runs over the time and ends at its floor when it is up"


def plan(max_minutes, saved, *, epochs_done):
    """The clock a run trains on, or None (epochs, as without a budget).

    Parameters
    ----------
    max_minutes : float > 0 or None
    saved : dict or None
        The clock in the checkpoint the run resumes from.
    epochs_done : int >= 0
        Epochs the folder has (a folder trained by epochs has some and no clock).

    Returns
    -------
    clock : Clock or None
        None: the schedule follows the epochs (and ``max_minutes``, if given, only stops).
    done : str or None
        Why nothing is left to train (the clock's budget is spent), in words.
    """
    budget = None if max_minutes is None else 60.0 * max_minutes
    if saved is None:
        if budget is None or epochs_done:
            return None, None
        return Clock(budget), None
    clock = Clock.from_dict(saved)
    if budget is None:
        budget = clock.budget_s
    if budget <= clock.used_s:
        return None, (f"already trained for {format_duration(clock.used_s)} on the clock (asked for {format_duration(budget)}); "
                      f"give max_minutes above {clock.used_s / 60:.2f} to train more (a warm restart)")
    if clock.ended():  # a finished cycle asked for more time: a new cycle over the difference
        return Clock(budget, clock.used_s, clock.cycle + 1, clock.used_s), None
    return Clock(budget, clock.used_s, clock.cycle, clock.cycle_start_s), None


def check_fits(clock, epoch_s):
    """ParameterError before training when the time left cannot hold one epoch of ``epoch_s``."""
    if clock is not None and clock.left() < epoch_s:
        raise ParameterError(
            f"max_minutes leaves {format_duration(clock.left())} to train, too short for one epoch "
            f"(about {format_duration(epoch_s)} here); give at least {max(epoch_s * 3, 1) / 60 + clock.used_s / 60:.2f} minutes"
        )
