"""Execute the notebooks as a user would, and drive 04_morph's α slider in the kernel."""

import os
import subprocess
import sys

import nbformat
import pytest

#: Full notebook runs: the slow tier (CI), not the README's command.
pytestmark = pytest.mark.slow

NOTEBOOKS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "notebooks")


RUNNER = """
import sys, nbformat
from jupyter_client.manager import start_new_kernel

# A blocking client, as nbval uses: nbclient's asyncio polling was seen to miss a reply
# and stall for its whole timeout after the widget cell.
nb = nbformat.read(sys.argv[1], as_version=4)
km, kc = start_new_kernel(kernel_name="python3", cwd=sys.argv[2])
try:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []

        def keep(msg):
            if msg["msg_type"] in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(msg))

        reply = kc.execute_interactive(cell.source, timeout=300, output_hook=keep, allow_stdin=False)
        cell.outputs = outputs
        if reply["content"]["status"] != "ok":
            sys.exit("cell failed: " + cell.source[:200] + "\\n" + "\\n".join(reply["content"].get("traceback", [])))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
nbformat.write(nb, sys.argv[3])
"""


def _execute(nb, tmp_path):
    """Run ``nb``'s code cells in order in a fresh kernel, as "Run all" does; return it with outputs."""
    source, executed = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, str(source), NOTEBOOKS, str(executed)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return nbformat.read(executed, as_version=4)


def _read(name):
    return nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)


def _text(nb):
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            parts.append(o.get("text", "") + o.get("data", {}).get("text/plain", "") + o.get("data", {}).get("text/html", ""))
    return "".join(parts)


def _outputs(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if kind in o.get("data", {})]


def _said(cell, label):
    """The words after ``label`` on the line of the cell's stdout that starts with it."""
    lines = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").splitlines()
    return next((line.split()[1:] for line in lines if line.startswith(label)), None)


#: What a user does after 04 ran: drag the slider (its callback runs in the kernel), then press "save" twice.
AFTER_04 = [
    "before_audio, before_image = panel.player.audio, panel.image.value\n"
    "panel.alpha.value = 0.95 if panel.alpha.value < 0.9 else 0.1\n"
    "panel.wait()\n"
    "print('changed:', before_audio != panel.player.audio, before_image != panel.image.value)",
    "p1 = panel.save(); p2 = panel.save()\nprint('saved:', p1 != p2, os.path.exists(p1), os.path.exists(p2))",
]


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """01 to 04 run top to bottom, each once, in the suite's scratch folders (04 with the user's
    moves after it, in the same kernel); ``{name: executed notebook}``."""
    done = {}
    for name in ("01_load.ipynb", "02_train.ipynb", "03_evaluate.ipynb", "04_morph.ipynb"):
        nb = _read(name)
        if name == "04_morph.ipynb":
            nb.cells += [nbformat.v4.new_code_cell(source) for source in AFTER_04]
        done[name] = _execute(nb, tmp_path_factory.mktemp(name[:2]))
    return done


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """00 run once as a producer would, from an empty loops folder: ``(executed notebook, folders)``."""
    root = tmp_path_factory.mktemp("00")
    folders = {name: root / name for name in ("data", "models", "exports", "demo")}
    folders["data"].mkdir()
    env = {"MORPHLIB_DATA_DIR": folders["data"], "MORPHLIB_MODEL_DIR": folders["models"] / "vae",
           "MORPHLIB_EXPORT_DIR": folders["exports"], "MORPHLIB_DEMO_DIR": folders["demo"]}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, str(value))
        (root / "run").mkdir()
        nb = _execute(_read("00_quickstart.ipynb"), root / "run")
    return nb, folders


def test_notebooks_are_committed_without_outputs():
    for name in sorted(os.listdir(NOTEBOOKS)):
        if name.endswith(".ipynb"):
            nb = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
            assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code"), name


@pytest.mark.parametrize("name", ["00_quickstart.ipynb", "01_load.ipynb", "02_train.ipynb", "03_evaluate.ipynb", "04_morph.ipynb"])
def test_checked_cells_print_what_they_expect(name, series, quickstart):
    """The cells whose metadata holds the text they must print (notebooks/conftest.py, which
    nbval uses in Colab's environment) print exactly that here too."""
    from notebooks.conftest import _mode

    nb = quickstart[0] if name == "00_quickstart.ipynb" else series[name]
    checked = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("morphlib", {}).get("expect")]
    assert checked or name == "00_quickstart.ipynb", f"{name} checks no cell"
    for cell in checked:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
        assert printed == cell.metadata["morphlib"]["expect"][_mode()], cell.source[:200]


def test_train_notebook_shows_the_model_and_the_loss(series):
    text = _text(series["02_train.ipynb"])
    assert "preset: " in text and "Total params" in text
    assert _outputs(series["02_train.ipynb"], "image/png"), "no loss curve"


def test_morph_notebook_plays_and_reacts_to_the_slider(series):
    nb = series["04_morph.ipynb"]
    n_cells = len(nb.cells) - len(AFTER_04)
    story = nbformat.v4.new_notebook(cells=nb.cells[:n_cells])
    slider, save = nb.cells[n_cells:]
    assert any("<audio" in o["data"]["text/html"] for o in _outputs(story, "text/html")), "no audio player"
    assert _outputs(story, "image/png"), "no spectrogram image"
    assert _outputs(story, "application/vnd.jupyter.widget-view+json"), "the panel did not render as a widget"
    assert _said(slider, "changed:") == ["True", "True"], "moving α did not change the sound and the picture"
    assert _said(save, "saved:") == ["True", "True", "True"]
    assert "sweep triangle" in _text(story), "the sweep was not written"


def test_evaluate_notebook_lists_the_model_folders_and_measures(series):
    text = _text(series["03_evaluate.ipynb"])
    assert "trained model folders" in text and "cosine similarity mean" in text


def test_the_quick_start_runs_from_an_empty_folder_to_the_panel_and_writes_nothing_unasked(quickstart):
    nb, folders = quickstart
    assert _outputs(nb, "application/vnd.jupyter.widget-view+json"), "the panel did not render as a widget"
    assert os.listdir(folders["data"]) == []  # the demo loops went elsewhere
    assert not folders["exports"].exists() or os.listdir(folders["exports"]) == []
    assert os.listdir(folders["models"]) == ["vae_demo"] and len(os.listdir(folders["demo"])) == 16
    assert "demo loops" in _text(nb) and "training" in _text(nb)
