import numpy as np
import pytest

from morphlib.audiometrics import audible_lsd, consistency_db, hf_energy_db, onset_correlation, zero_fraction
from morphlib.config import AnalysisSettings
from morphlib.spectral import griffin_lim, magnitude

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
