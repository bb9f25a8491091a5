import numpy as np
import pytest

from morphlib.config import AnalysisSettings
from morphlib.errors import ParameterError
from morphlib.sound.spectral import griffin_lim, magnitude, spectral_convergence, to_db

from .conftest import TINY, tone_burst


def test_tutorial_length_gives_tutorial_frames():
    s = AnalysisSettings()
    assert magnitude(np.zeros(s.n_samples), s).shape == (1025, 148)
    assert magnitude(np.zeros(75600), s).shape == (1025, 148)  # the tutorial's 3.43 s files


def test_griffin_lim_is_reproducible_and_close():
    y = tone_burst(TINY.n_samples, TINY.sr)
    S = magnitude(y, TINY)
    a = griffin_lim(S, TINY, n_iter=50, seed=3)
    b = griffin_lim(S, TINY, n_iter=50, seed=3)
    c = griffin_lim(S, TINY, n_iter=50, seed=4)
    assert a.shape == (TINY.n_samples,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert spectral_convergence(S, magnitude(a, TINY)) < 0.3


@pytest.mark.parametrize("shape", [(10, 16), (129,), (2, 129, 16)])
def test_griffin_lim_rejects_wrong_shapes(shape):
    with pytest.raises(ParameterError, match="shape"):
        griffin_lim(np.ones(shape), TINY)


def test_griffin_lim_survives_nan_and_zero():
    S = np.zeros(TINY.shape)
    S[3, 3] = np.nan
    assert np.all(np.isfinite(griffin_lim(S, TINY, n_iter=2)))


def test_to_db_is_finite_and_floored():
    db = to_db(np.array([[0.0, 1.0, np.nan, 1e-12]]))
    assert np.all(np.isfinite(db)) and db.max() == 0 and db.min() == -80


@pytest.mark.parametrize("S, S_hat, expected", [(np.ones(4), np.ones(4), 0.0), (np.ones(4), np.zeros(4), 1.0), (np.zeros(4), np.zeros(4), 0.0), (np.zeros(4), np.ones(4), 1.0)])
def test_spectral_convergence(S, S_hat, expected):
    assert spectral_convergence(S, S_hat) == expected


def test_magnitude_equals_librosa():
    import librosa

    y = tone_burst(TINY.n_samples, TINY.sr)
    ref = np.abs(librosa.stft(y, n_fft=TINY.n_fft, hop_length=TINY.hop_length))
    np.testing.assert_allclose(magnitude(y, TINY), ref, rtol=1e-4, atol=1e-4 * ref.max())
    np.testing.assert_allclose(magnitude(np.stack([y, 2 * y]), TINY)[1], 2 * ref, rtol=1e-4, atol=1e-3 * ref.max())


def test_griffin_lim_as_good_as_librosa():
    from morphlib.sound.spectral import griffin_lim_librosa

    S = magnitude(tone_burst(TINY.n_samples, TINY.sr, seed=5), TINY)
    ours = np.mean([spectral_convergence(S, magnitude(griffin_lim(S, TINY, seed=k), TINY)) for k in range(4)])
    ref = np.mean([spectral_convergence(S, magnitude(griffin_lim_librosa(S, TINY, seed=k), TINY)) for k in range(4)])
    assert ours <= 1.1 * ref


def test_a_warm_start_from_a_neighbour_beats_random_phase_at_equal_iterations():
    from morphlib.sound.spectral import griffin_lim, magnitude, phase_of, spectral_convergence

    settings = TINY
    rng = np.random.default_rng(0)
    t = np.arange(settings.n_samples) / settings.sr
    y = (np.sin(2 * np.pi * 300 * t) * np.exp(-t / 0.03) + 0.1 * rng.standard_normal(len(t)) * np.exp(-t / 0.01)).astype(np.float32)
    S_prev, S_next = magnitude(y, settings), magnitude(1.1 * y, settings)  # a small step, as a slider makes
    previous = griffin_lim(S_prev, settings, n_iter=32)
    cold = griffin_lim(S_next, settings, n_iter=4)
    warm = griffin_lim(S_next, settings, n_iter=4, init=phase_of(previous, settings))
    error = lambda out: spectral_convergence(S_next, magnitude(out, settings))  # noqa: E731
    assert error(warm) < 0.5 * error(cold)
    with pytest.raises(ParameterError, match="init must be a phase of shape"):
        griffin_lim(S_next, settings, init=np.zeros((3, 3)))
