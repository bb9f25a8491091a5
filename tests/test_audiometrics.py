import numpy as np
import pytest

from morphlib.sound.audiometrics import (
    audible_lsd,
    consistency_db,
    hf_energy_db,
    intermediateness,
    layered_share,
    log_mel,
    morph_path_figures,
    onset_correlation,
    onset_sharpness,
    smoothness,
    zero_fraction,
)
from morphlib.config import AnalysisSettings
from morphlib.sound.spectral import griffin_lim, magnitude

SETTINGS = AnalysisSettings(sr=16000, n_fft=512, hop_length=128, n_frames=126)


def _hits(*, hats=True, shift=0, seed=0):
    """Kicks (a low decaying tone) and, optionally, hats (short bursts of noise) as a loop."""
    n, sr = SETTINGS.n_samples, SETTINGS.sr
    rng = np.random.default_rng(seed)
    y = np.zeros(n, np.float32)
    t = np.arange(2000) / sr
    for start in range(shift, n - 2000, 4000):
        y[start:start + 2000] += np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.05)
        if hats:
            y[start + 2000:start + 2400] += 0.3 * rng.standard_normal(400) * np.exp(-np.arange(400) / 80)
    return y


def test_lsd_and_high_frequency_energy_hear_what_is_missing():
    S = magnitude(_hits(), SETTINGS)
    same, no_hats, silence = _hits(), _hits(hats=False), np.zeros(SETTINGS.n_samples, np.float32)
    lsd = [audible_lsd(S, y, SETTINGS) for y in (same, no_hats, silence)]
    assert lsd[0] < 0.01 < 3.0 < lsd[1] < lsd[2]
    assert hf_energy_db(S, same, SETTINGS) == pytest.approx(0.0, abs=0.01)
    assert -120 < hf_energy_db(S, no_hats, SETTINGS) < -20  # the hats gone: much less above 4 kHz
    assert hf_energy_db(S, silence, SETTINGS) == -120.0
    assert hf_energy_db(S, 2 * same, SETTINGS) == pytest.approx(20 * np.log10(2), abs=0.01)


def test_onset_correlation_hears_the_rhythm():
    y = _hits()
    assert onset_correlation(y, y, SETTINGS) == pytest.approx(1.0)
    assert onset_correlation(y, _hits(shift=1000), SETTINGS) < 0.5  # the same hits, off the beat
    assert onset_correlation(y, np.zeros_like(y), SETTINGS) == 0.0


def test_consistency_improves_with_iterations():
    S = magnitude(_hits(), SETTINGS)
    few, many = (consistency_db(S, griffin_lim(S, SETTINGS, n_iter=n), SETTINGS) for n in (1, 64))
    assert many < few < 0
    assert consistency_db(S, _hits(), SETTINGS) < -60  # the real signal is exactly consistent


def test_zero_fraction():
    assert zero_fraction(np.array([0.0, 1.0, 0.0, 2.0])) == 0.5 and zero_fraction(np.zeros(0)) == 0.0


def test_onset_sharpness_hears_hits_washed_out():
    hits = _hits()
    wash = hits + 0.3 * np.random.default_rng(1).standard_normal(len(hits)).astype(np.float32)
    sharp, washed = onset_sharpness(hits, SETTINGS), onset_sharpness(wash, SETTINGS)
    assert sharp > 3 and washed < 0.6 * sharp
    assert onset_sharpness(np.zeros_like(hits), SETTINGS) == 0.0


def _bursts(starts, seed=0):
    """Short decaying noise bursts (no abrupt ends) at the given samples."""
    y, rng = np.zeros(SETTINGS.n_samples, np.float32), np.random.default_rng(seed)
    for start in starts:
        y[start:start + 1600] += rng.standard_normal(1600).astype(np.float32) * np.exp(-np.arange(1600) / 200)
    return y


@pytest.mark.parametrize(
    "mid, share",
    [("a", (0.45, 0.55)), ("both", (0.95, 1.0)), ("silence", (0.0, 0.0))],
)
def test_layered_share_counts_the_ends_hits_the_middle_keeps(mid, share):
    a, b = _bursts(range(0, 14000, 4000)), _bursts(range(2000, 14000, 4000), seed=1)  # four hits each, half a beat apart
    y = {"a": a, "both": a + b, "silence": np.zeros_like(a)}[mid]
    assert share[0] <= layered_share(y, a, b, SETTINGS) <= share[1]


def test_smoothness_and_intermediateness_of_a_path():
    a, b = _bursts(range(0, 14000, 4000)), _bursts(range(2000, 14000, 4000), seed=1)
    alphas = np.linspace(0, 1, 11)
    fade = [(1 - t) * a + t * b for t in alphas]
    jump = [a if t < 0.5 else b for t in alphas]
    mels_fade, mels_jump = [log_mel(y, SETTINGS) for y in fade], [log_mel(y, SETTINGS) for y in jump]
    # one step of ten that moves: the spread of the steps is sqrt(9); a crossfade steps far more evenly
    assert smoothness(mels_jump) == pytest.approx(3.0) and smoothness(mels_fade) < 1.5
    A, B = log_mel(a, SETTINGS), log_mel(b, SETTINGS)
    assert intermediateness(A, A, B) == 0.0 and intermediateness(B, A, B) == 1.0
    assert 0.3 < intermediateness(mels_fade[5], A, B) < 0.7


def test_the_figures_of_a_path_compare_the_middle_with_its_ends():
    a, b = _hits(), _hits(hats=False, shift=2000)
    alphas = sorted(set(np.round(np.linspace(0, 1, 11), 2)) | {0.25, 0.75})
    fade = morph_path_figures([(1 - t) * a + t * b for t in alphas], alphas, SETTINGS)
    assert set(fade) == {"sharpness_0.25", "sharpness_0.5", "sharpness_0.75", "layered", "smoothness", "intermediateness"}
    assert fade["layered"] > 0.9  # a crossfade of two patterns plays both
    same = morph_path_figures([a for _ in alphas], alphas, SETTINGS)
    assert same["sharpness_0.5"] == pytest.approx(1.0) and same["smoothness"] == 0.0
