import numpy as np
import pytest

from morphlib.config import AnalysisSettings
from morphlib.errors import ParameterError
from morphlib.sound.phase import _peak_of_each_bin, pghi
from morphlib.sound.spectral import griffin_lim, magnitude, reconstructor, spectral_convergence

SET = AnalysisSettings(sr=16000, n_fft=512, hop_length=128, n_frames=64)


def drum_like(settings, seed=0):
    """Decaying noise bursts and a pitched kick: transients and partials, as drum loops have."""
    rng = np.random.default_rng(seed)
    n, sr = settings.n_samples, settings.sr
    t = np.arange(n) / sr
    y = np.zeros(n)
    for start in (0.0, 0.25, 0.5, 0.625, 0.75):
        k = int(start * n)
        rest = t[: n - k]
        y[k:] += np.sin(2 * np.pi * (60 + 120 * np.exp(-rest * 30)) * rest) * np.exp(-rest * 8)
        y[k:] += 0.3 * rng.normal(size=n - k) * np.exp(-rest * 40)
    return y.astype(np.float32)


def consistency(S, phase, settings):
    y = reconstructor(settings).istft((S * np.exp(1j * phase)).T.astype(np.complex64), settings.n_samples)
    return spectral_convergence(S, magnitude(y, settings))


def test_pghi_alone_is_far_closer_than_random_phase():
    S = magnitude(drum_like(SET), SET)
    random = np.random.default_rng(0).uniform(-np.pi, np.pi, S.shape)
    assert consistency(S, pghi(S, SET), SET) < 0.5 * consistency(S, random, SET)


def test_pghi_start_beats_random_start_at_equal_iterations():
    S = magnitude(drum_like(SET, seed=1), SET)
    for n_iter in (4, 16):
        ours = spectral_convergence(S, magnitude(griffin_lim(S, SET, n_iter=n_iter, init="pghi"), SET))
        theirs = spectral_convergence(S, magnitude(griffin_lim(S, SET, n_iter=n_iter, seed=0), SET))
        assert ours < theirs, n_iter


def test_pghi_follows_a_steady_tone_as_the_stft_does():
    # a tone between bins: its true phase advances by 2 pi f hop / sr per frame
    f = 1000.3
    y = np.sin(2 * np.pi * f * np.arange(SET.n_samples) / SET.sr).astype(np.float32)
    S = magnitude(y, SET)
    k = int(round(f * SET.n_fft / SET.sr))
    advance = np.angle(np.exp(1j * np.diff(pghi(S, SET)[k, 8:-8])))
    expected = np.angle(np.exp(1j * 2 * np.pi * f * SET.hop_length / SET.sr))
    np.testing.assert_allclose(advance, expected, atol=0.05)


@pytest.mark.parametrize("S", [np.zeros(SET.shape), np.full(SET.shape, 1e-3), np.eye(SET.n_bins, SET.n_frames)])
def test_pghi_is_finite_and_in_range_for_any_magnitude(S):
    phase = pghi(S, SET)
    assert phase.shape == SET.shape and phase.dtype == np.float32
    assert np.all(np.isfinite(phase)) and np.all(phase >= -np.pi) and np.all(phase < np.pi + 1e-6)


def test_each_bin_belongs_to_the_peak_of_its_slope():
    logs = np.array([[0.0, 2.0, 5.0, 3.0, 1.0, 4.0, 4.5, 2.0]]).T  # peaks at bins 2 and 6, valley at 4
    assert _peak_of_each_bin(logs)[:, 0].tolist() == [2, 2, 2, 2, 6, 6, 6, 6]


@pytest.mark.parametrize("init, match", [("heap", "init must be one of"), (np.zeros((3, 3)), "init must be a phase of shape")])
def test_griffin_lim_names_a_bad_start(init, match):
    with pytest.raises(ParameterError, match=match):
        griffin_lim(np.ones(SET.shape), SET, init=init)


def test_zero_iterations_give_the_start_as_it_is():
    S = magnitude(drum_like(SET), SET)
    y = griffin_lim(S, SET, n_iter=0, init="pghi")
    assert spectral_convergence(S, magnitude(y, SET)) == pytest.approx(consistency(S, pghi(S, SET), SET), rel=1e-3)
