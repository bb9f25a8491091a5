import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from morphlib.config import AnalysisSettings, get_preset
from morphlib.data.dataset import load_folder
from morphlib.errors import ModelFolderError, ParameterError, SettingsMismatchError
from morphlib.model.folder import checkpoint_epoch
from morphlib.model.morphmodel import load_model
from morphlib.training.trainer import train

from .conftest import TINY


def _history_epochs(model_dir):
    with open(os.path.join(model_dir, "history.csv")) as f:
        return [int(r["epoch"]) for r in csv.DictReader(f)]


def test_model_folder_is_complete(tiny_model_dir):
    names = set(os.listdir(tiny_model_dir))
    assert {"morphlib.json", "model.keras", "history.csv", "checkpoint", "latents.json"} <= names
    assert _history_epochs(tiny_model_dir) == [1, 2, 3]
    with open(os.path.join(tiny_model_dir, "history.csv")) as f:
        assert csv.DictReader(f).fieldnames[:4] == ["epoch", "loss", "mse", "kl"]
    meta = json.load(open(os.path.join(tiny_model_dir, "morphlib.json")))
    assert meta["settings"] == TINY.to_dict() and meta["preset"]["name"] == "tiny"


def test_training_continues_and_extends(tiny_loops, tmp_path, capsys):
    model_dir = tmp_path / "m"
    first = train(tiny_loops, model_dir, epochs=2, preset="tiny", progress=False)
    assert len(first.history) == 2
    again = train(tiny_loops, model_dir, epochs=2, progress=False)
    assert "already trained for 2 epochs" in capsys.readouterr().out
    assert len(again.history) == 2
    more = train(tiny_loops, model_dir, epochs=4, progress=False)
    assert "resuming" in capsys.readouterr().out
    assert [r["epoch"] for r in more.history] == [1, 2, 3, 4] == _history_epochs(model_dir)


def test_loss_goes_down(tiny_loops, tmp_path):
    model = train(tiny_loops, tmp_path / "m", epochs=40, preset="tiny", progress=False, verbose=False)
    losses = [r["loss"] for r in model.history]
    assert np.mean(losses[-5:]) < 0.85 * np.mean(losses[:3])


def test_refuses_other_settings_and_other_presets(tiny_loops, tiny_folder, tiny_model_dir, tmp_path):
    other = load_folder(tiny_folder, AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=20), progress=False)
    with pytest.raises(SettingsMismatchError, match="n_frames: 20 in the data, 16 in the model"):
        train(other, tiny_model_dir, epochs=5, progress=False)
    with pytest.raises(SettingsMismatchError, match="n_frames"):
        load_model(tiny_model_dir).check(other)
    with pytest.raises(ParameterError, match="preset 'tiny'"):
        train(tiny_loops, tiny_model_dir, epochs=5, preset="fast", progress=False)
    redefined = dataclasses.replace(get_preset("tiny"), detail_slots=3)  # as if a later version changed "tiny"
    with pytest.raises(ParameterError, match="earlier version's preset 'tiny'.*in detail_slots"):
        train(tiny_loops, tiny_model_dir, epochs=5, preset=redefined, progress=False)


