import json
import os
import shutil

import numpy as np
import pytest

from morphlib.data.dataset import load_folder
from morphlib.errors import ModelFolderError, ParameterError, SettingsMismatchError
from morphlib.model.folder import read_latents, read_meta, read_state
from morphlib.model.morphmodel import load_model
from morphlib.training.newloops import add_loops, new_loop_names
from morphlib.training.trainer import train

from .conftest import TINY, tone_burst, write_loops


def _folder_with_new_loops(tmp_path, tiny_folder, n_new=2):
    folder = tmp_path / "loops"
    shutil.copytree(tiny_folder, folder)
    import soundfile as sf

    for k in range(n_new):
        y = tone_burst(TINY.n_samples, TINY.sr, freq=900 + 150 * k, decay=0.03, seed=50 + k)
        sf.write(folder / f"New {k}.wav", y, TINY.sr)
    return folder


@pytest.fixture
def trained(tiny_loops, tmp_path):
    model_dir = tmp_path / "model"
    train(tiny_loops, model_dir, epochs=3, preset="tiny", progress=False, verbose=False)
    return model_dir


def test_new_loop_names(trained, tiny_loops, tmp_path, tiny_folder):
    assert new_loop_names(tiny_loops, trained) == []
    bigger = load_folder(_folder_with_new_loops(tmp_path, tiny_folder), TINY, progress=False)
    assert new_loop_names(bigger, trained) == ["New 0", "New 1"]
    assert new_loop_names(bigger, tmp_path / "no model here") == []


def test_add_loops_brings_new_loops_in_and_keeps_the_model_before(trained, tmp_path, tiny_folder, capsys):
    folder = _folder_with_new_loops(tmp_path, tiny_folder)
    before_weights = load_model(trained).vae.get_weights()
    old_history = read_state(trained)["history"]
    handle = load_model(trained)
    model = add_loops(folder, trained, seconds=1.5, progress=False)
    # a model loaded before stays the model it was: its weights and the loops it heard
    assert not handle.has_heard("New 0") and model.has_heard("New 0")
    out = capsys.readouterr().out
    assert "adding 2 new loops" in out and "New 0" in out and "45% → 25% of every batch new loops" in out
    assert model.added == ["New 0", "New 1"]
    # the earlier model is kept whole, a model folder of its own
    assert os.path.basename(model.before) == "before-add-1"
    kept = load_model(model.before)
    assert all(np.array_equal(a, b) for a, b in zip(kept.vae.get_weights(), before_weights))
    assert len(read_meta(model.before)["data"]["names"]) == 6
    # the folder now knows the new loops: meta, latents (so the map and the pickers have them)
    names = read_meta(trained)["data"]["names"]
    assert names[-2:] == ["New 0", "New 1"] and len(names) == 8
    assert set(read_latents(trained)) == set(names)
    # it trained: the weights moved, and a later train resumes from the added model
    after = load_model(trained).vae.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(after, before_weights))
    # with the encoder as it was: the loops it knew keep their latents
    assert all(np.array_equal(a, b) for a, b in zip(load_model(trained).encoder.get_weights(), kept.encoder.get_weights()))
    old_z, new_z = read_latents(model.before), read_latents(trained)
    assert all(np.allclose(old_z[n], new_z[n], atol=1e-5) for n in old_z)
    state = read_state(trained)
    assert state["epoch"] == len(old_history) + 1 == state["best_from"]
    # nothing new: nothing trained, nothing written
    again = add_loops(folder, trained, seconds=1.0, progress=False)
    assert again.added == [] and not os.path.exists(os.path.join(trained, "before-add-2"))
    assert "knows all 8 loops" in capsys.readouterr().out


def test_train_on_a_bigger_folder_adds_the_new_loops(trained, tmp_path, tiny_folder, capsys):
    folder = _folder_with_new_loops(tmp_path, tiny_folder, n_new=1)
    loops = load_folder(folder, TINY, progress=False)
    model = train(loops, trained, epochs=50, max_minutes=1.0 / 60, progress=False)
    out = capsys.readouterr().out
    assert "1 of the 7 loops are new" in out and "epochs is not used" in out
    assert model.added == ["New 0"]
    # then more epochs go on from the added model, whose loss on the bigger set is the one to beat
    train(loops, trained, epochs=6, progress=False, verbose=False)
    assert read_state(trained)["epoch"] == 6 and read_state(trained)["best_from"] == 4


