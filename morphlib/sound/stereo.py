"""A loop's stereo image: what its side channel holds given its mid, band by band and frame
by frame, and a stereo loop rebuilt from a mid and an image.

Parametric stereo (as MPEG's Parametric Stereo and USAC's stereo prediction): the model
hears and makes only the mid, ``(L + R) / 2``; the side, ``(L - R) / 2``, is kept as two
numbers per band and frame. ``pan`` is the part of the side that follows the mid (a hat
panned left: side = pan x mid); ``width`` is the level of the rest over the mid's (a room,
a stereo reverb: sound in the side that the mid does not predict). From a mid ``M`` the
channels are rebuilt as the mid at each channel's level, turned in phase one way in the
left and the other in the right (``channel_gains``): in each band and frame they have the
original's energies and likeness, so its side-to-mid level and correlation. A morph blends
its ends' images with its weights, as its latents are blended (the side's level in dB,
``blend``).

Bands give each channel's level only on average: in a room the side is as loud as the mid
in many bins, and each bin's channel levels are the room's, not the band's. So an image also
holds each channel's *detail*: its level over what the bands give, bin by bin and frame by
frame, in dB. An image is one array, ``(2, n_bands + n_bins, n_frames)``: rows up to
``n_bands`` are pan (``image[0]``) and width (``image[1]``) by band, the rest the left's
(``image[0]``) and the right's (``image[1]``) detail by bin (``split``). ``render`` then
makes each channel's magnitude the mid's at its detailed level and brings its phase to it
with a few Griffin-Lim iterations (``CHANNEL_ITERATIONS``) from the mid's phase turned as
the bands say, each channel held a little to the other (``CHANNEL_COUPLING``); a morph
blends its ends' details with its weights, and their bands weighing each end by its level
too (``band_levels``). An image of morphlib
before details (bands only) is rendered as then.

So training and the model stay the mono ones (same time, same size), every loop's width
and pans come back, and a mono loop (no image) stays mono. ``benchmarks/stereo.py``
measures it on panned, reverberant recorded drums (docs/sound.md).
"""

import functools

import numpy as np

from ..codes import code_bins, decode_bins, packed_size
from ..config import AnalysisSettings
from ..errors import ParameterError
from .spectral import reconstructor, unit_phasors

