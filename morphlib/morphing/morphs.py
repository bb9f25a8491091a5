"""Morphs: between two loops (``morph``), on the XY pad between four (``morph_xy``), the naive
crossfade to compare with, and a morph written at a project's tempo."""

import dataclasses
import os

import numpy as np

from ..sound.audio import prevent_clipping, safe_filename
from ..config import check_int
from ..errors import ParameterError
from ..sound.spectral import griffin_lim
from ..sound.stereo import band_levels, blend as blend_images, channel_iterations, render
from ..model.morphmodel import METHODS, check_alpha, check_unit
from ..data.tempo import nearest_bars, time_stretch
from ..model.latentfit import FIT_STEPS


@dataclasses.dataclass
class Morph:
    """One morph: its blend, magnitude and waveform.

    Attributes
    ----------
    a, b : str
        Names of sound A (α = 0) and sound B (α = 1).
    alpha : float in [0, 1]
    method : str
        "linear", "spherical" or "crossfade" (the naive baseline, no VAE).
    S : np.ndarray [shape=(n_bins, n_frames)]
        Magnitude that was resynthesised (the mid's, for a stereo morph).
    y : np.ndarray [shape=(n_samples,) or (2, n_samples)]
        Waveform at ``sr``, peak at most 0.99: stereo (left, right) when an end is stereo.
    sr : int
    """

    a: str
    b: str
    alpha: float
    method: str
    S: np.ndarray
    y: np.ndarray
    sr: int
    #: For the XY pad: the four corners' names and the point ``(x, y)``.
    corners: tuple = ()
    xy: tuple = ()
    #: For a sweep: α (or the pad's x, y) at every STFT frame, and the curve's description.
    path: np.ndarray = None
    curve: str = ""
    #: When written at a project's tempo (``at_tempo``): beats per minute and bars per loop.
    bpm: float = None
    bars: int = None

    @property
    def name(self):
        """What it is, in words: its ends, then how they were blended (``details``)."""
        return self.ends + self.details

    @property
    def ends(self):
        """The sounds it blends: ``"A to B"``, or the pad's four corners."""
        return " ".join(self.corners) if self.corners else f"{self.a} to {self.b}"

    @property
    def details(self):
        """How they were blended, with a leading space: ``" linear a=0.25 128bpm 2bars"``."""
        tempo = f" {self.bpm:g}bpm {self.bars}bar{'s' * (self.bars != 1)}" if self.bpm else ""
        if self.curve:
            return f" sweep {self.curve}{tempo}"
        if self.corners:
            return f" xy x={self.xy[0]:.2f} y={self.xy[1]:.2f}{tempo}"
        return f" {self.method} a={self.alpha:.2f}{tempo}"

    def filename(self, ext=".wav"):
        """A file name for it (``audio.safe_filename``): at most 240 bytes, the ends' names
        cut if need be, never the blend's details, so distinct morphs get distinct names."""
        return safe_filename(self.ends, suffix=self.details + ext)


def resolve_sound(model, key, *, loops=None):
    """Name, latent mean and stereo image of one sound.

    Parameters
    ----------
    model : MorphModel
    key : str or int
        With ``loops``: a name or index in it. Without: the path of an audio file
        (analysed with the model's settings), or the name of a loop the model was
        trained on (its stored latent).
    loops : LoopSet or None

    Returns
    -------
    name : str
    z : np.ndarray [shape=(latent_dim,)]
        The encoder's mean for a loop the model was trained on; for other loops and for
        audio files, the latent fitted to it (``latentfit``).
    image : np.ndarray [shape=(2, n_bands, n_frames)] or None
        Its stereo image (``morphlib.sound.stereo``); None when it is mono, or the model
        was loaded with ``mono=True``.
    """
    name, z, image = _sound(model, key, loops)
    return name, z, None if model.mono else image


def _sound(model, key, loops):
    if loops is not None:
        model.check(loops)
        i = loops.index(key)
        fit = 0 if model.has_heard(loops.names[i]) else FIT_STEPS  # a loop it has not heard: fitted
        return loops.names[i], model.encode(loops.S[i], fit=fit)[0], loops.image(i)
    if isinstance(key, (str, os.PathLike)) and os.path.isfile(key):
        from ..data.dataset import analyse_file

        _, S, _, image = analyse_file(os.fspath(key), model.settings)  # fitted as the model's loops were
        name = os.path.splitext(os.path.basename(os.fspath(key)))[0]
        return name, model.encode(S, fit=0 if model.has_heard(name) else FIT_STEPS)[0], image
    return str(key), model.stored_latent(key), model.stored_image(key)