def test_refuses_a_foreign_folder_and_damaged_files(tiny_loops, tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(ModelFolderError, match="not a morphlib model folder"):
        train(tiny_loops, foreign, epochs=1, progress=False)
    assert (foreign / "holiday.jpg").read_bytes() == b"x"
    with pytest.raises(ModelFolderError, match="does not exist"):
        load_model(tmp_path / "nothing")
    with pytest.raises(ModelFolderError, match="morphlib.json is missing"):
        load_model(foreign)
    model_dir = tmp_path / "m"
    train(tiny_loops, model_dir, epochs=1, preset="tiny", progress=False, verbose=False)
    (model_dir / "model.keras").write_bytes(b"garbage")
    with pytest.raises(ModelFolderError, match="model.keras is damaged"):
        load_model(model_dir)
    (model_dir / "morphlib.json").write_text("{")
    with pytest.raises(ModelFolderError, match="morphlib.json is damaged"):
        load_model(model_dir)


def _cli(*args, **kwargs):
    env = {**os.environ, "MORPHLIB_FAST": "1", "PYTHONPATH": os.getcwd()}
    # Ctrl-C as a terminal delivers it: a child inherits an ignored SIGINT (if anything in this
    # test process set one), and Python then never raises KeyboardInterrupt
    default_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    return subprocess.Popen([sys.executable, "-m", "morphlib", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint, **kwargs)


TINY_ARGS = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-frames", "16", "--fit", "crop"]  # as tiny_loops


def _epochs_done(model_dir):
    return checkpoint_epoch(model_dir)


@pytest.mark.slow
@pytest.mark.parametrize("kills", [3])
def test_killed_training_resumes_without_gaps(tiny_folder, tiny_loops, tmp_path, kills):
    """SIGKILL at random points (epochs here are mostly checkpoint writes), then resume."""
    import random

    model_dir = str(tmp_path / "killed")
    rng = random.Random()
    for k in range(kills):
        proc = _cli("train", tiny_folder, "--model", model_dir, "--preset", "tiny", "--epochs", "100000", "--checkpoint-every", "0.001", *TINY_ARGS)
        start = _epochs_done(model_dir)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and _epochs_done(model_dir) < start + 3:
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = _epochs_done(model_dir)
        assert done >= start + 3
        load_model(model_dir)  # the best model is a complete file after every kill
    model = train(tiny_loops, model_dir, epochs=done + 2, progress=False, verbose=False)
    assert [r["epoch"] for r in model.history] == list(range(1, done + 3)) == _history_epochs(model_dir)
    assert not [n for n in os.listdir(model_dir) if ".part" in n]
    assert sorted(os.listdir(os.path.join(model_dir, "checkpoint"))) == ["slot-0.bin", "slot-0.json", "slot-1.bin", "slot-1.json"]


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_resumes(tiny_folder, tmp_path):
    model_dir = str(tmp_path / "interrupted")
    proc = _cli("train", tiny_folder, "--model", model_dir, "--preset", "tiny", "--epochs", "100000", *TINY_ARGS)
    deadline = time.time() + 120
    while time.time() < deadline and not _epochs_done(model_dir):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "run the same call again to resume" in out
    assert "Traceback" not in err
    assert os.path.exists(os.path.join(model_dir, "model.keras"))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"epochs": 0}, "epochs must be between 1 and"), ({"epochs": 2.5}, "epochs"), ({"preset": "huge"}, "unknown preset 'huge'"), ({"seed": -1}, "seed")],
)
def test_bad_training_arguments_fail_before_anything_is_written(tiny_loops, tmp_path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        train(tiny_loops, tmp_path / "m", progress=False, **kwargs)
    assert not (tmp_path / "m").exists()


def _process_writes():
    """Bytes this process has passed to write() so far (Linux), or None."""
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))
    except (OSError, StopIteration):
        return None


def _checkpoint_bytes(model_dir):
    folder = os.path.join(model_dir, "checkpoint")
    return max(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder) if n.endswith(".bin"))


@pytest.mark.parametrize("every, n_checkpoints", [(3600.0, 2), (1e-6, 25)])
def test_checkpoints_are_written_by_time_and_writes_stay_within_budget(tiny_loops, tmp_path, every, n_checkpoints):
    """25 epochs: with a long interval only the first epoch and the end are saved (the
    bytes written into the folder do not grow with epochs); with a tiny one, every epoch."""
    model_dir = str(tmp_path / "m")
    before = _process_writes()
    model = train(tiny_loops, model_dir, epochs=25, preset="tiny", progress=False, verbose=False, checkpoint_every=every)
    after = _process_writes()
    one = _checkpoint_bytes(model_dir) + os.path.getsize(os.path.join(model_dir, "model.keras"))
    small = 64_000  # morphlib.json, history.csv, latents.json, checkpoint states
    assert model.bytes_written <= n_checkpoints * one + small
    if every > 1:
        assert model.bytes_written >= 2 * _checkpoint_bytes(model_dir)
        if before is not None:  # everything the process wrote, wherever, is within the budget
            assert after - before <= 2 * one + small + 200_000
    assert [r["epoch"] for r in model.history] == list(range(1, 26)) == _history_epochs(model_dir)
    state = json.load(open(os.path.join(model_dir, "checkpoint", f"slot-{n_checkpoints % 2}.json")))
    assert state["epoch"] == 25 and state["seq"] == n_checkpoints


