"""A morph that leaves as one HTML page: its α path and a player, nothing else needed."""

import base64
import io
import json
import re

import numpy as np
import pytest
import soundfile as sf

from morphlib.errors import ParameterError
from morphlib.morphing.morphs import Morph
from morphlib.ui.export import morph_path, save_html, to_html


def _path_in(page):
    return json.loads(re.search(r'<script type="application/json" id="morphlib-path">(.*?)</script>', page, re.S).group(1))


@pytest.fixture(scope="module")
def path(tiny_model, tiny_loops):
    return morph_path(tiny_model, "Loop A", "Loop B", loops=tiny_loops, steps=5, n_iter=2)


def test_the_page_holds_every_step_as_audio_and_the_player(path, tiny_model):
    page = to_html(path)
    data = _path_in(page)
    assert [s["alpha"] for s in data["steps"]] == [0.0, 0.25, 0.5, 0.75, 1.0]
    for step, m in zip(data["steps"], path):
        y, sr = sf.read(io.BytesIO(base64.b64decode(step["wav"])))
        assert sr == tiny_model.settings.sr and len(y) == len(m.y)
        np.testing.assert_allclose(y, m.y / max(1.0, np.abs(m.y).max() / 0.99), atol=2 / 32768)
    assert "AudioContext" in page and "<link" not in page and "src=" not in page  # the script is inline, nothing is fetched
    assert data["a"] == "Loop A" and data["b"] == "Loop B"


def test_names_are_data_never_markup():
    y = np.zeros(800, np.float32)
    name = "</script><img src=x onerror=alert(1)>"
    morphs = [Morph(name, "B", a, "linear", None, y, 8000) for a in (0.0, 1.0)]
    page = to_html(morphs)
    assert "</script><img" not in page and "<img src=x" not in page
    assert _path_in(page)["a"] == name  # the page reads the name back exactly


def test_save_html_never_overwrites_and_says_its_size(path, tmp_path):
    out, n = save_html(tmp_path / "m.html", path)
    assert n == len(open(out, "rb").read()) > 0
    with pytest.raises(FileExistsError, match="m.html already exists"):
        save_html(tmp_path / "m.html", path)
    with pytest.raises(ParameterError, match="steps must be"):
        morph_path(None, "a", "b", steps=1)


def test_the_command_line_exports_a_page(tiny_model_dir, tiny_folder, tmp_path, capsys):
    from morphlib.cli import main

    out = tmp_path / "path.html"
    assert main(["export-html", "--model", tiny_model_dir, "Loop A", "Loop C", "--data", tiny_folder, "--steps", "3",
                 "--n-iter", "2", "--out", str(out)]) in (0, None)
    said = capsys.readouterr().out
    assert str(out) in said and "MB, 3 steps of alpha" in said
    assert [s["alpha"] for s in _path_in(out.read_text())["steps"]] == [0.0, 0.5, 1.0]
