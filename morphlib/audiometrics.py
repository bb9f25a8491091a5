"""What the listener hears: figures that compare resynthesised audio with the original loop.

The tutorial judges a model by the cosine of its linear magnitudes, which hardly notices
quiet bins. These measures work on the audio that comes out of the speaker (after phase
reconstruction), in decibels and in time, where decays, hats and ghost notes count.
"""

import numpy as np

from .evaluation import LSD_TOP_DB, log_spectral_distance
from .spectral import magnitude

#: Energy above this frequency (Hz) stands for hats, cymbals and transients.
HF_CUTOFF = 4000.0


def audible_lsd(S_ref, y, settings, *, top_db=LSD_TOP_DB):
    """Log-spectral distance (dB) of audio ``y`` from the original's magnitude ``S_ref``.

    Both are floored ``top_db`` below the original's peak (what a listener can hear of it).

    Parameters
    ----------
    S_ref : np.ndarray [shape=(n_bins, n_frames)]
        The original loop's linear magnitude.
    y : np.ndarray [shape=(n,)]
        Audio at ``settings.sr``.
    settings : AnalysisSettings
    """
    return log_spectral_distance(S_ref, _mag(y, settings, S_ref.shape[1]), top_db=top_db)


def hf_energy_db(S_ref, y, settings, *, cutoff=HF_CUTOFF):
    """Energy of ``y`` above ``cutoff`` Hz relative to the original's, in dB (0 is equal).

    Returns -120 when ``y`` has none there and +120 when only ``y`` has some.
    """
    M = _mag(y, settings, S_ref.shape[1])
    bins = np.fft.rfftfreq(settings.n_fft, 1 / settings.sr) >= cutoff
    ref, out = float(np.sum(np.square(S_ref[bins], dtype=np.float64))), float(np.sum(np.square(M[bins], dtype=np.float64)))
    if ref == 0 or out == 0:
        return 0.0 if ref == out else (-120.0 if out == 0 else 120.0)
    return float(np.clip(10 * np.log10(out / ref), -120, 120))


def onset_correlation(y_ref, y, settings):
    """Pearson correlation of the onset-strength envelopes of ``y_ref`` and ``y`` (1 is the same rhythm and accents)."""
    import librosa

    kwargs = dict(sr=settings.sr, n_fft=settings.n_fft, hop_length=settings.hop_length)
    a = librosa.onset.onset_strength(y=np.asarray(y_ref, np.float32), **kwargs)
    b = librosa.onset.onset_strength(y=np.asarray(y, np.float32), **kwargs)
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0
    return float(np.dot(a, b) / (na * nb))


def consistency_db(S_target, y, settings):
    """How far |STFT(y)| is from the magnitude the phase reconstruction was given, in dB
    (spectral convergence; lower is better, -inf is exact)."""
    M = _mag(y, settings, S_target.shape[1])
    num = np.linalg.norm((np.asarray(S_target, np.float64) - M).ravel())
    den = np.linalg.norm(np.asarray(S_target, np.float64).ravel())
    if den == 0:
        return 0.0
    return float(20 * np.log10(max(num / den, 1e-12)))


def zero_fraction(S):
    """Fraction of bins that are exactly 0: the holes a ReLU output carves."""
    S = np.asarray(S)
    return float(np.mean(S == 0)) if S.size else 0.0


def audio_figures(S_ref, y_ref, S_out, y_out, settings):
    """All the audio-domain figures of one resynthesised loop.

    Parameters
    ----------
    S_ref, y_ref : the original's magnitude and audio
    S_out : the magnitude given to the phase reconstruction
    y_out : the audio it produced
    settings : AnalysisSettings

    Returns
    -------
    figures : dict
        ``audio_lsd_db``, ``hf_db``, ``onset_corr``, ``consistency_db``.
    """
    return {
        "audio_lsd_db": audible_lsd(S_ref, y_out, settings),
        "hf_db": hf_energy_db(S_ref, y_out, settings),
        "onset_corr": onset_correlation(y_ref, y_out, settings),
        "consistency_db": consistency_db(S_out, y_out, settings),
    }


def _mag(y, settings, n_frames):
    M = magnitude(np.asarray(y, np.float32), settings)
    if M.shape[1] < n_frames:
        M = np.pad(M, ((0, 0), (0, n_frames - M.shape[1])))
    return M[:, :n_frames]


def morph_steadiness(model, loops, pairs, *, steps=10):
    """Whether morphs move steadily from A to B.

    For each pair, α runs from 0 to 1 in ``steps`` steps; the decoded magnitude's
    log-spectral distance to A's and to B's original magnitude is measured at each α.

    Parameters
    ----------
    model : MorphModel
    loops : LoopSet
    pairs : sequence of (int, int)
    steps : int > 0

    Returns
    -------
    figures : dict
        ``steady``: the fraction of steps at which the distance to A grew and the
        distance to B shrank (each counted); ``balance``: the mean of
        ``d_A / (d_A + d_B)`` at α = 0.5 (0.5 is neither side dominating);
        ``balanced``: the fraction of pairs with that share within [0.4, 0.6].
    """
    from .morphing import interpolate

    alphas = np.linspace(0.0, 1.0, steps + 1)
    z = model.encode(loops.S)
    ok, total, shares = 0, 0, []
    for i, j in pairs:
        S = model.decode(np.stack([interpolate(z[i], z[j], a) for a in alphas]))
        d_a = np.array([log_spectral_distance(loops.S[i], s) for s in S])
        d_b = np.array([log_spectral_distance(loops.S[j], s) for s in S])
        ok += int(np.sum(np.diff(d_a) > 0) + np.sum(np.diff(d_b) < 0))
        total += 2 * steps
        mid = steps // 2
        shares.append(d_a[mid] / max(d_a[mid] + d_b[mid], 1e-12))
    shares = np.array(shares)
    return {
        "steady": ok / total if total else 1.0,
        "balance": float(shares.mean()) if len(shares) else 0.5,
        "balanced": float(np.mean(np.abs(shares - 0.5) <= 0.1)) if len(shares) else 1.0,
    }