@pytest.mark.slow
def test_kill_between_checkpoints_costs_at_most_the_interval(tiny_folder, tiny_loops, tmp_path):
    """A kill between checkpoints loses the epochs since the last one (never more than the
    interval's worth); the same command resumes from it, with no gap in the history."""
    from morphlib.model.folder import read_state

    model_dir = str(tmp_path / "between")
    every = 1.5
    proc = _cli("train", tiny_folder, "--model", model_dir, "--preset", "tiny", "--epochs", "100000",
                "--checkpoint-every", str(every), *TINY_ARGS)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and _epochs_done(model_dir) < 2:
        time.sleep(0.02)  # the first checkpoint (epoch 1), then one by time
    time.sleep(every * 0.6)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    proc.wait()
    state = read_state(model_dir)
    assert killed_at - state["saved_at"] <= every + 1.0  # the interval, plus an epoch and a write
    assert [r["epoch"] for r in state["history"]] == list(range(1, state["epoch"] + 1))
    model = train(tiny_loops, model_dir, epochs=state["epoch"] + 3, progress=False, verbose=False)
    assert [r["epoch"] for r in model.history] == list(range(1, state["epoch"] + 4)) == _history_epochs(model_dir)


def test_a_full_disk_is_a_clear_error_and_keeps_the_last_good_checkpoint(tiny_loops, tmp_path, monkeypatch):
    import errno

    import morphlib.model.folder as mf
    from morphlib.model.folder import read_state

    model_dir = str(tmp_path / "full")
    real = mf.write_in_place
    calls = []

    def fills_up(path, chunks, **kwargs):
        calls.append(path)
        if len(calls) > 2 and path.endswith(".bin"):  # the second checkpoint's data: half written, then full
            with open(path, "wb") as f:
                f.write(b"\0" * 100)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, chunks, **kwargs)

    monkeypatch.setattr(mf, "write_in_place", fills_up)
    with pytest.raises(ModelFolderError) as info:
        train(tiny_loops, model_dir, epochs=50, preset="tiny", progress=False, verbose=False, checkpoint_every=1e-6)
    message = str(info.value)
    assert model_dir in message and "is full" in message and "trash" in message
    assert "last good checkpoint (epoch 1)" in message
    monkeypatch.setattr(mf, "write_in_place", real)
    assert read_state(model_dir)["epoch"] == 1  # the torn slot is recognised and passed over
    load_model(model_dir)
    model = train(tiny_loops, model_dir, epochs=4, progress=False, verbose=False)
    assert [r["epoch"] for r in model.history] == [1, 2, 3, 4]


def test_torn_and_missing_slots(tiny_loops, tmp_path):
    from morphlib.model.folder import read_state

    model_dir = str(tmp_path / "m")
    train(tiny_loops, model_dir, epochs=3, preset="tiny", progress=False, verbose=False, checkpoint_every=1e-6)
    folder = os.path.join(model_dir, "checkpoint")
    assert read_state(model_dir)["epoch"] == 3  # seq 3: slot-1
    with open(os.path.join(folder, "slot-1.bin"), "r+b") as f:
        f.write(b"torn")
    assert read_state(model_dir)["epoch"] == 2
    with open(os.path.join(folder, "slot-0.json"), "w") as f:
        f.write('{"epoch": 2, "se')
    with pytest.raises(ModelFolderError, match="no complete checkpoint in .*slot-0: unreadable.*slot-1: torn"):
        read_state(model_dir)
    with pytest.raises(ModelFolderError, match="delete that folder"):
        train(tiny_loops, model_dir, epochs=5, progress=False, verbose=False)


def test_a_kill_while_the_best_model_is_replaced_is_recovered(tiny_loops, tmp_path):
    import shutil

    model_dir = tmp_path / "m"
    train(tiny_loops, model_dir, epochs=2, preset="tiny", progress=False, verbose=False)
    best = model_dir / "model.keras"
    shutil.copy(best, model_dir / ".model.keras.part.keras")
    best.write_bytes(b"")  # killed after emptying the old best model, before the rename
    assert load_model(model_dir).n_params > 0
    assert best.stat().st_size > 0 and not (model_dir / ".model.keras.part.keras").exists()


def test_a_folder_from_morphlib_0_1_resumes_and_its_old_checkpoint_goes(tiny_loops, tmp_path):
    from morphlib.model.folder import read_state

    model_dir = str(tmp_path / "old")
    train(tiny_loops, model_dir, epochs=3, preset="tiny", progress=False, verbose=False, checkpoint_every=1e-6)
    folder = os.path.join(model_dir, "checkpoint")
    state = read_state(model_dir)
    os.rename(state["weights_path"], os.path.join(folder, "epoch-000003.bin"))
    json.dump({"epoch": 3, "loss": state["loss"], "weights": "epoch-000003.bin", "layout": state["layout"]},
              open(os.path.join(folder, "state.json"), "w"))
    for name in ("slot-0.bin", "slot-0.json", "slot-1.bin", "slot-1.json"):
        if os.path.exists(os.path.join(folder, name)):
            os.remove(os.path.join(folder, name))
    model = train(tiny_loops, model_dir, epochs=5, progress=False, verbose=False)
    assert [r["epoch"] for r in model.history] == [1, 2, 3, 4, 5]
    assert sorted(os.listdir(folder)) == ["slot-0.bin", "slot-0.json", "slot-1.bin", "slot-1.json"]


