"""Hits that survive the middle of a morph: each band's loudness over time taken from the ends.

A VAE decodes a blend of two loops' latents into a spectrogram whose timbre lies between
them, but whose hits wash out: the decoder lays both rhythms over each other at half
strength and smears what it cannot place (README, "Mid-morphs"). The ends themselves are
decoded sharply. ``keep_hits`` keeps the blend's spectral shape within each frequency band
and gives the band, frame by frame, the loudness of the ends blended in decibels (a
weighted geometric mean of their band envelopes): a hit both ends have stays as loud as
in them, a hit only one end has fades with its weight — the morph moves from one rhythm
to the other instead of stacking both. At the ends (a weight of 1) the decode is returned
unchanged.

Measured by ``benchmarks/sound.py`` (README): on recorded drums, the studio preset's
mid-morph sharpness rose above the crossfade's at every α, with smoother steps.
"""

import numpy as np

from ..config import check_int, check_positive
from ..errors import ParameterError

#: Frequency bands whose envelopes are followed (log-spaced over the bins): enough to tell a
#: kick from a hat, few enough that each band's envelope is steady.
N_BANDS = 8
#: Largest change a band's level may get in one frame, dB: the decode's own shape stays in
#: charge where the ends' envelopes would ask for more (silence against a hit).
MAX_GAIN_DB = 18.0


def band_edges(n_bins, n_bands=N_BANDS):
    """Bin indices bounding ``n_bands`` log-spaced bands over ``n_bins`` bins.

    Returns
    -------
    edges : np.ndarray [shape=(<= n_bands + 1,), dtype=int]
        Increasing from 0 to ``n_bins``; bands that would be empty at the bottom are merged.
    """
    n_bins = check_int("n_bins", n_bins, low=1)
    n_bands = check_int("n_bands", n_bands, low=1)
    edges = np.unique(np.round(np.geomspace(1, n_bins, n_bands + 1)).astype(int))
    edges[0] = 0
    return edges


def band_envelopes(S, edges):
    """Root-mean-square magnitude of each band in each frame.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_bins, n_frames)]
        Linear magnitudes.
    edges : np.ndarray [shape=(n_bands + 1,)]
        From ``band_edges``.

    Returns
    -------
    envelopes : np.ndarray [shape=(..., n_bands, n_frames), dtype=float64]
    """
    S = np.asarray(S, np.float64)
    power = np.add.reduceat(np.square(S), edges[:-1], axis=-2)
    return np.sqrt(power / np.diff(edges)[:, None])


def keep_hits(S, ends, weights, *, n_bands=N_BANDS, max_gain_db=MAX_GAIN_DB):
    """Give decoded blends the band envelopes of their ends, blended in decibels.

    Parameters
    ----------
    S : np.ndarray [shape=(m, n_bins, n_frames)]
        Decoded blends (linear magnitudes).
    ends : np.ndarray [shape=(k, n_bins, n_frames)]
        The decoded ends (two for a morph, four for the XY pad).
    weights : np.ndarray [shape=(m, k)]
        Each blend's weights of the ends, >= 0, summing to 1 (``[1 - α, α]``).
    n_bands : int > 0
    max_gain_db : float > 0
        Limit of the change in level of a band in a frame, up or down.

    Returns
    -------
    S_kept : np.ndarray [shape=(m, n_bins, n_frames), dtype=float32]
        Row ``i`` is ``S[i]`` with each band scaled, frame by frame, to the geometric mean
        of the ends' band envelopes weighted by ``weights[i]``.
    """
    S = np.asarray(S, np.float32)
    ends = np.asarray(ends, np.float32)
    weights = np.asarray(weights, np.float64)
    if S.ndim != 3 or ends.ndim != 3 or S.shape[1:] != ends.shape[1:]:
        raise ParameterError(f"keep_hits needs blends and ends of one shape (m or k, n_bins, n_frames), got {S.shape} and {ends.shape}")
    if weights.shape != (len(S), len(ends)):
        raise ParameterError(f"weights must have shape {(len(S), len(ends))} (blends, ends), got {weights.shape}")
    if not (np.all(weights >= -1e-6) and np.allclose(weights.sum(axis=1), 1.0, atol=1e-4)):
        raise ParameterError(f"each row of weights must be >= 0 and sum to 1, got rows summing to {weights.sum(axis=1)}")
    limit = check_positive("max_gain_db", max_gain_db, unit="dB") * np.log(10) / 20
    edges = band_edges(S.shape[1], n_bands)
    tiny = 1e-9
    log_ends = np.log(band_envelopes(ends, edges) + tiny)  # (k, bands, frames)
    target = np.einsum("mk,kbf->mbf", weights, log_ends)
    gain = np.exp(np.clip(target - np.log(band_envelopes(S, edges) + tiny), -limit, limit))
    return (S * np.repeat(gain, np.diff(edges), axis=1)).astype(np.float32)
