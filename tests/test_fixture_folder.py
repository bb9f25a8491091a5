"""A model folder written before the code moved into subpackages (tests/fixtures/tiny-model,
made by commit ba232ec on the loops ``write_loops`` makes) loads and morphs as it did."""

import json
import os
import shutil

import numpy as np
import pytest

from morphlib.data.dataset import load_folder
from morphlib.model.morphmodel import load_model
from morphlib.morphing.morphs import morph

from .conftest import TINY, write_loops

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


@pytest.fixture(scope="module")
def then():
    with open(os.path.join(FIXTURES, "tiny-model-expected.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def now(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixture")
    shutil.copytree(os.path.join(FIXTURES, "tiny-model"), root / "model")  # the checkout's copy stays as committed
    write_loops(root / "loops", 3)
    return load_model(root / "model"), load_folder(str(root / "loops"), TINY, progress=False, cache=False)


def test_it_encodes_and_decodes_as_it_did(then, now):
    model, loops = now
    assert loops.names == then["names"]
    z = model.encode(loops.S)
    np.testing.assert_allclose(z, then["z"], rtol=1e-5, atol=1e-6)
    S = model.decode(np.asarray(then["z"], np.float32))
    np.testing.assert_allclose(S.sum(axis=(1, 2)), then["S_sum"], rtol=1e-5)
    np.testing.assert_allclose(S[0, :, 8], then["S_first"], rtol=1e-5, atol=1e-6)


def test_it_morphs_as_it_did(then, now):
    model, loops = now
    m = morph(model, loops.names[0], loops.names[1], 0.5, loops=loops, n_iter=2)
    assert m.S.sum() == pytest.approx(then["morph_S_sum"], rel=1e-5)
