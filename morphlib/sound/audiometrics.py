"""Measures of spectrograms and of the audio a listener hears: plain functions of arrays.

The tutorial judges a model by the cosine of its linear magnitudes, which hardly notices
quiet bins. Most measures here work on the audio that comes out of the speaker (after phase
reconstruction), in decibels and in time, where decays, hats and ghost notes count; the
morph measures judge a path from A to B: how sharply its hits stand out, how many of both
ends' hits it layers, whether its steps are even, and whether its middle lies between.
``morphlib.morphing.evaluation`` applies them to a model and a loop set; nothing here knows of models.
"""

import numpy as np

from .spectral import magnitude

#: Floor under the log in the log-spectral distance, relative to the reference's peak:
#: -80 dB, the range a spectrogram plot shows, so that bins the model leaves at exactly
#: zero count as "inaudibly quiet" rather than as minus infinity.
LSD_TOP_DB = 80.0


def cosine_similarity(a, b):
    """Cosine of the angle between two flattened arrays, in [-1, 1] and never NaN.

    Two all-zero arrays count as identical (1.0); one all-zero array as unrelated (0.0);
    NaN and infinite values count as 0.
    """
    a = np.nan_to_num(np.ravel(np.asarray(a, np.float64)), nan=0.0, posinf=0.0, neginf=0.0)
    b = np.nan_to_num(np.ravel(np.asarray(b, np.float64)), nan=0.0, posinf=0.0, neginf=0.0)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0
    return float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))


def log_spectral_distance(S, S_hat, *, top_db=LSD_TOP_DB):
    """Root-mean-square difference in dB per frame, averaged over frames.

    Parameters
    ----------
    S, S_hat : np.ndarray [shape=(n_bins, n_frames)]
        Reference and estimate, linear magnitudes. Values more than ``top_db`` below
        the reference's peak count as that floor.
    top_db : float > 0

    Returns
    -------
    lsd : float >= 0
        In dB; 0 is perfect.
    """
    S = np.nan_to_num(np.asarray(S, np.float64))
    S_hat = np.nan_to_num(np.asarray(S_hat, np.float64))
    floor = max(float(np.max(S, initial=0.0)), 1e-10) * 10 ** (-top_db / 20)
    S, S_hat = np.maximum(S, floor), np.maximum(S_hat, floor)
    diff = 20 * np.log10(S / S_hat)
    return float(np.mean(np.sqrt(np.mean(diff**2, axis=0))))

#: Energy above this frequency (Hz) stands for hats, cymbals and transients.
HF_CUTOFF = 4000.0
#: Where the "air" of cymbals and hats begins, Hz: what a 22,050 Hz model cannot make.
AIR_CUTOFF = 11000.0


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
        ``audio_lsd_db``, ``hf_db``, ``onset_corr``, ``consistency_db``, and at rates that
        reach well above 11 kHz (``sr`` >= 32 kHz), ``air_db``: the energy above 11 kHz
        relative to the original's.
    """
    figures = {
        "audio_lsd_db": audible_lsd(S_ref, y_out, settings),
        "hf_db": hf_energy_db(S_ref, y_out, settings),
        "onset_corr": onset_correlation(y_ref, y_out, settings),
        "consistency_db": consistency_db(S_out, y_out, settings),
    }
    if settings.sr >= 32000:
        figures["air_db"] = hf_energy_db(S_ref, y_out, settings, cutoff=AIR_CUTOFF)
    return figures


def _mag(y, settings, n_frames):
    M = magnitude(np.asarray(y, np.float32), settings)
    if M.shape[1] < n_frames:
        M = np.pad(M, ((0, 0), (0, n_frames - M.shape[1])))
    return M[:, :n_frames]


# --- morphs: a path of audio from A (alpha 0) to B (alpha 1) ---------------------------

#: Onsets of two signals closer than this many frames count as the same hit.
ONSET_TOLERANCE = 2


def onset_envelope(y, settings):
    """librosa's onset-strength envelope of ``y`` [shape=(n_frames,)], at ``settings``' hop."""
    import librosa

    return librosa.onset.onset_strength(y=np.asarray(y, np.float32), sr=settings.sr, n_fft=settings.n_fft,
                                        hop_length=settings.hop_length)


def onset_frames(y, settings, *, envelope=None):
    """The frames where ``y``'s hits start (librosa's onset detection)."""
    import librosa

    env = onset_envelope(y, settings) if envelope is None else envelope
    return librosa.onset.onset_detect(onset_envelope=env, sr=settings.sr, hop_length=settings.hop_length)


def onset_sharpness(y, settings):
    """How sharply ``y``'s hits stand out: the onset-strength envelope at its detected onsets
    (their mean) over the envelope's median. 1 is no hit above the background; silence is 0."""
    env = onset_envelope(y, settings)
    hits = onset_frames(y, settings, envelope=env)
    peak = float(np.mean(env[hits])) if len(hits) else float(np.max(env, initial=0.0))
    median = float(np.median(env)) if env.size else 0.0
    if peak <= 0:
        return 0.0
    return peak / max(median, 1e-3 * peak)