#: The image's bands: everything below LOWEST_EDGE_HZ as one (kick and bass sit in the
#: middle), then BANDS_PER_OCTAVE bands an octave up to the Nyquist frequency.
LOWEST_EDGE_HZ = 125.0
BANDS_PER_OCTAVE = 2
#: The largest side level over the mid an image holds (+20 dB): past it the mid is all
#: but silent in that band and frame, and the ratio says nothing worth rebuilding.
MAX_RATIO = 10.0
#: A band's mid energy in a frame counts as at least this share of its mean over the loop
#: (-30 dB) when the image is taken.
QUIET_FLOOR = 1e-3
#: The side's level over the mid that a mono end of a morph counts as (-60 dB), since a
#: blend of levels in dB needs one.
MONO_LEVEL = 1e-3
#: Side-to-mid energy below which two channels are one (dual mono): loaded as mono.
DUAL_MONO_DB = -60.0
#: Each run of TURN_RUN_HZ turns its phase one way or the other in the left channel (the
#: right turns the other), drawn from a fixed seed so that a loop sounds the same every time.
TURN_RUN_HZ = 350.0
TURN_SEED = 7
#: The largest detail, in dB either way: a channel's level over what the bands give it.
MAX_DETAIL_DB = 20.0
#: A detail's resolution: each frame's bins from their lowest to their highest value in 64
#: steps, as the store and a model folder keep it (``morphlib.codes``), so that every path
#: hears the same detail. On recorded drums in rooms (FluidR3's kits, 20 loops) 6 bits gave
#: 2.83 dB per channel, as 8 did; 4 bits 2.98, and the side 1.6 dB off
#: (``benchmarks/stereo_details.py``, docs/sound.md).
DETAIL_BITS = 6
#: Bins quieter than this share of the mid's mean magnitude count as that quiet when a
#: detail is taken, so that a model's mid, which holds a little where the original held
#: nothing, is not given a channel's level there.
DETAIL_FLOOR = 1e-2
#: A loop whose side is further than this under its mid (dB) keeps no details: its channels
#: are its mid to a few tenths of a dB, and iterating them would only raise its faint side
#: (the demo loops, 39 dB under: 2.5 dB up). No loop of the stereo benchmark's rooms is.
DETAIL_MIN_SIDE_DB = -30.0
#: Griffin-Lim iterations that bring each channel's phase to its detailed magnitude, after
#: a mid's 32 (``channel_iterations``). Alone, more fit the levels closer and lose more of
#: the turn between the channels (FluidR3's kits: 6 put the correlation 0.046 off); held by
#: ``CHANNEL_COUPLING``, 8 fit them closer than 4 did alone and keep the turn better.
CHANNEL_ITERATIONS = 8
#: How far each iteration pulls a channel's phase towards the two channels' common phase,
#: turned as the bands say (0: each channel iterates alone and the two drift apart; 1: the
#: turn between them is kept exactly and neither fits its level). On FluidR3's kits (20
#: loops), 8 iterations: 0 gave 2.21 dB per channel and the correlation 0.065 off, 0.1 2.36
#: dB and 0.036, 0.2 2.64 dB and 0.027 (``benchmarks/stereo_details.py``, docs/sound.md).
CHANNEL_COUPLING = 0.1
#: Fast Griffin-Lim's momentum for the channels, as for the mid (``spectral.griffin_lim``).
CHANNEL_MOMENTUM = 0.99
#: Downmix weights of surround channels into left and right (ITU-R BS.775: -3 dB for the
#: centre and the surrounds; the LFE is left out), by channel count in WAV's order.
FOLD_WEIGHTS = {
    3: ([1, 0, 0.7071], [0, 1, 0.7071]),  # L R C
    4: ([1, 0, 0.7071, 0], [0, 1, 0, 0.7071]),  # FL FR BL BR
    5: ([1, 0, 0.7071, 0.7071, 0], [0, 1, 0.7071, 0, 0.7071]),  # FL FR FC BL BR
    6: ([1, 0, 0.7071, 0, 0.7071, 0], [0, 1, 0.7071, 0, 0, 0.7071]),  # 5.1: FL FR FC LFE BL BR
    7: ([1, 0, 0.7071, 0, 0.5, 0.7071, 0], [0, 1, 0.7071, 0, 0.5, 0, 0.7071]),  # 6.1: FL FR FC LFE BC SL SR
    8: ([1, 0, 0.7071, 0, 0.7071, 0, 0.7071, 0], [0, 1, 0.7071, 0, 0, 0.7071, 0, 0.7071]),  # 7.1: FL FR FC LFE BL BR SL SR
}


def fold_to_stereo(data):
    """Any number of channels as two: surround folded down (``FOLD_WEIGHTS``), stereo as it is.

    Parameters
    ----------
    data : np.ndarray [shape=(n, channels)]
        Samples as soundfile reads them, 2 to 8 channels.

    Returns
    -------
    y : np.ndarray [shape=(2, n), dtype=float32]
        Left and right; a fold keeps the channels' average level (each side's weights sum to 1).
    """
    data = np.asarray(data, np.float32)
    channels = data.shape[1]
    if channels == 2:
        return np.ascontiguousarray(data.T)
    if channels not in FOLD_WEIGHTS:
        raise ParameterError(f"{channels} channels cannot be folded to stereo: 2 to 8 are")
    weights = np.asarray(FOLD_WEIGHTS[channels], np.float32)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.ascontiguousarray(weights @ data.T)


