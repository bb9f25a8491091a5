import dataclasses
import json
import os

import numpy as np
import pytest

from morphlib.config import get_preset
from morphlib.errors import ParameterError
from morphlib.model.folder import META
from morphlib.model.recipes import RECIPES, Recipe, get_recipe, pick_precision, recipe_from_dict
from morphlib.training.trainer import train

TUTORIAL = get_preset("tutorial")


def test_the_tutorial_recipe_is_the_tutorials_training():
    r = RECIPES["tutorial"]
    assert r.epochs_for(TUTORIAL) == 500 and r.batch_size_for(TUTORIAL) == 16 and r.precision == "float32"
    assert {r.learning_rate(TUTORIAL, e, 500) for e in range(500)} == {0.001}


def test_a_constant_recipe_holds_peak_times_the_presets_rate():
    r = dataclasses.replace(RECIPES["tutorial"], peak=0.3)
    rates = [r.learning_rate(TUTORIAL, e, 500) for e in range(0, 500, 7)] + [r.learning_rate_at(TUTORIAL, f) for f in (0, 0.5, 1)]
    assert np.allclose(rates, 3e-4) and r.learning_rate_at(TUTORIAL, 0.5, restart=True) == pytest.approx(3e-4)


def test_one_cycle_rises_to_its_peak_then_falls_to_almost_nothing():
    r = RECIPES["onecycle"]
    total = r.epochs_for(TUTORIAL)
    lr = np.array([r.learning_rate(TUTORIAL, e, total) for e in range(total + 1)])
    top = int(np.argmax(lr))
    peak = 1e-3 * r.peak  # the tutorial preset's rate times the recipe's peak
    assert r.peak > 1 and lr[0] == pytest.approx(peak / 10) and lr.max() == pytest.approx(peak)
    assert top == pytest.approx(r.warmup * total, abs=1)
    assert np.all(np.diff(lr[: top + 1]) > 0) and np.all(np.diff(lr[top:]) <= 0)
    assert lr[-1] == pytest.approx(peak / 1000)


@pytest.mark.parametrize("kwargs, match", [
    ({"schedule": "cyclic"}, "schedule must be one of"),
    ({"precision": "int8"}, "precision must be one of"),
    ({"peak": 0}, "peak and epochs must be > 0"),
    ({"warmup": 1.0}, "warmup in"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"init": "lecun"}, "init must be one of .*'lecun'"),
])
def test_bad_recipes_name_the_field(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        Recipe("x", **kwargs)


def test_lookups():
    assert get_recipe("tutorial") is RECIPES["tutorial"]
    with pytest.raises(ParameterError, match="unknown recipe 'turbo'; choose one of: tutorial, onecycle"):
        get_recipe("turbo")
    assert recipe_from_dict(None) == RECIPES["tutorial"]  # folders from before recipes
    assert recipe_from_dict(RECIPES["onecycle"].to_dict()) == RECIPES["onecycle"]
    before_init = {k: v for k, v in RECIPES["onecycle"].to_dict().items() if k != "init"}  # a folder from before ``init``
    assert recipe_from_dict(before_init).init == "glorot"


@pytest.mark.parametrize("recipe, preset_init, init", [("tutorial", None, "glorot"), ("onecycle", None, "he"), ("onecycle", "glorot", "glorot")])
def test_a_new_model_starts_as_its_preset_or_recipe_says(tiny_loops, tmp_path, recipe, preset_init, init):
    """The tutorial recipe keeps Keras' Glorot (the tutorial's code); onecycle starts the
    ReLU layers He-uniform unless the preset pins its start (the studio presets); the
    saved model's config records it, and a folder resumes whatever the preset's init."""
    preset = dataclasses.replace(get_preset("tiny"), init=preset_init)
    model = train(tiny_loops, tmp_path, epochs=1, preset=preset, recipe=recipe, progress=False, verbose=False)
    with open(os.path.join(tmp_path, META)) as f:
        assert json.load(f)["model"]["init"] == init
    assert model.vae.init == init
    again = train(tiny_loops, tmp_path, epochs=2, preset=dataclasses.replace(preset, init="he" if init == "glorot" else "glorot"),
                  progress=False, verbose=False)
    assert len(again.history) == 2 and again.vae.init == init


def test_the_studio_presets_keep_their_glorot_start():
    assert [get_preset(name).init_for(RECIPES["onecycle"]) for name in ("studio", "studio44", "tutorial")] == ["glorot", "glorot", "he"]
    with pytest.raises(ParameterError, match="init must be None or one of \\('glorot', 'he'\\), got 'xavier'"):
        dataclasses.replace(get_preset("studio"), init="xavier")


def test_precision():
    assert pick_precision("auto") in ("float32", "mixed_bfloat16", "mixed_float16")
    assert pick_precision("float32") == "float32"
    with pytest.raises(ParameterError, match="precision must be one of"):
        pick_precision("float8")


class StopAfter:
    """A callback that stops training after ``n`` epochs, as an interruption does (made lazily:
    Keras loads on first use)."""

    def __new__(cls, n):
        from morphlib.model.backend import keras_callback_base

        class _StopAfter(keras_callback_base()):
            def on_epoch_end(self, epoch, logs=None):
                if epoch + 1 >= n:
                    self.model.stop_training = True

        return _StopAfter()


def test_a_resumed_one_cycle_continues_on_the_same_curve(tiny_loops, tmp_path):
    whole = train(tiny_loops, tmp_path / "whole", epochs=6, preset="tiny", recipe="onecycle", progress=False, verbose=False)
    train(tiny_loops, tmp_path / "parts", epochs=6, preset="tiny", recipe="onecycle", callbacks=[StopAfter(2)], progress=False, verbose=False)
    parts = train(tiny_loops, tmp_path / "parts", epochs=6, progress=False, verbose=False)
    assert [r["lr"] for r in parts.history] == pytest.approx([r["lr"] for r in whole.history], rel=1e-6)
    assert len({round(r["lr"], 8) for r in whole.history}) == 6  # the rate really moves


def test_resuming_with_another_recipe_says_so(tiny_loops, tmp_path):
    model_dir = tmp_path / "m"
    train(tiny_loops, model_dir, epochs=1, preset="tiny", recipe="tutorial", progress=False, verbose=False)
    assert json.load(open(os.path.join(model_dir, "morphlib.json")))["recipe"]["name"] == "tutorial"
    with pytest.raises(ParameterError, match="being trained with recipe 'tutorial'; resume it without --recipe"):
        train(tiny_loops, model_dir, epochs=2, recipe="onecycle", progress=False, verbose=False)
    assert len(train(tiny_loops, model_dir, epochs=2, progress=False, verbose=False).history) == 2


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16", "mixed_float16"])
def test_every_precision_trains_and_saves_a_float32_model(tiny_loops, tmp_path, precision):
    model = train(tiny_loops, tmp_path / precision, epochs=2, preset="tiny", precision=precision, progress=False, verbose=False)
    assert all(np.isfinite(r["loss"]) for r in model.history)
    assert model.vae.encoder.layers[-1].compute_dtype == "float32"  # the saved model computes in float32
    assert model.decode(model.encode(tiny_loops.S[:2])).dtype == np.float32
