"""Magnitude spectrograms and phase reconstruction (Griffin-Lim)."""

import numpy as np

from .config import AnalysisSettings, check_int
from .errors import ParameterError


def magnitude(y, settings=None):
    """|STFT| of a signal, as the tutorial computes it (Hann window, centred frames).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (..., n)]
        Signal at ``settings.sr``.
    settings : AnalysisSettings or None
        ``n_fft`` (= window length) and ``hop_length``; default: the tutorial's.

    Returns
    -------
    S : np.ndarray [shape=(..., n_bins, 1 + n // hop_length), dtype=float32]
        Linear magnitude, >= 0.
    """
    import librosa

    settings = settings or AnalysisSettings()
    y = np.asarray(y, dtype=np.float32)
    S = np.abs(librosa.stft(y, n_fft=settings.n_fft, hop_length=settings.hop_length, win_length=settings.n_fft))
    return S.astype(np.float32)


def to_db(S, *, ref=1.0, top_db=80.0):
    """Magnitude to decibels, floored ``top_db`` below the peak (finite everywhere).

    Parameters
    ----------
    S : np.ndarray
        Linear magnitude.
    ref : float > 0
        Magnitude that maps to 0 dB.
    top_db : float > 0

    Returns
    -------
    S_db : np.ndarray [shape=S.shape]
    """
    import librosa

    S = np.nan_to_num(np.asarray(S, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return librosa.amplitude_to_db(np.maximum(S, 0), ref=ref, top_db=top_db)


def griffin_lim(S, settings=None, *, n_iter=32, seed=0, momentum=0.99):
    """Estimate a waveform whose |STFT| is ``S`` (librosa's fast Griffin-Lim).

    Parameters
    ----------
    S : np.ndarray [shape=(n_bins, n_frames)]
        Non-negative linear magnitude.
    settings : AnalysisSettings or None
    n_iter : int > 0
        Iterations (tutorial: 32).
    seed : int >= 0
        Seeds the random initial phase, so the same call gives the same audio.
    momentum : float in [0, 1)
        Fast Griffin-Lim's momentum (0 is the classic algorithm).

    Returns
    -------
    y : np.ndarray [shape=((n_frames - 1) * hop_length,), dtype=float32]
    """
    import librosa

    settings = settings or AnalysisSettings()
    n_iter = check_int("n_iter", n_iter, low=1, high=10000)
    S = np.asarray(S, dtype=np.float32)
    if S.ndim != 2 or S.shape[0] != settings.n_bins:
        raise ParameterError(
            f"S must have shape (n_bins={settings.n_bins}, n_frames), got {S.shape}"
        )
    S = np.maximum(np.nan_to_num(S, nan=0.0, posinf=0.0, neginf=0.0), 0.0)
    y = librosa.griffinlim(
        S,
        n_iter=n_iter,
        hop_length=settings.hop_length,
        win_length=settings.n_fft,
        n_fft=settings.n_fft,
        momentum=momentum,
        init="random",
        random_state=np.random.default_rng(check_int("seed", seed, low=0)),
        length=(S.shape[1] - 1) * settings.hop_length,
    )
    return y.astype(np.float32)


def spectral_convergence(S, S_hat):
    """``||S - S_hat||_F / ||S||_F``: 0 is perfect (finite even when S is all zero).

    Parameters
    ----------
    S, S_hat : np.ndarray [same shape]
        Reference and estimate, linear magnitude.
    """
    S, S_hat = np.asarray(S, np.float64), np.asarray(S_hat, np.float64)
    num = np.linalg.norm((S - S_hat).ravel())
    den = np.linalg.norm(S.ravel())
    if den == 0:
        return 0.0 if num == 0 else 1.0
    return float(num / den)