def mid_side(y):
    """``(mid, side)`` = ``((L + R) / 2, (L - R) / 2)`` of ``y`` [shape=(2, n)]."""
    y = np.asarray(y, np.float32)
    if y.ndim != 2 or y.shape[0] != 2:
        raise ParameterError(f"y must be stereo with shape (2, n), got shape {y.shape}")
    return 0.5 * (y[0] + y[1]), 0.5 * (y[0] - y[1])


def left_right(mid, side):
    """Stereo ``(2, n)`` from a mid and a side: ``L = M + S``, ``R = M - S``."""
    return np.stack([mid + side, mid - side]).astype(np.float32, copy=False)


def side_to_mid_db(y):
    """The side's energy over the mid's, in dB (-120 for mono or dual mono).

    Parameters
    ----------
    y : np.ndarray [shape=(2, n)] or [shape=(n,)]
    """
    if np.ndim(y) == 1:
        return -120.0
    mid, side = mid_side(y)
    e_mid, e_side = float(np.sum(np.square(mid, dtype=np.float64))), float(np.sum(np.square(side, dtype=np.float64)))
    if e_side <= 0 or e_mid <= 0:
        return -120.0 if e_side <= 0 else 120.0
    return float(np.clip(10 * np.log10(e_side / e_mid), -120, 120))


def channel_correlation(y):
    """Pearson correlation of left and right at lag 0 (1: mono; 0: unrelated; -1: inverted)."""
    if np.ndim(y) == 1:
        return 1.0
    left, right = (np.asarray(c, np.float64) - np.mean(c) for c in y)
    den = np.linalg.norm(left) * np.linalg.norm(right)
    return float(np.dot(left, right) / den) if den > 0 else 1.0


def is_stereo(side_db):
    """Whether a loop whose side-to-mid energy is ``side_db`` dB is stereo, not dual mono."""
    return side_db > DUAL_MONO_DB


@functools.lru_cache(maxsize=8)
def band_edges_hz(sr):
    """The image's band edges in Hz: 0, ``LOWEST_EDGE_HZ`` and half octaves up to ``sr / 2``."""
    n_up = int(np.floor(BANDS_PER_OCTAVE * np.log2(sr / 2 / LOWEST_EDGE_HZ)))
    edges = LOWEST_EDGE_HZ * 2.0 ** (np.arange(n_up + 1) / BANDS_PER_OCTAVE)
    edges = edges[edges < sr / 2 * 0.95]  # no sliver of a band below Nyquist
    return np.concatenate([[0.0], edges, [sr / 2]])


def n_bands(settings):
    """Bands in an image for ``settings``."""
    return len(band_edges_hz(settings.sr)) - 1


def image_shape(settings):
    """``(2, n_bands + n_bins, n_frames)``: the shape of a loop's image for ``settings``
    (its bands, then each channel's detail by bin: ``split``)."""
    return (2, n_bands(settings) + settings.n_bins, settings.n_frames)


def band_image_shape(settings):
    """``(2, n_bands, n_frames)``: an image of bands only (morphlib's before details)."""
    return (2, n_bands(settings), settings.n_frames)


def split(image, settings):
    """``(bands, detail)`` of an image: pan and width by band [shape=(2, n_bands, n_frames)],
    and the left's and the right's detail in dB by bin [shape=(2, n_bins, n_frames)], None
    for an image of bands only."""
    image = np.asarray(image, np.float32)
    k = n_bands(settings)
    if image.ndim != 3 or image.shape[0] != 2 or image.shape[1] not in (k, k + settings.n_bins):
        raise ParameterError(f"image must have shape (2, {k + settings.n_bins}, n_frames) or (2, {k}, n_frames), got {image.shape}")
    return image[:, :k], (image[:, k:] if image.shape[1] > k else None)


def with_detail(image, settings):
    """An image of bands only made a whole one, its detail zero (as it was rendered)."""
    bands, detail = split(image, settings)
    if detail is not None:
        return np.asarray(image, np.float32)
    return np.concatenate([bands, np.zeros((2, settings.n_bins, bands.shape[-1]), np.float32)], axis=1)


