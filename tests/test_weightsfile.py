"""A model folder from someone else: built from checked metadata, weights only, no link followed."""

import json
import os
import shutil
import zipfile

import numpy as np
import pytest

from morphlib.errors import ModelFolderError
from morphlib.model.morphmodel import load_model
from morphlib.model.weightsfile import MAX_PARAMS, architecture_from_meta, estimated_params


@pytest.fixture
def received(tiny_model_dir, tmp_path):
    """A copy of a trained model folder, as if unpacked from someone's zip."""
    folder = tmp_path / "received"
    shutil.copytree(tiny_model_dir, folder)
    return folder


def _rewrite_member(path, member, data):
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w") as z:
        for info, body in items:
            z.writestr(info, data if info.filename == member else body)


def _edit_meta(folder, **model):
    meta = json.loads((folder / "morphlib.json").read_text())
    meta["model"].update(model)
    (folder / "morphlib.json").write_text(json.dumps(meta))


def test_the_archive_config_is_never_deserialised(received, tiny_model, tiny_loops, monkeypatch):
    import keras

    def refuse(*args, **kwargs):
        raise AssertionError("Keras' whole-model loader or deserializer was called")

    monkeypatch.setattr(keras.saving, "load_model", refuse)
    monkeypatch.setattr(keras.saving, "deserialize_keras_object", refuse)
    # a stranger's config that would run code if a deserializer read it
    evil = {"class_name": "Lambda", "config": {"function": {"class_name": "__lambda__", "config": {"code": "b3MuX2V4aXQoMSk="}}}}
    _rewrite_member(received / "model.keras", "config.json", json.dumps(evil).encode())
    model = load_model(received)
    x = np.asarray(tiny_loops.S[:2])
    assert np.array_equal(np.asarray(model.vae(x)), np.asarray(tiny_model.vae(x)))


@pytest.mark.parametrize("field, value, words", [
    ("hidden", 10**9, "hidden must be a whole number in"),
    ("hidden", True, "hidden must be a whole number"),
    ("latent_dim", "16", "latent_dim must be a whole number"),
    ("posterior", "__import__('os')", "posterior must be one of"),
    ("beta", float("nan"), "beta must be a number"),
    ("floor", 0.0, "floor must be > 0"),
    ("strides", [4, "x"], "strides must be a whole number"),
])
def test_each_architecture_field_is_checked_naming_it(received, field, value, words):
    _edit_meta(received, **{field: value})
    with pytest.raises(ModelFolderError, match=words) as err:
        load_model(received)
    assert "morphlib.json" in str(err.value) and "\n" not in str(err.value)


def test_an_architecture_beyond_the_memory_limit_is_refused_before_it_is_built():
    arch = architecture_from_meta({"n_bins": 1025, "n_frames": 148, "hidden": 256}, where="m.json")
    assert estimated_params(arch) < MAX_PARAMS
    with pytest.raises(ModelFolderError, match="parameters, more than morphlib's limit"):
        architecture_from_meta({"n_bins": 32769, "n_frames": 16384, "detail_slots": 4096}, where="m.json")


def test_estimated_params_bounds_the_built_model(tiny_model):
    arch = architecture_from_meta(tiny_model.vae.get_config(), where="m.json")
    assert tiny_model.vae.n_params <= estimated_params(arch) <= 4 * tiny_model.vae.n_params


def test_a_linked_model_file_is_refused(received, tmp_path):
    real = tmp_path / "elsewhere.keras"
    os.replace(received / "model.keras", real)
    (received / "model.keras").symlink_to(real)
    with pytest.raises(ModelFolderError, match="model.keras is a link"):
        load_model(received)


def test_weights_with_an_external_link_are_refused(received, tmp_path):
    import h5py

    outside = tmp_path / "secret.h5"
    with h5py.File(outside, "w") as f:
        f["x"] = np.zeros(3)
    weights = tmp_path / "w.h5"
    with zipfile.ZipFile(received / "model.keras") as z:
        weights.write_bytes(z.read("model.weights.h5"))
    with h5py.File(weights, "a") as f:
        f["stolen"] = h5py.ExternalLink(str(outside), "/x")
    _rewrite_member(received / "model.keras", "model.weights.h5", weights.read_bytes())
    with pytest.raises(ModelFolderError, match="hold a link at /stolen"):
        load_model(received)


@pytest.mark.parametrize("damage", ["no weights", "not a zip", "wrong shapes"])
def test_a_damaged_model_file_says_so(received, tmp_path, damage):
    path = received / "model.keras"
    if damage == "no weights":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("config.json", "{}")
        words = "holds no model.weights.h5"
    elif damage == "not a zip":
        path.write_bytes(b"garbage")
        words = "is damaged or not a morphlib model"
    else:
        _edit_meta(received, hidden=7)
        words = "does not fit the architecture in morphlib.json"
    with pytest.raises(ModelFolderError, match=words):
        load_model(received)
