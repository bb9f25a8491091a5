import os

os.environ.setdefault("MORPHLIB_FAST", "1")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import shutil  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from morphlib.config import AnalysisSettings  # noqa: E402

def require_programs(*programs, install, why):
    """Skip unless the system programs are installed, saying which and why; in CI (``CI`` or
    ``MORPHLIB_REQUIRE_PROGRAMS`` set), which installs them, fail instead: a fresh machine
    with only what requirements.txt installs passes the README's command, CI checks them all."""
    missing = [p for p in programs if shutil.which(p) is None]
    if not missing:
        return
    message = f"needs {', '.join(missing)} ({install}): {why}"
    if os.environ.get("CI") or os.environ.get("MORPHLIB_REQUIRE_PROGRAMS"):
        pytest.fail(message + "; CI installs it")
    pytest.skip(message)


#: Small enough that a model trains in a second: 0.12 s loops, 129 x 16 spectrograms.
TINY = AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=16)


def tone_burst(n, sr, *, freq=220.0, decay=0.05, level=0.5, seed=0):
    """A decaying tone plus a little noise: a drum-like test signal."""
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    y = np.sin(2 * np.pi * freq * t) * np.exp(-t / decay) + 0.05 * rng.standard_normal(n) * np.exp(-t / 0.01)
    return (level * y / np.max(np.abs(y))).astype(np.float32)


def write_loops(folder, n=6, *, settings=TINY, sr=None):
    """``n`` short distinct WAV files, named like a sample pack."""
    os.makedirs(folder, exist_ok=True)
    sr = sr or settings.sr
    paths = []
    for k in range(n):
        y = tone_burst(settings.n_samples * sr // settings.sr, sr, freq=100 + 70 * k, decay=0.02 + 0.01 * k, seed=k)
        path = os.path.join(folder, f"Loop {chr(65 + k)}.wav")
        sf.write(path, y, sr, subtype="PCM_16")
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_loops")
    write_loops(folder, 6)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_loops(tiny_folder):
    from morphlib.data.dataset import load_folder

    return load_folder(tiny_folder, TINY, progress=False)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_loops, tmp_path_factory):
    from morphlib.training.trainer import train

    model_dir = str(tmp_path_factory.mktemp("models") / "tiny")
    train(tiny_loops, model_dir, epochs=3, preset="tiny", progress=False, verbose=False)
    return model_dir


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from morphlib.model.morphmodel import load_model

    return load_model(tiny_model_dir)


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (``-n 2 --dist loadgroup``), a module's tests run on one worker, so
    its module fixtures (a Jupyter server, the notebooks run once) are made once; the
    notebooks' cells under nbval run on one worker in order (03 opens the model 02 trained);
    the benchmarks' quick runs, each a process of its own, are shared out one by one."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        module = getattr(item, "module", None)
        name = module.__name__ if module is not None else item.nodeid.split("::")[0]
        if name.startswith("notebooks/"):
            name = "notebooks"
        if not name.endswith("test_benchmarks"):
            item.add_marker(pytest.mark.xdist_group(name))


@pytest.fixture(scope="session", autouse=True)
def strict_widget_delivery():
    """From the first test on, any widget message sent outside a front-end message's handler
    raises (``MORPHLIB_STRICT_WIDGETS``, set by the root conftest), whatever test runs first."""
    if os.environ.get("MORPHLIB_STRICT_WIDGETS", "") not in {"1", "true", "yes", "on"}:
        return
    try:
        from morphlib.ui.panel.delivery import strict
    except ImportError:  # ipywidgets missing: no widget to check
        return
    strict()