@pytest.mark.parametrize(
    "kwargs, match",
    [({"checkpoint_every": 0}, "checkpoint_every must be a number of seconds > 0, got 0"),
     ({"checkpoint_every": -1}, "got -1"), ({"checkpoint_every": "soon"}, "got 'soon'"),
     ({"max_minutes": 0}, "max_minutes must be a number of minutes > 0, got 0"), ({"max_minutes": float("inf")}, "got inf")],
)
def test_bad_schedule_arguments(tiny_loops, tmp_path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        train(tiny_loops, tmp_path / "m", progress=False, **kwargs)
    assert not (tmp_path / "m").exists()


def test_status_says_what_a_lost_runtime_costs(tiny_loops, tmp_path):
    from morphlib.model.folder import checkpoint_status
    from morphlib.training.trainer import TrainingListener

    seen = []

    class Watch(TrainingListener):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.keeper.status())

    model_dir = str(tmp_path / "m")
    train(tiny_loops, model_dir, epochs=3, preset="tiny", progress=False, verbose=False, checkpoint_every=3600, callbacks=[Watch()])
    assert seen[0].startswith("saved epoch 1 0 s ago; a lost runtime now costs nothing")
    assert seen[2].startswith("saved epoch 1 ") and seen[2].endswith("costs 2 epochs")
    assert checkpoint_status(model_dir).startswith("last checkpoint: epoch 3, saved ")
    assert checkpoint_status(tmp_path / "none") == f"no checkpoint in {tmp_path / 'none'} yet"


def _drops(monkeypatch, *, when):
    """Make checkpoint writes into the model folder fail as a dropped Drive mount does
    ("Transport endpoint is not connected"), for the calls ``when(n, path)`` picks; a data file
    is half written first, as when the mount drops in the middle of a slot."""
    import errno

    import morphlib.model.folder as mf

    real, calls = mf.write_in_place, []

    def write_in_place(path, chunks, **kwargs):
        calls.append(path)
        if when(len(calls), path):
            if path.endswith(".bin"):
                with open(path, "r+b" if os.path.exists(path) else "wb") as f:
                    f.write(b"\0" * 100)
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return real(path, chunks, **kwargs)

    monkeypatch.setattr(mf, "write_in_place", write_in_place)
    return calls


def test_a_drive_drop_mid_slot_keeps_training_and_the_next_checkpoint_lands(tiny_loops, tmp_path, monkeypatch, capsys):
    from morphlib.model.folder import read_state

    model_dir = str(tmp_path / "drive")
    # Checkpoints 1 (slot-1) and 2 (slot-0) land; 3's data drops half-way; 4 retries slot-1 and lands.
    calls = _drops(monkeypatch, when=lambda n, path: n == 5)
    model = train(tiny_loops, model_dir, epochs=6, preset="tiny", progress=False, checkpoint_every=1e-6)
    out = capsys.readouterr().out
    assert "Transport endpoint is not connected" in out and "training goes on in memory" in out
    assert not getattr(model, "unreachable", False) and [r["epoch"] for r in model.history] == list(range(1, 7))
    state = read_state(model_dir)
    assert state["epoch"] == 6 and [r["epoch"] for r in state["history"]] == list(range(1, 7))
    slots = [os.path.basename(p) for p in calls if p.endswith(".bin")]
    assert slots[:4] == ["slot-1.bin", "slot-0.bin", "slot-1.bin", "slot-1.bin"]  # the failed slot is retried, not the good one