def morph(model, a, b, alpha=0.5, *, loops=None, method="linear", n_iter=32, seed=0, phase="random", bpm=None, bars=None,
          keep_hits=None):
    """Morph sound A into sound B: encode both, blend, decode, Griffin-Lim.

    Parameters
    ----------
    model : MorphModel
    a, b : str or int
        Sound A and sound B (see ``resolve_sound``): names or indices in ``loops``,
        audio file paths, or names of the loops the model was trained on.
    alpha : float in [0, 1] or sequence of them
        0 is A, 1 is B: ``z = (1 - α) z_A + α z_B``.
    loops : LoopSet or None
        Where to look ``a`` and ``b`` up; must have the model's analysis settings.
    method : {"linear", "spherical"}
    n_iter : int > 0
        Griffin-Lim iterations (tutorial: 32).
    seed : int >= 0
        Initial phase of Griffin-Lim: the same arguments give the same audio.
    phase : {"random", "pghi"}
        Griffin-Lim's start: random (the tutorial's) or phase-gradient integration.
    bpm : float > 0 or None
        Write the morph at this tempo (``at_tempo``): its loop is stretched to whole bars
        at ``bpm``. None: the model's window as it is.
    bars : int > 0 or None
        Bars the loop holds, with ``bpm``; default the bars the ends were fitted to.
    keep_hits : bool or None
        Give the morph its ends' hits (``MorphModel.blend``); None: the model's choice.

    Returns
    -------
    morph : Morph, or list of Morph when ``alpha`` is a sequence
    """
    alphas, single = _alphas(alpha)
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    n_iter = check_int("n_iter", n_iter, low=1, high=10000)
    name_a, z_a, image_a = resolve_sound(model, a, loops=loops)
    name_b, z_b, image_b = resolve_sound(model, b, loops=loops)
    S = model.blend(np.stack([z_a, z_b]), [[1 - al, al] for al in alphas], method=method, keep_hits=keep_hits)
    levels = end_levels(model, [z_a, z_b], [image_a, image_b])
    out = []
    for al, s in zip(alphas, S):
        image = blend_images([image_a, image_b], [1 - al, al], settings=model.settings, levels=levels)
        y = model.to_audio(s, n_iter=n_iter, seed=seed, init=phase, image=image)
        out.append(Morph(name_a, name_b, al, method, s, y, model.settings.sr))
    if bpm is not None:
        bars = bars or fitted_bars(loops, a if np.mean(alphas) < 0.5 else b)  # the nearer end's bars
        out = [at_tempo(m, bpm, window_s=model.settings.duration, bars=bars) for m in out]
    return out[0] if single else out


def fitted_bars(loops, key):
    """Bars that loop ``key`` of ``loops`` was fitted to, or None when unknown (no loops,
    a file, or a loop whose tempo was not found)."""
    if loops is None:
        return None
    try:
        bars = loops.infos[loops.index(key)].bars
    except Exception:  # a path or a name the loops do not hold
        return None
    return int(round(bars)) if bars and round(bars) >= 1 else None


def at_tempo(m, bpm, *, window_s, bars=None):
    """``m`` played at ``bpm``: each loop of it stretched to ``bars`` whole bars.

    Parameters
    ----------
    m : Morph
    bpm : float in [20, 400]
    window_s : float > 0
        Seconds per loop of the model (``settings.duration``); a sweep holds several.
    bars : int > 0 or None
        Bars per loop; default the power of two nearest to the bars the loop holds at
        ``bpm`` (``morphlib.data.tempo.nearest_bars``).

    Returns
    -------
    m : Morph
        A copy with ``y`` of ``n_loops * bars * 240 / bpm`` seconds (rounded to a
        sample; both channels of a stereo one), ``bpm`` and ``bars`` set: its name says them.
    """
    try:
        ok = 20 <= float(bpm) <= 400
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"bpm must be a tempo between 20 and 400 beats per minute, got {bpm!r}")
    bpm = float(bpm)
    bars = nearest_bars(window_s, bpm) if bars is None else check_int("bars", bars, low=1, high=64)
    n_in = m.y.shape[-1]
    n_loops = max(1, int(round(n_in / m.sr / window_s)))
    n_out = int(round(n_loops * bars * 240.0 / bpm * m.sr))
    y = time_stretch(m.y, sr=m.sr, stretch=n_out / n_in, loop=not m.curve)
    return dataclasses.replace(m, y=prevent_clipping(y[..., :n_out]), bpm=bpm, bars=bars)


