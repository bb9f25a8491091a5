import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from morphlib.plots import play, plot_history, plot_strip, specplot  # noqa: E402

from .conftest import TINY  # noqa: E402


def test_specplot_labels_and_reuses_the_axes():
    _, ax = plt.subplots()
    S = np.random.default_rng(0).random(TINY.shape)
    assert specplot(S, TINY, ax=ax, title="A") is ax
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "frequency (Hz)"
    assert ax.figure.axes[-1].get_ylabel() == "level (dB)"
    x0, x1, y0, y1 = ax.images[0].get_extent()
    assert x1 == TINY.n_frames * TINY.hop_length / TINY.sr and y1 == TINY.sr / 2
    plt.close("all")


def test_specplot_survives_silence_and_nan():
    S = np.zeros(TINY.shape)
    S[0, 0] = np.nan
    ax = specplot(S, TINY)
    assert np.all(np.isfinite(ax.images[0].get_array()))
    plt.close("all")


def test_strip_shares_one_scale():
    S = np.random.default_rng(0).random(TINY.shape)
    axes = plot_strip([S, 0.1 * S], TINY, titles=["loud", "quiet"])
    a, b = (ax.images[0].get_array() for ax in axes)
    assert abs(np.max(a)) < 1e-4 and np.max(b) == pytest.approx(-20, abs=1e-3)  # on one scale
    plt.close("all")


def test_history_plot():
    ax = plot_history([{"epoch": 1, "loss": 2.0, "mse": 1.9}, {"epoch": 2, "loss": 1.0, "mse": 0.9}])
    assert ax.get_xlabel() == "epoch" and len(ax.lines) == 2
    plt.close("all")


def test_play_never_clips():
    audio = play(np.array([0.0, 2.0, -4.0]), 22050)
    assert audio.data[:4] == b"RIFF"
