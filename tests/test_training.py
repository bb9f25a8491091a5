import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from morphlib.config import AnalysisSettings
from morphlib.dataset import load_folder
from morphlib.errors import ModelFolderError, ParameterError, SettingsMismatchError
from morphlib.morphing import load_model
from morphlib.training import train

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
    return subprocess.Popen([sys.executable, "-m", "morphlib", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


TINY_ARGS = ["--sr", "8000", "--n-fft", "256", "--hop-length", "64", "--n-frames", "16"]


def _epochs_done(state):
    try:
        return json.load(open(state))["epoch"]
    except (OSError, ValueError):
        return 0


@pytest.mark.parametrize("kills", [3])
def test_killed_training_resumes_without_gaps(tiny_folder, tiny_loops, tmp_path, kills):
    """SIGKILL at random points (epochs here are mostly checkpoint writes), then resume."""
    import random

    model_dir = str(tmp_path / "killed")
    state = os.path.join(model_dir, "checkpoint", "state.json")
    rng = random.Random()
    for k in range(kills):
        proc = _cli("train", tiny_folder, "--model", model_dir, "--preset", "tiny", "--epochs", "100000", *TINY_ARGS)
        start = _epochs_done(state)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and _epochs_done(state) < start + 3:
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = _epochs_done(state)
        assert done >= start + 3
        load_model(model_dir)  # the best model is a complete file after every kill
    model = train(tiny_loops, model_dir, epochs=done + 2, progress=False, verbose=False)
    assert [r["epoch"] for r in model.history] == list(range(1, done + 3)) == _history_epochs(model_dir)
    assert not [n for n in os.listdir(model_dir) if ".part" in n]
    assert len(os.listdir(os.path.join(model_dir, "checkpoint"))) <= 3  # state, one checkpoint, maybe one .part


def test_ctrl_c_stops_cleanly_and_resumes(tiny_folder, tmp_path):
    model_dir = str(tmp_path / "interrupted")
    proc = _cli("train", tiny_folder, "--model", model_dir, "--preset", "tiny", "--epochs", "100000", *TINY_ARGS)
    state = os.path.join(model_dir, "checkpoint", "state.json")
    deadline = time.time() + 120
    while time.time() < deadline and not os.path.exists(state):
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
