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
mid-morph sharpness rose above the crossfade's at every α, with smoother steps. Each
band's gain slides into the next one's across their edge (``CROSSOVER_OCTAVES``) rather
than stepping there, which left a seam in the middle of the spectrum (``band_edge_steps``;
``benchmarks/sound.py --hit-crossovers``). Under ``FINE_BELOW_HZ`` every bin has a gain of
its own: the bands there are a few bins wide, and a kick the decoder's middle lost, put back
by one gain per band, lifted the band's top with its bottom and stepped at its edge. Last,
each bin's floor, its median over the frames, is moved to its ends' blended in decibels,
the hits above it kept (``keep_floors``): the decoder's middle smears the floor, and what a
step at a band edge was left in the morph's steady spectrum, its median frame, goes with it.
"""

import math

import numpy as np

from ..config import check_int, check_positive
from ..errors import ParameterError

#: Frequency bands whose envelopes are followed (log-spaced over the bins): enough to tell a
#: kick from a hat, few enough that each band's envelope is steady.
N_BANDS = 8
#: Largest change a band's level may get in one frame, dB: the decode's own shape stays in
#: charge where the ends' envelopes would ask for more (silence against a hit).
MAX_GAIN_DB = 18.0
#: Width (octaves) over which one band's gain slides into the next one's at their edge, so
#: that the gains leave no step in the spectrum there (a seam heard as an edge between the
#: hits); narrower where a band is narrower than that.
CROSSOVER_OCTAVES = 0.5
#: Under this frequency (Hz) each bin is a band of its own (``gain_edges``): a kick's
#: fundamental lies there, in bands of 2 to 7 bins whose one gain could not follow the
#: ends' shape inside them (a step of up to 10 dB at 140 Hz on recorded drums;
#: ``benchmarks/sound.py --hit-fine-below``).
FINE_BELOW_HZ = 100.0
#: Where a blend's median over the frames lies this far under its loudest bin (dB), the bin
#: is silence most of the time and no gain can give it its ends' median: left as it is. Far
#: under hearing on purpose: at 80 dB, the demo loops' quiet bins (85-95 dB under their
#: peaks) were matched in part and stepped 2.7 dB at 1.9 kHz where the measure reads them.
MEDIAN_FLOOR_DB = 160.0
#: How far above its bin's median a value keeps its level when ``keep_floors`` moves the
#: median (dB): hits stand 20 dB and more above a drum loop's floor.
FLOOR_WIDTH_DB = 12.0
#: Rounds that set each band's gain again, so that with the slides in place its level is
#: still the ends' blend (each round takes the level's remaining error off the band's gain).
LEVEL_ROUNDS = 5


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


def gain_edges(n_bins, n_bands=N_BANDS, fine_bins=0):
    """The bands that ``keep_hits`` gives gains to: ``band_edges``, with each of the lowest
    ``fine_bins`` bins a band of its own.

    Returns
    -------
    edges : np.ndarray [shape=(n_edges,), dtype=int]
        Increasing from 0 to ``n_bins``.
    """
    edges = band_edges(n_bins, n_bands)
    fine = min(check_int("fine_bins", fine_bins, low=0), n_bins)
    return np.unique(np.concatenate([np.arange(fine + 1), edges[edges > fine], [n_bins]]))


def fine_bins_for(settings):
    """How many of the lowest bins are centred under ``FINE_BELOW_HZ`` at ``settings``' rate
    and FFT size (10 at 22,050 Hz with 2048 and at 44,100 Hz with 4096: 0 to 97 Hz)."""
    return int(math.ceil(FINE_BELOW_HZ * settings.n_fft / settings.sr))


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


def keep_hits(S, ends, weights, *, n_bands=N_BANDS, max_gain_db=MAX_GAIN_DB, crossover_octaves=CROSSOVER_OCTAVES, fine_bins=0,
              floors=True, end_floors=None):
    """Give decoded blends the band envelopes of their ends, blended in decibels, and (with
    ``floors``) each bin the floor of its ends, its median over the frames, blended in dB.

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
    crossover_octaves : float >= 0
        Width of the slide from one band's gain to the next one's at their edge (0: a
        step, the gains of hard-edged bands).
    fine_bins : int >= 0
        The lowest bins that each get a gain of their own (``gain_edges``; a model passes
        ``fine_bins_for(settings)``).
    floors : bool
        Then move each bin's median over the frames to its ends' medians blended in dB, the
        hits above it kept (``keep_floors``): the morph's median frame steps at a band edge
        no more than its ends' do, and its hits stand as far above its floor as theirs.
    end_floors : np.ndarray [shape=(k, n_bins)] or None
        ``floors_of(ends)`` where already known (a panel blends the same ends again and again).

    Returns
    -------
    S_kept : np.ndarray [shape=(m, n_bins, n_frames), dtype=float32]
        Row ``i`` is ``S[i]`` with each band scaled, frame by frame, to the geometric mean
        of the ends' band envelopes weighted by ``weights[i]``; with ``floors``, each bin's
        median over the frames then the geometric mean of the ends' medians.
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
    edges = gain_edges(S.shape[1], n_bands, fine_bins)
    tiny = 1e-9
    log_ends = np.log(band_envelopes(ends, edges) + tiny)  # (k, bands, frames)
    target = np.einsum("mk,kbf->mbf", weights, log_ends)
    slides = crossovers(edges, crossover_octaves)
    level = _level_with_slides(S, edges, slides)  # with no gain: the blends' own band envelopes
    log_gain = np.clip(target - np.log(level(np.zeros_like(target)) + tiny), -limit, limit)
    for _ in range(LEVEL_ROUNDS):
        log_gain = np.clip(log_gain + target - np.log(level(log_gain) + tiny), -limit, limit)
    kept = (S * np.exp(spread_gains(log_gain, edges, slides))).astype(np.float32)
    return keep_floors(kept, ends, weights, max_gain_db=max_gain_db, end_floors=end_floors) if floors else kept