def layered_share(y_mid, y_a, y_b, settings, *, tolerance=ONSET_TOLERANCE):
    """The share of the union of both ends' onsets that ``y_mid`` has too, in [0, 1].

    A morph that lays both patterns over each other keeps every hit of both (1.0); one that
    moves between them keeps fewer. Onsets within ``tolerance`` frames are one hit.
    """
    ends = np.sort(np.concatenate([onset_frames(y_a, settings), onset_frames(y_b, settings)]))
    union = [f for k, f in enumerate(ends) if k == 0 or f - ends[k - 1] > tolerance]
    if not union:
        return 0.0
    mid = onset_frames(y_mid, settings)
    return float(np.mean([np.any(np.abs(mid - f) <= tolerance) for f in union])) if len(mid) else 0.0


def log_mel(y, settings, *, n_mels=64, top_db=LSD_TOP_DB):
    """The log-mel spectrogram of ``y`` in dB [shape=(n_mels, n_frames)], floored ``top_db``
    below its peak: a distance on it weighs frequencies as the ear roughly does."""
    import librosa

    M = librosa.feature.melspectrogram(y=np.asarray(y, np.float32), sr=settings.sr, n_fft=settings.n_fft,
                                       hop_length=settings.hop_length, n_mels=n_mels, power=2.0)
    return librosa.power_to_db(M, ref=np.max, top_db=top_db) if np.any(M > 0) else np.full_like(M, -top_db)


def log_mel_distance(M, M_hat):
    """Root-mean-square difference in dB of two log-mel spectrograms, averaged over frames."""
    n = min(M.shape[1], M_hat.shape[1])
    diff = np.asarray(M[:, :n], np.float64) - np.asarray(M_hat[:, :n], np.float64)
    return float(np.mean(np.sqrt(np.mean(diff**2, axis=0))))


def smoothness(mels):
    """How evenly a path steps: the spread (coefficient of variation) of the log-mel distances
    between consecutive steps. 0 is perfectly even; a path that jumps once and stands
    still otherwise is far from 0."""
    steps = np.array([log_mel_distance(a, b) for a, b in zip(mels[:-1], mels[1:])])
    mean = float(np.mean(steps)) if len(steps) else 0.0
    return float(np.std(steps) / mean) if mean > 0 else 0.0


def intermediateness(mel_mid, mel_a, mel_b):
    """The middle's log-mel distance to A over the sum of its distances to A and B: 0.5 lies
    halfway, 0 is A itself, 1 is B."""
    d_a, d_b = log_mel_distance(mel_a, mel_mid), log_mel_distance(mel_b, mel_mid)
    return d_a / (d_a + d_b) if d_a + d_b > 0 else 0.5


def morph_path_figures(ys, alphas, settings, *, mids=(0.25, 0.5, 0.75)):
    """The morph figures of one path of audio from A to B.

    Parameters
    ----------
    ys : list of np.ndarray [shape=(n,)]
        The audio at each of ``alphas``.
    alphas : sequence of float
        Increasing from 0 (A) to 1 (B); must hold the ``mids``.
    settings : AnalysisSettings
    mids : sequence of float

    Returns
    -------
    figures : dict
        ``sharpness_<α>`` (the onset sharpness at α over the mean of the ends'), ``layered``
        (``layered_share`` at α = 0.5), ``smoothness`` (over the steps of ``alphas`` that are
        not in ``mids`` unless they fall on the grid) and ``intermediateness`` (at 0.5).
    """
    alphas = [round(float(a), 6) for a in alphas]
    at = dict(zip(alphas, ys))
    ends = (onset_sharpness(at[0.0], settings) + onset_sharpness(at[1.0], settings)) / 2
    out = {f"sharpness_{m:g}": (onset_sharpness(at[round(m, 6)], settings) / ends if ends > 0 else 0.0) for m in mids}
    out["layered"] = layered_share(at[0.5], at[0.0], at[1.0], settings)
    grid = [a for a in alphas if round(a * 10, 6) == round(a * 10)]  # the steps of 0.1
    mels = {a: log_mel(at[a], settings) for a in set(grid) | {0.0, 0.5, 1.0}}
    out["smoothness"] = smoothness([mels[a] for a in grid])
    out["intermediateness"] = intermediateness(mels[0.5], mels[0.0], mels[1.0])
    return out
