"""Execute the notebooks as a user would, and drive 04_morph's α slider in the kernel."""

import os
import subprocess

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "notebooks")


def _client(name):
    nb = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    return nb, nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": NOTEBOOKS}})


def _text(nb):
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            parts.append(o.get("text", "") + o.get("data", {}).get("text/plain", "") + o.get("data", {}).get("text/html", ""))
    return "".join(parts)


# The kernel's own output goes nowhere: pytest's captured file descriptors can stall it.
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def _outputs(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if kind in o.get("data", {})]


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def trained():
    for name in ("01_load.ipynb", "02_train.ipynb"):
        nb, client = _client(name)
        client.execute(**QUIET)
    return nb


def test_notebooks_are_committed_without_outputs():
    for name in sorted(os.listdir(NOTEBOOKS)):
        if name.endswith(".ipynb"):
            nb = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
            assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code"), name


def test_train_notebook_shows_the_model_and_the_loss(trained):
    text = _text(trained)
    assert "preset: " in text and "Total params" in text
    assert _outputs(trained, "image/png"), "no loss curve"


def test_morph_notebook_plays_and_reacts_to_the_slider(trained):
    nb, client = _client("04_morph.ipynb")
    # What a user does after the notebook ran: drag the slider (its callback runs in the
    # kernel), then press "save" twice.
    slider = nbformat.v4.new_code_cell(
        "before_audio, before_image = panel.audio_src, panel.image.value\n"
        "panel.alpha.value = 0.95 if panel.alpha.value < 0.9 else 0.1\n"
        "print(before_audio != panel.audio_src, before_image != panel.image.value)"
    )
    save = nbformat.v4.new_code_cell("p1 = panel.save(); p2 = panel.save()\nprint(p1 != p2, os.path.exists(p1), os.path.exists(p2))")
    n_cells = len(nb.cells)
    nb.cells += [slider, save]
    client.execute(**QUIET)
    story = nbformat.v4.new_notebook(cells=nb.cells[:n_cells])
    assert any("<audio" in o["data"]["text/html"] for o in _outputs(story, "text/html")), "no audio player"
    assert _outputs(story, "image/png"), "no spectrogram image"
    assert _outputs(story, "application/vnd.jupyter.widget-view+json"), "the panel did not render as a widget"
    assert _stdout(slider).split() == ["True", "True"], "moving α did not change the sound and the picture"
    assert _stdout(save).split() == ["True", "True", "True"]
