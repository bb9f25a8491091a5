import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from morphlib.ui.plots import play, plot_history, plot_strip, plot_sweep, specplot  # noqa: E402

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


def test_plot_sweep_draws_alpha_over_time(tiny_model, tiny_loops):
    from morphlib.morphing.sweeps import sweep

    m = sweep(tiny_model, 0, 1, curve="triangle", n_loops=2, loops=tiny_loops, n_iter=2)
    ax = plot_sweep(m, TINY)
    assert ax.get_xlabel() == "time (s)" and ax.curve_axes.get_ylabel() == "α (0 = A, 1 = B)"
    line = ax.curve_axes.lines[0]
    np.testing.assert_allclose(line.get_ydata(), m.path)
    assert line.get_xdata()[-1] == pytest.approx(2 * TINY.n_samples / TINY.sr)
    plt.close("all")


def test_spectrogram_strip_paints_without_redrawing():
    from morphlib.ui.panel.picture import SpectrogramStrip

    strip = SpectrogramStrip(TINY, ["A", "morph", "B"], ref=1.0)
    quiet, loud = np.full(TINY.shape, 1e-6, np.float32), np.ones(TINY.shape, np.float32)
    strip.paint(1, quiet)
    dark = strip.png()
    top, bottom, left, right = strip.boxes[1]
    assert strip.rgba[top:bottom, left:right].mean() < 20  # -80 dB is black in magma
    strip.paint(1, loud)
    assert strip.rgba[top:bottom, left:right].mean() > 200 and strip.png() != dark
    t0, b0, l0, r0 = strip.boxes[0]
    assert strip.rgba[t0:b0, l0:r0].mean() < 20  # the other panels are left as they were