def bilinear_weights(x, y):
    """Weights of the corners a, b, c, d at (0, 0), (1, 0), (0, 1), (1, 1) for the point (x, y).

    Returns
    -------
    w : np.ndarray [shape=(4,) or (n, 4)]
        Non-negative, summing to 1.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return np.stack([(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y], axis=-1)


def resolve_corners(model, corners, *, loops=None):
    """Names, latent means [shape=(4, latent_dim)] and stereo images (a list of 4, None for a
    mono corner) of the XY pad's four corners; ParameterError when one repeats."""
    corners = list(corners)
    if len(corners) != 4:
        raise ParameterError(f"corners must be four sounds (a, b, c, d at (0, 0), (1, 0), (0, 1), (1, 1)), got {len(corners)}: {corners!r}")
    resolved = [resolve_sound(model, c, loops=loops) for c in corners]
    names = [n for n, _, _ in resolved]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParameterError(f"corners must be four different sounds; {', '.join(map(repr, repeated))} is given twice")
    return tuple(names), np.stack([z for _, z, _ in resolved]), [im for _, _, im in resolved]


def morph_xy(model, corners, x, y, *, loops=None, n_iter=32, seed=0, phase="random", keep_hits=None):
    """The XY pad: a bilinear blend of four loops' latent vectors, decoded and resynthesised.

    Parameters
    ----------
    model : MorphModel
    corners : sequence of str or int [shape=(4,)]
        Sounds a, b, c, d at (x, y) = (0, 0), (1, 0), (0, 1), (1, 1) (as for ``morph``).
    x, y : float in [0, 1]
        The point on the pad.
    loops : LoopSet or None
    n_iter : int > 0
    seed : int >= 0
    phase : {"random", "pghi"}
    keep_hits : bool or None
        Give the morph its ends' hits (``MorphModel.blend``); None: the model's choice.

    Returns
    -------
    morph : Morph
        At a corner, that loop's reconstruction.
    """
    x, y = check_unit("x", x), check_unit("y", y)
    n_iter = check_int("n_iter", n_iter, low=1, high=10000)
    names, z, images = resolve_corners(model, corners, loops=loops)
    weights = bilinear_weights(x, y)
    S = model.blend(z, weights, keep_hits=keep_hits)[0]
    levels = end_levels(model, z, images)
    y_out = model.to_audio(S, n_iter=n_iter, seed=seed, init=phase, image=blend_images(images, weights, settings=model.settings, levels=levels))
    return Morph(names[0], names[1], x, "xy", S, y_out, model.settings.sr, corners=names, xy=(x, y))


def end_levels(model, z_ends, images):
    """The ends' levels that their images are weighed by (``MorphModel.end_levels``), None
    when every end is mono (nothing to weigh, no decode)."""
    return model.end_levels(np.stack(z_ends)) if any(im is not None for im in images) else None


def crossfade(loops, a, b, alpha=0.5, *, n_iter=32, seed=0):
    """The naive baseline: blend the two magnitudes directly, no VAE.

    ``S = (1 - α) |S_A| + α |S_B|``, then Griffin-Lim, so a user can hear what the
    latent space adds. Same parameters and result as ``morph``.
    """
    alphas, single = _alphas(alpha)
    i, j = loops.index(a), loops.index(b)
    out = []
    for al in alphas:
        S = (1 - al) * loops.S[i] + al * loops.S[j]
        mid = griffin_lim(S, loops.settings, n_iter=n_iter, seed=seed)
        image = blend_images([loops.image(i), loops.image(j)], [1 - al, al], settings=loops.settings,
                             levels=band_levels(loops.S[[i, j]], loops.settings))
        y = prevent_clipping(render(mid, image, loops.settings, iterations=channel_iterations(n_iter), magnitude=S))
        out.append(Morph(loops.names[i], loops.names[j], al, "crossfade", S, y, loops.settings.sr))
    return out[0] if single else out


def _alphas(alpha):
    if np.ndim(alpha) == 0:
        return [check_alpha(alpha)], True
    alphas = [check_alpha(a) for a in alpha]
    if not alphas:
        raise ParameterError("alpha: give at least one value between 0 and 1")
    return alphas, False