@functools.lru_cache(maxsize=8)
def _band_matrices(settings):
    """(bins → band sums [n_bands, n_bins], bands → bins [n_bins, n_bands]): a band's bins
    summed, and each bin's value interpolated between band centres (in octaves), so that
    what the image gives slides from band to band instead of stepping at an edge."""
    freqs = np.fft.rfftfreq(settings.n_fft, 1 / settings.sr)
    edges = band_edges_hz(settings.sr)
    band = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, len(edges) - 2)
    to_bands = np.zeros((len(edges) - 1, len(freqs)), np.float32)
    to_bands[band, np.arange(len(freqs))] = 1.0
    centres = np.log2(np.concatenate([[LOWEST_EDGE_HZ / 2], np.sqrt(edges[1:-1] * edges[2:])]))
    where = np.log2(np.maximum(freqs, LOWEST_EDGE_HZ / 2))
    to_bins = np.stack([np.interp(where, centres, np.eye(len(centres))[k]) for k in range(len(centres))], axis=1)
    return to_bands, to_bins.astype(np.float32)


def image_of(y, settings=None):
    """The image of a stereo loop: its side given its mid, per band and STFT frame.

    Parameters
    ----------
    y : np.ndarray [shape=(2, n)]
        Left and right at ``settings.sr``.
    settings : AnalysisSettings or None

    Returns
    -------
    image : np.ndarray [shape=(2, n_bands + n_bins, 1 + n // hop_length), dtype=float32]
        By band (``image[:, :n_bands]``): ``image[0]`` pan, the side's part that follows
        the mid over the mid (-1 is all right, 1 all left, 0 centred), in [-MAX_RATIO,
        MAX_RATIO]; ``image[1]`` width, the level of the rest of the side over the mid's,
        in [0, MAX_RATIO]. By bin (the rest): the left's and the right's detail in dB, in
        [-MAX_DETAIL_DB, MAX_DETAIL_DB] (``split``).
    """
    settings = settings or AnalysisSettings()
    mid, side = mid_side(y)
    pr = reconstructor(settings)
    M, S = pr.stft(mid).T, pr.stft(side).T
    to_bands, _ = _band_matrices(settings)
    e_mid = to_bands @ (M.real**2 + M.imag**2)
    follow = to_bands @ (S.real * M.real + S.imag * M.imag)
    e_side = to_bands @ (S.real**2 + S.imag**2)
    # where a band of the mid all but stops, a model's mid will hold a little more than the
    # original's: a floor under the band's mean keeps such frames from asking for a huge side
    floor = QUIET_FLOOR * e_mid.mean(axis=1, keepdims=True) + 1e-12 * max(float(e_mid.max(initial=0.0)), 1e-20)
    pan = np.clip(follow / (e_mid + floor), -MAX_RATIO, MAX_RATIO)
    rest = np.maximum(e_side - 2 * pan * follow + pan**2 * e_mid, 0.0)
    width = np.clip(np.sqrt(rest / (e_mid + floor)), 0.0, MAX_RATIO)
    bands = np.stack([pan, width]).astype(np.float32)
    if side_to_mid_db(y) < DETAIL_MIN_SIDE_DB:
        return with_detail(bands, settings)
    return np.concatenate([bands, _detail(M, (M + S, M - S), bands, settings)], axis=1)


def _detail(M, channels, bands, settings):
    """Each channel's level over the mid's at its bands' level, in dB per bin and frame
    [shape=(2, n_bins, n_frames)]: what ``render`` gives back on top of the bands."""
    g_left, g_right, _ = channel_gains(_per_bin(bands, settings))
    floor = DETAIL_FLOOR * float(np.mean(np.abs(M))) + 1e-12
    mid = np.abs(M) + floor
    detail = [20 * np.log10((np.abs(X) + floor) / (mid * np.maximum(g, 1e-6))) for X, g in zip(channels, (g_left, g_right))]
    detail = np.clip(np.stack(detail), -MAX_DETAIL_DB, MAX_DETAIL_DB)
    return _decode_detail(*_code_detail(detail), settings)


