"""The helpers the notebooks call: where data lives, and what they display."""

import os

import pytest

from morphlib.data.dataset import find_audio_files
from morphlib.errors import DataFolderError
from morphlib.ui.notebook import in_colab, project_root, setup_paths, show_strip, sorted_table

from .conftest import write_loops

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    for name in ("MORPHLIB_DATA_DIR", "MORPHLIB_MODEL_DIR", "MORPHLIB_EXPORT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MORPHLIB_DEMO_DIR", str(tmp_path / "cache" / "demo-loops"))


def test_not_colab_here():
    assert not in_colab()


@pytest.mark.parametrize("start", ["", "notebooks"])
def test_project_root_is_found_from_the_repository_and_its_notebooks(start):
    assert project_root(os.path.join(REPO, start)) == REPO


def test_demo_loops_and_their_model_have_folders_of_their_own(tmp_path, monkeypatch, no_env):
    monkeypatch.chdir(tmp_path)
    paths = setup_paths(fast=True, n_demo=2)
    assert paths.demo and len(find_audio_files(paths.data_dir)) == 2
    assert paths.data_dir == str(tmp_path / "cache" / "demo-loops")
    assert os.listdir(tmp_path / "data") == []  # nothing written into the user's data folder
    assert paths.model_dir == str(tmp_path / "models" / "vae_demo_fast")
    assert paths.export_dir == str(tmp_path / "exports")
    assert setup_paths(preset="studio", n_demo=2).model_dir == str(tmp_path / "models" / "vae_demo_studio")
    write_loops(tmp_path / "data", 2)  # the producer's own loops arrive
    mine = setup_paths(fast=False, preset="tutorial", n_demo=2)
    assert not mine.demo and mine.data_dir == str(tmp_path / "data") and len(find_audio_files(mine.data_dir)) == 2
    assert mine.model_dir == str(tmp_path / "models" / "vae")  # never the demo model's folder


def test_a_notebook_without_a_preset_opens_the_newest_trained_model_and_lists_them(tmp_path, monkeypatch, no_env, tiny_model_dir):
    import shutil

    from morphlib.ui.notebook import model_folders

    monkeypatch.chdir(tmp_path)
    write_loops(tmp_path / "data", 2)
    assert setup_paths().model_dir == str(tmp_path / "models" / "vae")  # nothing trained yet: the tutorial's folder
    for name in ("vae", "vae_studio", "vae_demo"):  # a demo model is never offered for the user's loops
        shutil.copytree(tiny_model_dir, tmp_path / "models" / name)
    os.utime(tmp_path / "models" / "vae" / "model.keras", (1e9, 1e9))
    paths = setup_paths()
    assert paths.model_dir == str(tmp_path / "models" / "vae_studio")
    table = model_folders(paths)
    assert [r["model folder"] for r in table.rows] == [str(tmp_path / "models" / n) for n in ("vae", "vae_studio")]
    assert [r[""] for r in table.rows] == ["", "→"] and table.rows[0]["preset"] == "tiny"
    assert "trained model folders" in table._repr_html_()


@pytest.mark.parametrize("how", ["arguments", "environment"])
def test_a_users_folders_win_and_their_audio_is_left_alone(tmp_path, monkeypatch, no_env, how):
    mine = tmp_path / "my loops"
    write_loops(mine, 2)
    folders = (str(mine), str(tmp_path / "m"), str(tmp_path / "e"))
    if how == "arguments":
        paths = setup_paths(*folders, fast=True)
    else:
        for name, folder in zip(("MORPHLIB_DATA_DIR", "MORPHLIB_MODEL_DIR", "MORPHLIB_EXPORT_DIR"), folders):
            monkeypatch.setenv(name, folder)
        paths = setup_paths(fast=True)
    assert (paths.data_dir, paths.model_dir, paths.export_dir) == folders
    assert not paths.demo and sorted(os.listdir(mine)) == ["Loop A.wav", "Loop B.wav"]
    assert "my loops" in str(paths)


def test_drive_folder_without_drive_says_to_run_the_setup_cell(no_env):
    with pytest.raises(DataFolderError, match="/content/drive/MyDrive/Drums.*not mounted.*setup cell"):
        setup_paths("/content/drive/MyDrive/Drums")


def test_static_strip_and_sorted_table_render(tiny_model, tiny_loops, capsys):
    import matplotlib

    matplotlib.use("Agg")
    from morphlib.morphing.evaluation import evaluate
    from morphlib.morphing.morphs import morph

    morphs = morph(tiny_model, "Loop A", "Loop B", [0.0, 1.0], loops=tiny_loops, n_iter=2)
    show_strip(morphs, tiny_model.settings)
    printed = capsys.readouterr().out
    assert "linear α = 0.00" in printed and "linear α = 1.00" in printed
    html = sorted_table(evaluate(tiny_model, tiny_loops))._repr_html_()
    assert html.count("<tr") == len(tiny_loops) + 1 and "Loop A" in html


@pytest.mark.parametrize(
    "model_dir, preset, expected",
    [("m/vae", "tutorial", {"tutorial": "m/vae", "studio": "m/vae_studio"}),
     ("m/vae_studio", "studio", {"tutorial": "m/vae", "studio": "m/vae_studio"}),
     ("mine", "studio", {"tutorial": "mine", "studio": "mine_studio"})],
)
def test_preset_folders(model_dir, preset, expected):
    from morphlib.ui.notebook import preset_folders

    assert preset_folders(model_dir, preset) == expected


def test_compare_models_lists_the_models_that_exist(tiny_model_dir, tiny_loops, tmp_path):
    from morphlib.ui.notebook import compare_models

    table = compare_models({"tutorial": tiny_model_dir, "studio": str(tmp_path / "none")}, tiny_loops, n_iter=2)
    assert [r["model"] for r in table.rows] == ["tutorial"]
    assert "log-spectral distance (dB)" in table._repr_html_() and 0 <= table.rows[0]["decoded bins at 0 (%)"] <= 100


def test_a_form_fields_drive_folder_is_the_local_default_outside_colab(tmp_path, monkeypatch, no_env):
    from morphlib.ui.notebook import on_drive

    assert on_drive("MyDrive/Drums") is None and on_drive(None) is None and on_drive(str(tmp_path)) == str(tmp_path)
    monkeypatch.setattr("morphlib.ui.notebook.in_colab", lambda: True)
    assert on_drive("MyDrive/My Loops") == "/content/drive/MyDrive/My Loops"
