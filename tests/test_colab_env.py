"""Colab's package set (tests/requirements-colab.txt, tests/colab_env.py): the pins are Colab's,
and the install check names every package an install would change."""

import pytest

from tests.colab_env import install_problems, read_pins

#: The versions of Colab's runtime 2026.07 that the kernel side depends on most.
COLAB_2026_07 = {
    "ipykernel": "6.17.1", "ipython": "7.34.0", "traitlets": "5.7.1", "jupyter-client": "7.4.9", "notebook": "6.5.7",
    "ipywidgets": "7.7.1", "anywidget": "0.9.21", "tensorflow": "2.20.0", "keras": "3.13.2", "tf-keras": "2.20.0",
    "tensorflow-probability": "0.25.0", "numpy": "2.0.2", "scipy": "1.16.3", "librosa": "0.11.0", "soundfile": "0.14.0",
    "matplotlib": "3.10.0", "numba": "0.60.0", "nbformat": "5.10.4", "pytest": "8.4.2",
}


def test_the_pins_are_colabs_own():
    pins = read_pins()
    assert {name: pins[name][1] for name in COLAB_2026_07} == COLAB_2026_07
    assert "morphlib" not in pins and "jupyterlab" not in pins  # Colab has no JupyterLab


def _report(*items):
    return {"install": [{"metadata": {"name": n, "version": v}, "requested": n == "morphlib"} for n, v in items]}


@pytest.mark.parametrize(
    "items, problems",
    [
        ([("morphlib", "0.1.0")], []),
        ([("morphlib", "0.1.0"), ("tensorflow", "2.21.0")], ["tensorflow 2.20.0 (Colab's) would be replaced by 2.21.0"]),
        ([("morphlib", "0.1.0"), ("ipywidgets", "8.1.9")], ["ipywidgets 7.7.1 (Colab's) would be replaced by 8.1.9"]),
        ([("morphlib", "0.1.0"), ("numpy", "1.26.4")], ["numpy 2.0.2 (Colab's) would be replaced by 1.26.4"]),
        ([("morphlib", "0.1.0"), ("pyfftw", "0.15.1")], ["pyfftw 0.15.1 would be added, which Colab's runtime does not have"]),
    ],
)
def test_the_install_check_names_what_would_change(items, problems):
    assert install_problems(_report(*items), read_pins()) == problems