def keep_floors(S, ends, weights, *, max_gain_db=MAX_GAIN_DB, width_db=FLOOR_WIDTH_DB, end_floors=None):
    """Give each bin of decoded blends the floor of its ends: its median over the frames
    moves to the ends' medians blended in decibels, and what stands above it moves less the
    higher it stands, so that the hits keep the levels the band gains gave them.

    A blend's median frame is the loop's steady spectrum between its hits. The decoder's
    middle smears it (a floor above the ends', often, which dulls the hits), and gains per
    band, however smoothly they slide into each other, leave it a step at a band edge where
    the decoder's middle has a slope its ends do not; under a few hundred Hz, where bands are
    a few bins wide, even the ends blended frame by frame step there, since the median of a
    blend is not the blend of the medians. With each bin's median set to its ends', the
    blend's median frame steps at any bin by no more than its ends' steps blended.

    Parameters
    ----------
    S : np.ndarray [shape=(m, n_bins, n_frames)]
        Blends (linear magnitudes).
    ends : np.ndarray [shape=(k, n_bins, n_frames)]
    weights : np.ndarray [shape=(m, k)]
        As for ``keep_hits``.
    max_gain_db : float > 0
        Limit of the change of a bin's median, up or down.
    width_db : float > 0
        A value this far above its bin's median (or as far as the median moves, where that
        is more) keeps its level; in between, the change fades in dB. The order of a bin's
        values over time is kept, so its median lands where it is sent.
    end_floors : np.ndarray [shape=(k, n_bins)] or None
        ``floors_of(ends)`` where already known.

    Returns
    -------
    S_kept : np.ndarray [shape=(m, n_bins, n_frames), dtype=float32]
        Bins whose median is silence (``MEDIAN_FLOOR_DB`` under the blend's loudest) are
        left as they are.
    """
    S = np.asarray(S, np.float32)
    limit = check_positive("max_gain_db", max_gain_db, unit="dB") * np.log(10) / 20
    width = check_positive("width_db", width_db, unit="dB") * np.log(10) / 20
    median, floor = _median_and_floor(S)  # (m, n_bins), (m, 1)
    target = np.asarray(weights, np.float64) @ (floors_of(ends) if end_floors is None else np.asarray(end_floors, np.float64))
    log_median = np.log(np.maximum(median, floor))
    shift = np.where(median > floor, np.clip(target - log_median, -limit, limit), 0.0)[..., None].astype(np.float32)
    above = np.log(np.maximum(S, 1e-30)) - log_median[..., None].astype(np.float32)  # each value's height over its median
    fade = np.clip(1.0 - np.maximum(above, 0.0) / np.maximum(np.abs(shift), np.float32(width)), 0.0, 1.0)
    return (S * np.exp(shift * fade)).astype(np.float32)


def floors_of(S):
    """Each bin's floor: its median over the frames, natural log of the magnitude, no lower
    than ``MEDIAN_FLOOR_DB`` under the loudest value of its row.

    Parameters
    ----------
    S : np.ndarray [shape=(k, n_bins, n_frames)]
        Linear magnitudes (a morph's ends).

    Returns
    -------
    floors : np.ndarray [shape=(k, n_bins), dtype=float64]
    """
    median, floor = _median_and_floor(S)
    return np.log(np.maximum(median, floor))


def _median_and_floor(S):
    """Each bin's median over the frames, and ``MEDIAN_FLOOR_DB`` under each row's loudest."""
    S = np.asarray(S, np.float32)
    floor = S.max(axis=(-2, -1))[:, None].astype(np.float64) * 10 ** (-MEDIAN_FLOOR_DB / 20) + 1e-30
    return _median(S), floor


