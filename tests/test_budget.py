"""Training on the clock (morphlib.training.budget): the schedule runs over the time, ends at its floor
when the time is up, resumes on the same clock, and a larger budget is a warm restart."""

import json
import os
import time

import keras
import pytest

from morphlib.training.budget import Clock, plan
from morphlib.training.engine import LearningRateSchedule, epoch_estimate
from morphlib.config import get_preset
from morphlib.errors import ParameterError
from morphlib.model.folder import read_state
from morphlib.model.recipes import RECIPES
from morphlib.training.trainer import train
from tests.test_recipes import StopAfter

ONECYCLE, TINY_PRESET = RECIPES["onecycle"], get_preset("tiny")


def _saved(budget, used, cycle=1, start=0.0):
    return {"budget_s": budget, "used_s": used, "cycle": cycle, "cycle_start_s": start}


@pytest.mark.parametrize(
    "max_minutes, saved, epochs_done, clock, done",
    [
        (None, None, 0, None, None),                                   # epochs, as ever
        (4, None, 0, Clock(240.0), None),                              # a new run on the clock
        (4, None, 12, None, None),                                     # a folder trained by epochs keeps its schedule
        (None, _saved(240, 100), 30, Clock(240.0, 100.0), None),       # cut short: the same clock
        (4, _saved(240, 100), 30, Clock(240.0, 100.0), None),
        (6, _saved(240, 100), 30, Clock(360.0, 100.0), None),          # cut short, given more: the same cycle, longer
        (4, _saved(240, 240), 90, None, "already trained for 4 min"),  # the same budget again: done
        (None, _saved(240, 240), 90, None, "already trained for 4 min"),
        (3, _saved(240, 240), 90, None, "give max_minutes above 4.00"),
        (6, _saved(240, 240), 90, Clock(360.0, 240.0, 2, 240.0), None),  # more: a warm restart over the difference
    ],
)
def test_plan(max_minutes, saved, epochs_done, clock, done):
    got, why = plan(max_minutes, saved, epochs_done=epochs_done)
    assert got == clock
    assert (why is None) == (done is None) and (done is None or done in why)


def test_the_schedule_over_a_cycle():
    peak = TINY_PRESET.learning_rate * ONECYCLE.peak
    at = lambda f, **kw: ONECYCLE.learning_rate_at(TINY_PRESET, f, **kw)  # noqa: E731
    assert at(0) == pytest.approx(peak / 10) and at(ONECYCLE.warmup) == pytest.approx(peak)
    assert at(1) == pytest.approx(peak / 1000) and at(2) == at(1)
    assert at(ONECYCLE.restart_warmup, restart=True) == pytest.approx(TINY_PRESET.learning_rate * ONECYCLE.restart_peak)
    # the epoch schedule is the same curve, read at epoch / epochs
    assert [ONECYCLE.learning_rate(TINY_PRESET, e, 50) for e in (0, 20, 50)] == pytest.approx([at(0), at(0.4), at(1)])


def test_a_budget_ends_the_cycle_at_its_floor_when_the_time_is_up(tiny_loops, tmp_path, capsys):
    model_dir = str(tmp_path / "m")
    started = time.monotonic()
    # 6 s, not less: on a busy machine (CI's two workers beside a pip install) an epoch has
    # stalled for over 2 s, which left a 3 s budget two epochs, still rising (CI, twice).
    model = train(tiny_loops, model_dir, preset="tiny", max_minutes=0.1, progress=False)
    took = time.monotonic() - started
    out = capsys.readouterr().out
    assert "on the clock: 6 s; the schedule runs over the time" in out and "the cycle ended at epoch" in out
    assert 5.5 < took < 6 + 10  # the budget, plus building the model and the last write
    lrs = [r["lr"] for r in model.history]
    peak = TINY_PRESET.learning_rate * ONECYCLE.peak
    # It rose towards its peak, then ended near its floor. An epoch's rate is the one at its
    # start, and a slow first epoch (it builds the graph) can step past the peak itself.
    assert lrs[0] < 0.5 * max(lrs) and max(lrs) > 0.5 * peak and lrs[-1] < 0.02 * peak
    assert not model.timed_out and model.clock["used_s"] == read_state(model_dir)["clock"]["used_s"] == 6.0
    # The same budget again: done, nothing trained.
    again = train(tiny_loops, model_dir, max_minutes=0.1, progress=False)
    assert len(again.history) == len(model.history) and "already trained for 6 s on the clock" in capsys.readouterr().out
    # A larger one: a warm restart over the difference, rising from low again and ending at its floor.
    more = train(tiny_loops, model_dir, max_minutes=0.15, progress=False)
    restart = [r["lr"] for r in more.history[len(model.history):]]
    assert "warm restart 1, a new cycle over the 3 s" in capsys.readouterr().out
    assert restart and restart[0] < 0.5 * max(restart) and restart[-1] < 0.05 * max(restart)
    assert read_state(model_dir)["clock"] == {"budget_s": 9.0, "used_s": 9.0, "cycle": 2, "cycle_start_s": 6.0}


class _StallsOnce:
    """A model whose second call (the first timed one) stalls, as on a busy machine."""

    def __init__(self, stall_s):
        self.calls, self.stall_s = 0, stall_s

    def __call__(self, x, training=False):
        self.calls += 1
        if self.calls == 2:
            time.sleep(self.stall_s)
        return x