def test_a_folder_that_stays_unreachable_stops_cleanly_and_the_same_call_resumes(tiny_loops, tmp_path, monkeypatch, capsys):
    import morphlib.training.trainer as training
    from morphlib.model.folder import read_state

    model_dir = str(tmp_path / "gone")
    # The first checkpoint lands; every write after it fails, half-writing its slot.
    _drops(monkeypatch, when=lambda n, path: n > 2)
    model = train(tiny_loops, model_dir, epochs=50, preset="tiny", progress=False, checkpoint_every=1e-6)
    out = capsys.readouterr().out
    # A write's failure is seen at the epoch after it (writes run in the background).
    assert getattr(model, "unreachable", False) and 1 + training.UNREACHABLE_TRIES <= len(model.history) <= 2 + training.UNREACHABLE_TRIES
    assert "cannot be reached (Transport endpoint is not connected)" in out and "run the same command or cell again" in out
    assert "last good checkpoint (epoch 1) is kept" in out and "Traceback" not in out
    assert model.decode(model.encode(tiny_loops.S[:1])).shape == (1, *tiny_loops.settings.shape)  # usable from memory
    monkeypatch.undo()
    assert read_state(model_dir)["epoch"] == 1  # the torn slot is passed over, the good one is whole
    model = train(tiny_loops, model_dir, epochs=3, progress=False, verbose=False)
    assert [r["epoch"] for r in model.history] == [1, 2, 3]


def test_remounting_is_explained_for_drive_folders():
    import errno

    from morphlib.model.folder import remount_message

    message = remount_message("/content/drive/MyDrive/vae_model", OSError(errno.ENOTCONN, "Transport endpoint is not connected"), kept="")
    assert "drive.mount('/content/drive', force_remount=True)" in message and "/content/drive/MyDrive/vae_model" in message


@pytest.mark.slow
def test_the_cli_exits_75_when_the_model_folder_goes_away(tiny_folder, tmp_path):
    code = """
import errno, sys
import morphlib.model.folder as mf
real, calls = mf.write_in_place, []
def drops(path, chunks, **kwargs):
    calls.append(path)
    if len(calls) > 2:
        raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
    return real(path, chunks, **kwargs)
mf.write_in_place = drops
from morphlib.cli import main
sys.exit(main(sys.argv[1:]))
"""
    model_dir = str(tmp_path / "m")
    out = subprocess.run([sys.executable, "-c", code, "train", tiny_folder, "--model", model_dir, "--preset", "tiny", "--epochs", "40",
                          "--checkpoint-every", "0.000001", *TINY_ARGS], capture_output=True, text=True, timeout=300)
    assert out.returncode == 75, out.stderr[-2000:]
    assert "force_remount" not in out.stdout and "run the same command or cell again" in out.stdout
    assert "Traceback" not in out.stderr


def test_a_bank_checkpoints_in_float16_with_factored_moments_and_resumes(tiny_loops, tmp_path):
    preset = dataclasses.replace(get_preset("tiny"), name="tiny-bank", detail_slots=4, detail_moments="factored")
    model_dir = tmp_path / "bank"
    train(tiny_loops, model_dir, epochs=2, preset=preset, progress=False, verbose=False)
    from morphlib.model.folder import read_state

    layout = read_state(model_dir)["layout"]
    bank = [dt for shape, dt in layout["weights"] if shape == [4, TINY.n_frames * TINY.n_bins]]
    assert bank == ["<f2"]
    assert all(np.prod(shape) < 4 * TINY.n_frames * TINY.n_bins for shape, _ in layout["optimizer"])  # no full-size moments
    model = train(tiny_loops, model_dir, epochs=3, preset=preset, progress=False, verbose=False)
    assert checkpoint_epoch(model_dir) == 3 and np.isfinite(model.history[-1]["loss"])


def test_a_bank_with_adams_moments_checkpoints_them_in_bfloat16_and_resumes(tiny_loops, tmp_path):
    preset = dataclasses.replace(get_preset("tiny"), name="tiny-bank", detail_slots=4)
    model_dir = tmp_path / "bank"
    train(tiny_loops, model_dir, epochs=2, preset=preset, progress=False, verbose=False)
    from morphlib.model.folder import read_state

    layout = read_state(model_dir)["layout"]
    cells = [4, TINY.n_frames * TINY.n_bins]
    assert [dt for shape, dt in layout["optimizer"] if shape == cells] == ["bfloat16", "bfloat16"]  # m and v
    assert all(dt == "<f4" for shape, dt in layout["optimizer"] if shape != cells and shape)  # the rest exactly
    model = train(tiny_loops, model_dir, epochs=3, preset=preset, progress=False, verbose=False)
    assert checkpoint_epoch(model_dir) == 3 and np.isfinite(model.history[-1]["loss"])


@pytest.mark.parametrize("x", [np.float32([0.0, 1.0, -2.5, 3.14159, 1e-30, 6.5e4, 1e30]), np.linspace(-1, 1, 7, dtype=np.float32)])
def test_bfloat16_keeps_the_exponent_and_8_bits(x):
    from morphlib.model.folder import BFloat16Array

    back = BFloat16Array.expand(BFloat16Array(x).codes)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, x, rtol=2 ** -8)