def _median(S):
    """``np.median(S, axis=-1)`` in float64, through a sort: NumPy sorts rows of floats with
    SIMD, 7x faster than its median's partition (0.4 against 3.1 ms for a 44.1 kHz morph)."""
    ordered = np.sort(S, axis=-1).astype(np.float64)
    n = S.shape[-1]
    return ordered[..., n // 2] if n % 2 else 0.5 * (ordered[..., n // 2 - 1] + ordered[..., n // 2])


def _level_with_slides(S, edges, slides):
    """A function: per-band log gains → the bands' RMS envelopes of ``S`` with those gains
    spread over its bins (``spread_gains``), computed from the bins of the slides alone (the
    rest of each band takes its band's gain, a factor on its energy)."""
    bins, below, t = slides
    bins, below = bins.astype(int), below.astype(int)
    power = np.square(np.asarray(S, np.float64))
    in_slide = power[:, bins, :]  # (m, slide bins, frames)
    power[:, bins, :] = 0.0
    rest = np.add.reduceat(power, edges[:-1], axis=1)  # (m, bands, frames): the bins off the slides
    band_of = np.searchsorted(edges, bins, side="right") - 1  # ascending: the slides are in order and do not overlap
    bands, starts = np.unique(band_of, return_index=True)
    widths = np.diff(edges)[:, None]

    def level(log_gain):
        energy = rest * np.exp(2 * log_gain)
        if len(bins):
            g = (1 - t)[:, None] * log_gain[:, below, :] + t[:, None] * log_gain[:, below + 1, :]
            energy[:, bands] += np.add.reduceat(in_slide * np.exp(2 * g), starts, axis=1)  # each band's slide bins summed
        return np.sqrt(energy / widths)

    return level


def crossovers(edges, octaves=CROSSOVER_OCTAVES):
    """Where band gains slide into each other: for each bin near an inner band edge, the band
    below it and how far (0 to 1) the gain there has moved to the band above.

    The slide is straight in log-frequency over ``octaves`` centred on the edge, or over
    half of the narrower of its two bands where that is less.

    Returns
    -------
    bins, below, t : np.ndarray [shape=(n,)]
        Bin indices, the band below each one's edge, and the share of the band above.
    """
    bins, below, share = [], [], []
    edges = np.asarray(edges)
    for b in range(len(edges) - 2):
        lo, edge, hi = max(edges[b], 0.5), edges[b + 1] - 0.5, edges[b + 2] - 0.5  # the edge lies between two bins
        half = max(0.0, min(octaves / 2, np.log2(edge / lo) / 2, np.log2(hi / edge) / 2))
        k = np.arange(edges[b], edges[b + 2])
        t = (np.log2(np.maximum(k, 1e-9) / edge) + half) / (2 * half) if half > 0 else (k >= edge).astype(float)
        inside = (t > 0) & (t < 1)
        bins.append(k[inside])
        below.append(np.full(inside.sum(), b))
        share.append(t[inside])
    return tuple(np.concatenate(a) if a else np.zeros(0) for a in (bins, below, share))


def spread_gains(log_gain, edges, slides):
    """Per-band log gains ``[shape=(m, bands, frames)]`` spread over the bins
    ``[shape=(m, n_bins, frames)]``: each band's own gain inside it, sliding into the next
    band's across ``slides`` (``crossovers``)."""
    out = np.repeat(log_gain, np.diff(edges), axis=1)
    bins, below, t = slides
    if len(bins):
        out[:, bins.astype(int), :] = ((1 - t)[:, None] * log_gain[:, below.astype(int), :]
                                       + t[:, None] * log_gain[:, below.astype(int) + 1, :])
    return out


def measured_edges(n_bins, *, n_bands=N_BANDS, lowest_bin=4):
    """The inner band edges (bin indices, lowest first) at which ``band_edge_steps``
    measures a step: those at or above ``lowest_bin``."""
    edges = band_edges(n_bins, n_bands)[1:-1]
    return edges[edges >= lowest_bin]


def band_edge_steps(S, *, n_bands=N_BANDS, lowest_bin=4):
    """How far the median-frame spectrum steps at each band edge, dB: what a seam between the
    bands' gains would leave.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_bins, n_frames)]
        Linear magnitudes.
    n_bands : int > 0
    lowest_bin : int > 0
        Edges below this bin (the lowest, few-bin bands) are left out.

    Returns
    -------
    steps : np.ndarray [shape=(..., n_edges)]
        |mean dB of the bins just above the edge − just below it|, over 2 % of the edge's
        bin index (at least 2 bins) on each side, at each inner edge at or above
        ``lowest_bin``.
    """
    median = _median(np.asarray(S, np.float64))
    db = 20 * np.log10(median + 1e-9 * max(float(median.max()), 1e-30))
    steps = []
    for e in measured_edges(S.shape[-2], n_bands=n_bands, lowest_bin=lowest_bin):
        k = max(2, int(round(0.02 * e)))
        steps.append(np.abs(db[..., e : e + k].mean(axis=-1) - db[..., e - k : e].mean(axis=-1)))
    return np.stack(steps, axis=-1) if steps else np.zeros(S.shape[:-2] + (0,))