def test_one_stalled_pass_does_not_make_the_epoch_estimate_long(tiny_loops):
    # CI saw a 3 s budget's first epoch estimated at seconds: its learning rate began past the peak.
    stalled = _StallsOnce(0.3)
    assert epoch_estimate(stalled, tiny_loops, 4, steps=2) < 0.1
    assert stalled.calls > 2


def test_a_run_cut_short_resumes_on_the_same_clock(tiny_loops, tmp_path):
    model_dir = str(tmp_path / "m")
    cut = train(tiny_loops, model_dir, preset="tiny", max_minutes=0.1, callbacks=[StopAfter(40)], progress=False, verbose=False)
    assert len(cut.history) == 40 and cut.clock["used_s"] < 6
    used = read_state(model_dir)["clock"]["used_s"]
    assert 0 < used < 6
    model = train(tiny_loops, model_dir, max_minutes=0.1, progress=False, verbose=False)
    resumed = model.history[40]
    # where the curve stood when it was cut (not its start again): the rate at that fraction of the time
    expected = ONECYCLE.learning_rate_at(TINY_PRESET, used / 6)
    assert resumed["lr"] == pytest.approx(expected, rel=0.25)
    assert model.clock["used_s"] == read_state(model_dir)["clock"]["used_s"] == 6.0  # the cycle ran to its end


def test_a_folder_trained_by_epochs_keeps_its_schedule_and_max_minutes_only_stops(tiny_loops, tmp_path, capsys):
    model_dir = str(tmp_path / "m")
    train(tiny_loops, model_dir, epochs=3, preset="tiny", progress=False, verbose=False)
    model = train(tiny_loops, model_dir, epochs=100_000, max_minutes=0.03, progress=False)
    out = capsys.readouterr().out
    assert "a folder trained by epochs keeps its schedule" in out and "stopped after 1.8 s (max_minutes)" in out
    assert model.timed_out and "clock" not in read_state(model_dir)


def test_a_budget_too_short_for_one_epoch_is_refused_before_anything_is_written(tiny_loops, tmp_path):
    model_dir = tmp_path / "m"
    with pytest.raises(ParameterError, match=r"max_minutes leaves .* too short for one epoch .*give at least"):
        train(tiny_loops, model_dir, preset="tiny", max_minutes=1e-7, progress=False, verbose=False)
    assert not model_dir.exists()


def test_the_clock_is_in_the_checkpoint(tiny_loops, tmp_path):
    model_dir = str(tmp_path / "m")
    train(tiny_loops, model_dir, preset="tiny", max_minutes=0.02, progress=False, verbose=False)
    with open(os.path.join(model_dir, "checkpoint", "slot-0.json" if read_state(model_dir)["seq"] % 2 == 0 else "slot-1.json")) as f:
        assert json.load(f)["clock"]["budget_s"] == pytest.approx(1.2)


@pytest.mark.parametrize("prior, epochs, expected", [
    (None, [1.5], 1.5),             # no prior: the first epoch is all there is
    (0.02, [1.5], 0.02),            # the first epoch of a run builds the graph: left out
    (0.02, [1.5, 0.05], 0.05),      # then the epochs timed after it
    (0.02, [1.5, 0.05, 0.07, 0.06], 0.06),
    (None, [], 0.0),
])
def test_the_first_epoch_of_a_run_does_not_set_the_estimate(prior, epochs, expected):
    clock = Clock(60.0)
    clock.prior_epoch_s = prior
    for s in epochs:
        clock.note_epoch(s)
    assert clock.epoch_estimate() == pytest.approx(expected)


class _Optimizer:
    def __init__(self):
        self.learning_rate = keras.Variable(0.0)


class _Model:
    def __init__(self):
        self.optimizer = _Optimizer()


@pytest.mark.parametrize("used_s, last", [(4.6, True), (2.0, False), (0.0, False)])
def test_the_last_epoch_that_fits_runs_at_the_floor_however_long_an_epoch_is(used_s, last):
    # Epochs of 1 s against a 6 s budget (a slow machine): the one that ends the cycle runs at
    # the floor, not at the rate of its middle (8 % of the peak in CI).
    clock = Clock(6.0, used_s)
    clock.reserve_s = 0.3
    clock.start()
    for s in (1.0, 1.0):
        clock.note_epoch(s)
    assert clock.coming_epoch_is_last() is last
    schedule = LearningRateSchedule(ONECYCLE, TINY_PRESET, 1, clock=clock)
    schedule.set_model(_Model())
    schedule.on_epoch_begin(0)
    rate = float(schedule.model.optimizer.learning_rate.numpy())
    expected = ONECYCLE.learning_rate_at(TINY_PRESET, 1.0 if last else (used_s + 0.5) / 6)
    assert rate == pytest.approx(expected, rel=0.01)
    assert last or rate > 10 * ONECYCLE.learning_rate_at(TINY_PRESET, 1.0)


def test_progress_on_the_clock_shows_time_of_time_given_epochs_and_rate_never_an_epoch_total(tiny_loops, tmp_path, capsys):
    import re

    train(tiny_loops, str(tmp_path / "m"), preset="tiny", max_minutes=0.05, progress=True, verbose=False)
    bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert re.search(r"training on the clock: +\d+%\|.*\| \d+/3 s, epoch=", bar), bar
    epoch = int(re.search(r"epoch=(\d+)", bar).group(1))
    assert epoch > 1 and re.search(r"rate=[\d.]+ epoch/s", bar), bar
    assert "1000000" not in bar