def coded(image, settings):
    """An image as it is kept (the store, a model folder): ``(bands, codes, low, step)``, its
    bands [shape=(2, n_bands, n_frames)] and its details in ``DETAIL_BITS`` bits, each
    frame's bins from their lowest to their highest value (``morphlib.codes``; codes
    [shape=detail_codes_shape(settings)], low and step [shape=(2, n_frames)]). An image of
    bands only is kept with zero details."""
    bands, detail = split(with_detail(image, settings), settings)
    return (bands, *_code_detail(detail))


def from_codes(bands, codes, low, step, settings):
    """``coded``'s inverse: the image [shape=image_shape(settings)], float32."""
    return np.concatenate([np.asarray(bands, np.float32), _decode_detail(codes, low, step, settings)], axis=1)


def detail_codes_shape(settings):
    """``(2, n_frames, bytes)``: the shape of an image's coded details (``coded``)."""
    return (2, settings.n_frames, packed_size(settings.n_bins, DETAIL_BITS))


def _code_detail(detail):
    return code_bins(np.asarray(detail, np.float32).transpose(0, 2, 1), bits=DETAIL_BITS)  # channels, frames, bins


def _decode_detail(codes, low, step, settings):
    return decode_bins(codes, low, step, settings.n_bins, bits=DETAIL_BITS).transpose(0, 2, 1)  # channels, bins, frames


def _per_bin(bands, settings, frames=None):
    """Pan and width by band [shape=(2, n_bands, n)] interpolated to every bin, at ``frames``
    (default all) [shape=(2, n_bins, n)]."""
    _, to_bins = _band_matrices(settings)
    return np.einsum("fb,cbt->cft", to_bins, bands if frames is None else bands[:, :, frames])


def band_levels(S, settings=None):
    """A mid's level in each of the image's bands and frames over its mean, as ``blend``
    weighs a morph's ends by.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_bins, n_frames)]
        Linear magnitudes (an end's decode, or a loop's magnitude).
    settings : AnalysisSettings or None

    Returns
    -------
    levels : np.ndarray [shape=(..., n_bands, n_frames), dtype=float32]
        The root of each band's energy over the mean over bands and frames (1: an average
        band and frame; 0: silence).
    """
    to_bands, _ = _band_matrices(settings or AnalysisSettings())
    energy = np.einsum("bf,...ft->...bt", to_bands, np.square(np.asarray(S, np.float32)))
    mean = np.mean(energy, axis=(-2, -1), keepdims=True)
    return np.sqrt(energy / np.maximum(mean, np.float32(1e-30))).astype(np.float32)