def test_the_model_folder_is_read_once_while_train_adds_loops(trained, tmp_path, tiny_folder, monkeypatch):
    import morphlib.model.folder as mf

    reads = []
    real = mf._read_raw_meta
    monkeypatch.setattr(mf, "_read_raw_meta", lambda path: (reads.append(path), real(path))[1])
    folder = _folder_with_new_loops(tmp_path, tiny_folder, n_new=1)
    loops = load_folder(folder, TINY, progress=False)
    model = train(loops, trained, max_minutes=1.0 / 60, progress=False, verbose=False)
    assert model.added == ["New 0"] and "New 0" in model.known_names  # the names written went into its copy
    assert len(reads) == 1, reads


def test_added_loops_get_better(tmp_path):
    # a loop the model never heard is reconstructed closer after a short addition
    write_loops(tmp_path / "old", 4)
    old = load_folder(tmp_path / "old", TINY, progress=False)
    model_dir = tmp_path / "m"
    train(old, model_dir, epochs=30, preset="tiny", progress=False, verbose=False)
    shutil.copytree(tmp_path / "old", tmp_path / "all")
    import soundfile as sf

    sf.write(tmp_path / "all" / "Zz new.wav", tone_burst(TINY.n_samples, TINY.sr, freq=1500, decay=0.1, seed=9), TINY.sr)
    loops = load_folder(tmp_path / "all", TINY, progress=False)
    new = loops.S[loops.names.index("Zz new")][None]

    def error():
        m = load_model(model_dir)
        return float(np.mean((np.asarray(m.reconstruct(new)) - new) ** 2))

    before = error()
    add_loops(loops, model_dir, seconds=3.0, progress=False, verbose=False)
    assert error() < 0.7 * before


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), "a minute", None])
def test_bad_seconds(trained, tiny_loops, seconds):
    with pytest.raises(ParameterError, match="seconds must be a number > 0"):
        add_loops(tiny_loops, trained, seconds=seconds)


def test_add_needs_a_model_and_its_settings(tmp_path, tiny_loops, trained):
    with pytest.raises(ModelFolderError, match="does not exist"):
        add_loops(tiny_loops, tmp_path / "nothing", seconds=1)
    write_loops(tmp_path / "x", 2)
    other = load_folder(tmp_path / "x", TINY.__class__(**{**TINY.to_dict(), "n_frames": 8}), progress=False)
    with pytest.raises(SettingsMismatchError, match="n_frames: 8 in the data, 16 in the model"):
        add_loops(other, trained, seconds=1)


def test_interrupted_add_leaves_the_folder_as_it_was(trained, tmp_path, tiny_folder, monkeypatch):
    import morphlib.training.newloops as newloops

    real = newloops.AddKeeper.on_epoch_end

    def interrupted(self, epoch, logs=None):  # Ctrl-C after an epoch has trained
        real(self, epoch, logs)
        raise KeyboardInterrupt

    listing = sorted(os.listdir(trained))
    meta = json.load(open(os.path.join(trained, "morphlib.json")))
    monkeypatch.setattr(newloops.AddKeeper, "on_epoch_end", interrupted)
    with pytest.raises(KeyboardInterrupt):
        add_loops(_folder_with_new_loops(tmp_path, tiny_folder), trained, seconds=1, progress=False)
    assert sorted(os.listdir(trained)) == listing
    assert json.load(open(os.path.join(trained, "morphlib.json"))) == meta


@pytest.mark.parametrize("share, batch, fraction, expected", [
    ((0.45, 0.25), 16, 0.0, 7),     # 45 % of 16 at the first step
    ((0.45, 0.25), 16, 1.0, 4),     # 25 % at the last
    ((0.45, 0.25), 16, 0.5, 6),     # 35 % half way
    ((0.45, 0.25), 16, 2.0, 4),     # past the end: the last share
    ((0.45, 0.25), 16, -1.0, 7),    # before the start: the first
    (0.35, 16, 0.7, 6),             # one share throughout
    ((0.45, 0.25), 2, 0.0, 1),      # at least one old loop in a batch of two
    ((0.0, 0.0), 16, 0.5, 1),       # at least one new loop
    ((1.0, 1.0), 16, 0.5, 15),      # and one old
    ((0.45, 0.25), 1, 0.5, 1),      # a batch of one: the new loop
])
def test_new_loops_share_of_a_batch_falls_over_the_addition(share, batch, fraction, expected, monkeypatch):
    import morphlib.training.newloops as newloops

    monkeypatch.setattr(newloops, "NEW_SHARE", share)
    assert newloops.new_in_batch(batch, fraction) == expected


