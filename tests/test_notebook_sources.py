"""The notebooks as a reader meets them: one address of the repository, one setup cell, a GPU
runtime asked for, form fields, the article's steps named in Japanese beside English."""

import os
import re
import subprocess
import sys
import textwrap
import tomllib

import nbformat
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(n for n in os.listdir(os.path.join(REPO, "notebooks")) if n.endswith(".ipynb"))


def _read(name):
    return nbformat.read(os.path.join(REPO, "notebooks", name), as_version=4)


def _setup(nb):
    return next(c.source for c in nb.cells if c.cell_type == "code" and "MORPHLIB_SOURCE" in c.source)


@pytest.fixture(scope="module")
def repository():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def test_the_series_has_a_quick_start_and_the_four_steps():
    assert NOTEBOOKS == ["00_quickstart.ipynb", "01_load.ipynb", "02_train.ipynb", "03_evaluate.ipynb", "04_morph.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_badge_and_setup_source_come_from_the_one_address(name, repository):
    nb = _read(name)
    slug = repository.split("github.com/")[1]
    assert f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{name})" in nb.cells[0].source
    assert re.search(r'^MORPHLIB_SOURCE = "git\+' + re.escape(repository) + '"', _setup(nb), re.M)


def test_every_notebook_has_the_same_setup_cell():
    assert len({_setup(_read(name)) for name in NOTEBOOKS}) == 1


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_asks_colab_for_a_gpu_and_says_what_a_cpu_costs(name):
    nb = _read(name)
    assert nb.metadata["accelerator"] == "GPU" and nb.metadata["colab"]["gpuType"]
    assert "CPU runtime" in nb.cells[0].source


def test_the_quick_start_has_form_fields_for_folder_minutes_and_preset():
    source = "\n".join(c.source for c in _read("00_quickstart.ipynb").cells if c.cell_type == "code")
    for field in ("LOOPS_FOLDER", "MINUTES", "PRESET"):
        assert re.search(rf"^{field} = .*#@param", source, re.M), field
    assert "MorphPanel" in source and "max_minutes=" in source


@pytest.mark.parametrize("name, heading", [
    ("01_load.ipynb", "ファイルの読み込みと短時間フーリエ変換"),
    ("02_train.ipynb", "畳み込み層"),
    ("03_evaluate.ipynb", "モデルの精度を評価する"),
    ("04_morph.ipynb", "潜在ベクトルの組み合わせ"),
])
def test_the_articles_steps_are_named_and_the_article_cited(name, heading):
    text = "\n".join(c.source for c in _read(name).cells if c.cell_type == "markdown")
    assert heading in text and "CNN-VAEで音源モーフィング" in text and "2023-05-31" in text
    assert "glossary" in text


@pytest.mark.parametrize("name", ["03_evaluate.ipynb", "04_morph.ipynb"])
def test_the_preset_is_chosen_once_later_notebooks_take_the_models(name):
    source = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    assert "PRESET" not in source and "model_folders(" in source


def test_a_failed_install_says_what_to_do_in_one_line(tmp_path):
    fake = tmp_path / "fake" / "google" / "colab"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text(textwrap.dedent("""
        import types
        drive = types.SimpleNamespace(mount=lambda path: None)
        output = types.SimpleNamespace(enable_custom_widget_manager=lambda: None)
    """))
    cell = _setup(_read("00_quickstart.ipynb")).replace("%matplotlib inline", "")
    cell = cell.replace('MORPHLIB_SOURCE = "', f'MORPHLIB_SOURCE = "{tmp_path / "missing"}" or "', 1)
    hide = ("import importlib.util as u\nfind = u.find_spec\n"
            "u.find_spec = lambda name, *a: None if name == 'morphlib' else find(name, *a)\n")  # as on a fresh runtime
    script = hide + "import google.colab\n" + cell
    result = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path / 'fake')!r})\n" + script],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert "Traceback" not in message and len(message.splitlines()) == 1, message
    assert message.startswith(f"could not install morphlib from '{tmp_path / 'missing'}'") and "run this cell again" in message