def blend(images, weights, *, frames=None, settings=None, levels=None):
    """The images of a morph's ends blended with its weights.

    The pan is blended as it is; the side's whole level over the mid (pan and width
    together) is blended in decibels, so that a morph is as wide as its ends' widths
    averaged in dB (a straight mean of the levels made mid-morphs 1.5 dB wider than that on
    recorded drums in rooms, a mean of the energies 2.7 dB; ``benchmarks/stereo.py``). With
    the ends' ``levels``, each band and frame weighs each end by its weight times its level
    there: where one end is loud and the other quiet (a hit of A in B's reverb tail), the
    loud one's width is what is heard, not the tail's (FluidR3's kits in rooms, 20 pairs:
    mid-morphs 0.79 dB wider than their ends without, 0.41 with). The channels' details, in
    dB already, are blended with the weights as they are (a mono end's is zero).

    Parameters
    ----------
    images : sequence of (np.ndarray [shape=(2, n_rows, n_frames)] or None)
        One per end (``image_of``; bands only, ``n_rows = n_bands``, from a model folder of
        morphlib before details); None is a mono end (no side: its level counts as
        ``MONO_LEVEL``).
    weights : np.ndarray [shape=(n_ends,)] or [shape=(n_out, n_ends)]
        The morph's weights (non-negative, summing to 1), or a sweep's at each of its frames.
    frames : np.ndarray [shape=(n_out,), dtype=int] or None
        With weights per frame: which frame of the ends each output frame is (a sweep of
        several loops goes round them); default ``arange(n_out) % n_frames``.
    settings : AnalysisSettings or None
        The images' settings (where their bands end and their details begin); None: the
        defaults'.
    levels : sequence of np.ndarray [shape=(n_bands, n_frames)] or None
        Each end's mid level by band and frame (``band_levels`` of its decode, a mono end's
        too); None, or images of bands only (a model folder of morphlib before details,
        whose morphs sound as then): the ends weighed by the weights alone.

    Returns
    -------
    image : np.ndarray [shape=(2, n_rows, n_frames or n_out)] or None
        None when every end is mono; an end's own image where its weight is 1 (zeros for a
        mono end: the morphs of a stereo pair are all stereo). With details where any end
        has them.
    """
    if all(im is None for im in images):
        return None
    weights = np.asarray(weights, np.float32)
    rows = max(np.shape(im)[1] for im in images if im is not None)
    shape = (2, rows, next(np.shape(im)[2] for im in images if im is not None))
    stack = np.stack([np.zeros(shape, np.float32) if im is None else _rows(im, rows) for im in images])
    if weights.ndim == 1 and np.max(weights) == 1.0:  # at an end: its image (no side for a mono one)
        return stack[int(np.argmax(weights))]
    if weights.ndim == 1:
        mean = lambda x: np.tensordot(weights, x, axes=1)  # noqa: E731
    else:
        frames = np.arange(len(weights)) % shape[-1] if frames is None else np.asarray(frames)
        mean = lambda x: np.einsum("tk,kbt->bt", weights, x[..., frames])  # noqa: E731
    k = n_bands(settings or AnalysisSettings())
    by_band = mean if levels is None or rows == k else _level_weighted(weights, levels, frames)  # bands only: as then
    level = np.exp(by_band(np.log(np.maximum(np.hypot(stack[:, 0, :k], stack[:, 1, :k]), MONO_LEVEL))))
    pan = np.clip(by_band(stack[:, 0, :k]), -level, level)
    bands = np.stack([pan, np.sqrt(level**2 - pan**2)])
    if rows == k:
        return bands.astype(np.float32)
    detail = np.stack([mean(stack[:, 0, k:]), mean(stack[:, 1, k:])])
    return np.concatenate([bands, detail], axis=1).astype(np.float32)


def _level_weighted(weights, levels, frames):
    """A mean over the ends [of shape=(n_ends, n_bands, n_frames)] that weighs each by its
    weight times its level in each band and frame (at ``frames`` with weights per frame)."""
    levels = np.stack([np.asarray(lv, np.float32) for lv in levels]) + np.float32(1e-6)  # all silent: the weights alone
    if weights.ndim == 1:
        w = weights[:, None, None] * levels
    else:
        w = weights.T[:, None, :] * levels[..., frames]
    w /= np.maximum(w.sum(axis=0, keepdims=True), np.float32(1e-12))
    picked = (lambda x: x) if weights.ndim == 1 else (lambda x: x[..., frames])
    return lambda x: np.sum(w * picked(x), axis=0)


def _rows(image, rows):
    """``image`` with ``rows`` rows: an image of bands only given zero details."""
    image = np.asarray(image, np.float32)
    if image.shape[1] == rows:
        return image
    return np.concatenate([image, np.zeros((2, rows - image.shape[1], image.shape[2]), np.float32)], axis=1)