def test_adding_runs_on_the_training_loop_with_its_clock_and_schedule(trained, tmp_path, tiny_folder, monkeypatch):
    import morphlib.training.newloops as newloops
    from morphlib.training.engine import LearningRateSchedule, fit_loop

    seen, rates = {}, []

    def watched(vae, data, *, callbacks, **kwargs):
        seen["callbacks"] = callbacks
        schedule = next(cb for cb in callbacks if isinstance(cb, LearningRateSchedule))
        real_begin = schedule.on_epoch_begin

        def begin(epoch, logs=None):
            real_begin(epoch, logs)
            rates.append(float(np.asarray(schedule.model.optimizer.learning_rate)))

        schedule.on_epoch_begin = begin
        return fit_loop(vae, data, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(newloops, "fit_loop", watched)
    model = add_loops(_folder_with_new_loops(tmp_path, tiny_folder), trained, seconds=2.0, progress=False, verbose=False)
    keeper = next(cb for cb in seen["callbacks"] if isinstance(cb, newloops.AddKeeper))
    schedule = next(cb for cb in seen["callbacks"] if isinstance(cb, LearningRateSchedule))
    # a warm restart's cycle over the addition's own seconds, ended within them
    assert keeper.clock.budget_s == 2.0 and keeper.clock.cycle == 2 and keeper.clock.ended()
    assert schedule.recipe.restart_peak == newloops.PEAK and keeper.steps >= 1 and keeper.seconds < 2.0 + 5
    # the warm restart's one-cycle rate: at most its peak (PEAK x the preset's), down at its end
    preset = read_meta(trained)["preset"]
    peak = newloops.PEAK * preset.learning_rate
    assert rates and all(r <= 1.001 * peak for r in rates)
    assert schedule.recipe.learning_rate_at(preset, 1.0, restart=True) < 0.05 * peak
    if len(rates) >= 3:  # time for more than two epochs (not under a heavily loaded CPU)
        assert max(rates) > 2 * preset.learning_rate and rates[-1] < max(rates)
    # one history row for the whole addition, in the checkpoint too
    assert read_state(trained)["history"][-1]["seconds"] == pytest.approx(keeper.seconds, abs=1e-3)
    assert model.added == ["New 0", "New 1"]


def test_a_diverged_add_leaves_the_folder_as_it_was(trained, tmp_path, tiny_folder, monkeypatch):
    import morphlib.training.newloops as newloops

    real = newloops.AddKeeper.on_epoch_end
    monkeypatch.setattr(newloops.AddKeeper, "on_epoch_end", lambda self, epoch, logs=None: real(self, epoch, {"loss": float("nan")}))
    listing = sorted(os.listdir(trained))
    with pytest.raises(ModelFolderError, match=r"stopped \(the loss became NaN or infinite\); the folder is as it was"):
        add_loops(_folder_with_new_loops(tmp_path, tiny_folder), trained, seconds=1, progress=False, verbose=False)
    assert sorted(os.listdir(trained)) == listing


def test_an_add_that_fails_midway_leaves_the_folder_as_it_was(trained, tmp_path, tiny_folder, monkeypatch):
    import morphlib.training.newloops as newloops

    real = newloops.AddKeeper.on_epoch_end

    def fails(self, epoch, logs=None):  # an error inside the loop after an epoch has trained
        real(self, epoch, logs)
        raise RuntimeError("the disk under TensorFlow went away")

    monkeypatch.setattr(newloops.AddKeeper, "on_epoch_end", fails)
    listing = sorted(os.listdir(trained))
    with pytest.raises(RuntimeError, match="went away"):
        add_loops(_folder_with_new_loops(tmp_path, tiny_folder), trained, seconds=1, progress=False, verbose=False)
    assert sorted(os.listdir(trained)) == listing