@functools.lru_cache(maxsize=8)
def _signs(settings):
    """Which way each bin's phase turns in the left channel [shape=(n_bins, 1)]: a fixed random
    way for each run of ``TURN_RUN_HZ``. Runs, not single bins: a turn that changes from bin to
    bin is a long filter, and the frames' overlap-add would cancel part of it (measured on
    recorded drums: single bins lost 3 dB of the side, runs of 350 Hz 0.2 dB)."""
    n_bins = settings.n_bins
    run = max(1, int(round(TURN_RUN_HZ * settings.n_fft / settings.sr)))
    ways = np.where(np.random.default_rng(TURN_SEED).random(n_bins // run + 1) < 0.5, -1.0, 1.0)
    return np.repeat(ways, run)[:n_bins, None].astype(np.float32)


def channel_gains(image):
    """Left and right levels over the mid's, and the phase turn between them, of an image.

    With side = pan x mid + (width x the mid's level, unrelated to it), per unit of mid
    energy the left holds ``1 + pan² + width² + 2 pan``, the right the same less ``4 pan``, and
    their cross term ``1 - pan² - width²``: so the channels are the mid at these levels, turned
    by ``+θ`` and ``-θ``, with ``cos 2θ`` their coherence.

    Parameters
    ----------
    image : np.ndarray [shape=(2, ...)]
        Pan and width (``image_of``), at any resolution.

    Returns
    -------
    g_left, g_right, theta : np.ndarray [shape=image.shape[1:]]
        Levels (>= 0) and half the phase difference in radians, in [0, π/2].
    """
    pan, width = np.asarray(image[0], np.float32), np.asarray(image[1], np.float32)
    energy = 1 + pan**2 + width**2
    g_left, g_right = np.sqrt(np.maximum(energy + 2 * pan, 0)), np.sqrt(np.maximum(energy - 2 * pan, 0))
    coherence = np.clip((2 - energy) / np.maximum(g_left * g_right, 1e-6), -1.0, 1.0)
    return g_left, g_right, 0.5 * np.arccos(coherence)


def channel_iterations(n_iter):
    """The Griffin-Lim iterations each channel gets after a mid's ``n_iter``:
    ``CHANNEL_ITERATIONS`` after the tutorial's 32, proportionally fewer after fewer (a
    panel's quick draft, 16: 2)."""
    return int(round(CHANNEL_ITERATIONS * min(int(n_iter), 32) / 32))


def render(mid, image, settings=None, *, iterations=None, magnitude=None):
    """A stereo loop from its mid and an image (``image_of``'s inverse).

    Each channel is the mid at its level in each band and frame, its phase turned one way
    in the left and the other in the right (a fixed random way for each run of
    ``TURN_RUN_HZ``) as far as makes the two as alike as the image says (``channel_gains``).
    No decorrelating filter and no noise: every bin of a channel is the mid's at a level, so
    nothing smears a hit, and where the image is narrow the channels stay the mid's phase.
    With details, each channel's magnitude is the mid's at its detailed level, bin by bin,
    and ``CHANNEL_ITERATIONS`` of Griffin-Lim from that turned phase make it consistent,
    each channel's phase held a little to the turned common phase (``CHANNEL_COUPLING``) so
    that the two stay as alike as the image says.

    Parameters
    ----------
    mid : np.ndarray [shape=(n,)]
        The mid at ``settings.sr``: a model's output.
    image : np.ndarray [shape=(2, n_bands + n_bins, n_frames)] or None
        None: ``mid`` is returned as it is (mono). Bands only (``band_image_shape``), or
        zero details: rendered as morphlib did before details. Fewer frames than ``mid``
        has (a sweep of several loops): the image repeats, loop after loop.
    settings : AnalysisSettings or None
    iterations : int >= 0 or None
        Griffin-Lim iterations per channel where there are details (0: the levels laid on
        the mid's spectrum as they are); None: ``CHANNEL_ITERATIONS``.
    magnitude : np.ndarray [shape=(n_bins, n_frames)] or None
        The magnitude ``mid`` was rebuilt from (a model's spectrogram): the channels' levels
        are taken from it where there are details and iterations, not from ``mid``'s own
        spectrum, which Griffin-Lim left a little off it (FluidR3's kits, 20 loops: 2.75 →
        2.36 dB per channel). None: ``mid``'s spectrum (an original's mid).

    Returns
    -------
    y : np.ndarray [shape=(2, n)] or [shape=(n,)], dtype=float32
    """
    mid = np.asarray(mid, np.float32)
    if image is None:
        return mid
    settings = settings or AnalysisSettings()
    bands, detail = split(image, settings)
    pr = reconstructor(settings)
    M = pr.stft(mid)  # (frames, bins)
    frames = np.arange(len(M)) % bands.shape[-1]
    g_left, g_right, theta = channel_gains(_per_bin(bands, settings, frames))
    turn = unit_phasors(_signs(settings) * theta)
    iterations = CHANNEL_ITERATIONS if iterations is None else iterations
    has_detail = detail is not None and np.any(detail)
    if has_detail:
        level = np.exp(detail[:, :, frames] * np.float32(np.log(10) / 20))
        g_left, g_right = g_left * level[0], g_right * level[1]
    if not has_detail or iterations == 0:  # the levels laid on the mid's spectrum as they are
        left = pr.istft((g_left * turn).T * M, len(mid))
        right = pr.istft((g_right * np.conj(turn)).T * M, len(mid))
        return np.stack([left, right])
    base = np.abs(M) if magnitude is None else _as_frames(magnitude, M.shape)
    targets = np.stack([base * g_left.T, base * g_right.T])
    return _coupled_channels(targets, M / np.maximum(np.abs(M), 1e-12), turn.T, len(mid), settings, iterations)


def _as_frames(magnitude, shape):
    """A magnitude [shape=(n_bins, n_frames)] as the mid's STFT lies, ``shape`` (frames, bins)."""
    magnitude = np.asarray(magnitude, np.float32)
    if magnitude.shape[::-1] != shape:
        raise ParameterError(f"magnitude must have shape {shape[::-1]} as the mid's spectrum, got {magnitude.shape}")
    return magnitude.T


def _coupled_channels(targets, start, turn, n, settings, iterations):
    """Left and right [shape=(2, n)] of magnitudes ``targets`` [shape=(2, n_frames, n_bins)],
    from the phase ``start`` (unit phasors) turned by ``turn`` in the left and against it in
    the right, after ``iterations`` of fast Griffin-Lim in which each channel's phase is
    pulled ``CHANNEL_COUPLING`` of the way to the two's common phase, turned."""
    pr = reconstructor(settings)
    ways = (turn, np.conj(turn))
    # the common phase: each channel's turned back and weighted by its level, summed
    back = (ways[1] * targets[0], ways[0] * targets[1])
    pulls = [np.complex64(CHANNEL_COUPLING) * w for w in ways]
    X = [a * start * w for a, w in zip(targets, ways)]
    previous = [None, None]
    step = np.float32(CHANNEL_MOMENTUM / (1 + CHANNEL_MOMENTUM))
    for _ in range(iterations):
        moved = []
        for c in range(2):
            rebuilt = pr.project(X[c], n)
            moved.append(rebuilt.copy() if previous[c] is None else rebuilt - step * previous[c])  # (changed in place below)
            previous[c] = rebuilt
        common = _unit(moved[0] * back[0] + moved[1] * back[1])
        X = [_at_level(pull * common + _at_level(m, np.float32(1 - CHANNEL_COUPLING)), a)
             for a, pull, m in zip(targets, pulls, moved)]
    return np.stack([pr.istft(x, n) for x in X])


def _at_level(X, level):
    """Complex ``X`` with its phase at magnitude ``level`` (a number or an array)."""
    scale = np.abs(X)
    np.maximum(scale, np.float32(1e-12), out=scale)
    np.divide(level, scale, out=scale)
    X *= scale
    return X


def _unit(X):
    """Complex ``X`` at unit magnitude (its phase), in place."""
    return _at_level(X, np.float32(1.0))
