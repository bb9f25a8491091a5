"""Morphs over time: α (or a point on the XY pad) follows a curve across several loops.

Every STFT frame of the output is taken at its own α, so a sweep glides instead of
stepping loop by loop; the whole sweep is resynthesised in one piece, so the phase runs on
across the loop boundaries (no click at the seams). The decoder runs once, on a batch of
α values (or a grid of pad points), and each frame blends the two (or four) decoded
frames nearest to its own α.
"""

import dataclasses
import numpy as np

from ..sound.audio import prevent_clipping
from ..config import check_int
from ..errors import ParameterError
from ..model.morphmodel import METHODS
from .morphs import Morph, at_tempo, bilinear_weights, check_unit, end_levels, fitted_bars, resolve_corners, resolve_sound
from ..sound.spectral import griffin_lim
from ..sound.stereo import blend as blend_images, channel_iterations, render

#: The most memory a sweep's spectrogram and phase reconstruction may take.
MAX_SWEEP_BYTES = 2 * 2**30


def parse_curve(curve, n_loops):
    """Breakpoints ``[(loop, α), ...]`` of a curve, in loops from the start.

    Parameters
    ----------
    curve : str or sequence of (float, float)
        ``"ramp"`` (0 → 1 over the sweep), ``"ramp-down"`` (1 → 0), ``"triangle"`` (0 → 1 → 0),
        ``"lfo:P"`` (a triangle with a period of P loops, repeated), or breakpoints
        ``"0:0,2:1,4:0"`` (loop:α; straight between them, held after the last).
    n_loops : int > 0

    Returns
    -------
    points : list of (float, float)
        Sorted by loop; α in [0, 1].
    """
    if not isinstance(curve, str):
        return _checked_points(list(curve), curve)
    text = curve.strip().lower()
    if text == "ramp":
        return [(0.0, 0.0), (float(n_loops), 1.0)]
    if text == "ramp-down":
        return [(0.0, 1.0), (float(n_loops), 0.0)]
    if text == "triangle":
        return [(0.0, 0.0), (n_loops / 2, 1.0), (float(n_loops), 0.0)]
    if text.startswith("lfo:"):
        try:
            period = float(text[4:])
        except ValueError:
            period = float("nan")
        if not (np.isfinite(period) and period > 0):
            raise ParameterError(f"curve {curve!r}: the LFO's period must be a number of loops > 0, as in 'lfo:2'")
        n_half = int(np.ceil(2 * n_loops / period))
        return [(k * period / 2, float(k % 2)) for k in range(n_half + 1)]
    points = []
    for part in text.split(","):
        loop, sep, alpha = part.partition(":")
        try:
            points.append((float(loop), float(alpha)))
        except ValueError:
            raise ParameterError(
                f"curve {curve!r} does not parse at {part.strip()!r}: give 'ramp', 'ramp-down', 'triangle', "
                "'lfo:PERIOD' or breakpoints 'loop:alpha,...' such as '0:0,2:1,4:0'"
            ) from None
    return _checked_points(points, curve)


def _checked_points(points, curve):
    if not points:
        raise ParameterError(f"curve {curve!r} has no points")
    for loop, alpha in points:
        if not (np.isfinite(loop) and loop >= 0):
            raise ParameterError(f"curve {curve!r}: loop positions must be >= 0, got {loop!r}")
        check_unit(f"curve {curve!r}: alpha", alpha)
    loops = [p[0] for p in points]
    if loops != sorted(loops):
        raise ParameterError(f"curve {curve!r}: breakpoints must be in order of loop position")
    return [(float(a), float(b)) for a, b in points]


def parse_path(path):
    """Breakpoints ``[(loop, x, y), ...]`` of a path on the XY pad.

    Parameters
    ----------
    path : str or sequence of (float, float, float)
        ``"0:0/0,1:1/0,2:1/1,3:0/1,4:0/0"``: loop:x/y, straight between them.
    """
    if isinstance(path, str):
        points = []
        for part in path.split(","):
            loop, _, xy = part.partition(":")
            x, _, y = xy.partition("/")
            try:
                points.append((float(loop), float(x), float(y)))
            except ValueError:
                raise ParameterError(f"path {path!r} does not parse at {part.strip()!r}: give breakpoints 'loop:x/y,...' such as '0:0/0,2:1/1'") from None
    else:
        points = [tuple(map(float, p)) for p in path]
    if not points or any(len(p) != 3 for p in points):
        raise ParameterError(f"path {path!r}: give breakpoints (loop, x, y)")
    for loop, x, y in points:
        if not (np.isfinite(loop) and loop >= 0):
            raise ParameterError(f"path {path!r}: loop positions must be >= 0, got {loop!r}")
        check_unit(f"path {path!r}: x", x)
        check_unit(f"path {path!r}: y", y)
    if [p[0] for p in points] != sorted(p[0] for p in points):
        raise ParameterError(f"path {path!r}: breakpoints must be in order of loop position")
    return points


def frame_times(settings, n_loops):
    """Time of every STFT frame of an ``n_loops``-loop sweep, in loops from the start.

    A loop of ``n_frames`` centred frames lasts ``n_frames - 1`` hops, so frame ``i`` of the
    sweep is frame ``i % (n_frames - 1)`` of a loop: its last frame is the next one's first.
    """
    per_loop = settings.n_frames - 1
    return np.arange(n_loops * per_loop + 1) / per_loop


def _check_size(settings, n_loops):
    n_loops = check_int("n_loops", n_loops, low=1, high=100_000)
    need = (n_loops * (settings.n_frames - 1) + 1) * settings.n_bins * 4 * 6  # magnitude, complex buffers
    if need > MAX_SWEEP_BYTES:
        raise ParameterError(
            f"n_loops={n_loops} would need about {need / 2**30:.1f} GB for one sweep (at most "
            f"{MAX_SWEEP_BYTES / 2**30:.0f} GB); make fewer loops and join the files"
        )
    return n_loops


def _frames(decoded, anchors, weights, settings, n_loops):
    """Each sweep frame as a weighted sum of decoded frames at the same place in the loop.

    decoded : (K, n_bins, n_frames); anchors, weights : (n_sweep_frames, m)
    """
    per_loop = settings.n_frames - 1
    cols = np.arange(anchors.shape[0]) % per_loop
    picked = decoded[anchors, :, cols[:, None]]  # (n_sweep_frames, m, n_bins)
    return np.einsum("fm,fmb->bf", weights.astype(np.float32), picked)


def _resynthesise(S, settings, n_iter, seed, phase="random", *, images=(), weights=None, levels=None):
    """Griffin-Lim over the whole sweep at once, so that the phase runs on across the seams;
    stereo when an end has an image (``images``, blended with the ``weights`` at each frame,
    each end weighed by its ``levels`` too: ``stereo.blend``)."""
    # a sweep runs from its start to its end: it is not one loop, so it does not wrap around
    whole = dataclasses.replace(settings, n_frames=S.shape[1], fit="crop")
    mid = griffin_lim(S, whole, n_iter=n_iter, seed=seed, init=phase)
    image = blend_images(images, weights, frames=np.arange(S.shape[1]) % (settings.n_frames - 1), settings=settings,
                         levels=levels) if images else None
    return prevent_clipping(render(mid, image, whole, iterations=channel_iterations(n_iter), magnitude=S))


def sweep(model, a, b, *, curve="ramp", n_loops=4, loops=None, method="linear", n_levels=33, n_iter=32, seed=0, phase="random",
          bpm=None, bars=None, keep_hits=None):
    """Morph from A to B (and back, as the curve says) over ``n_loops`` loop lengths.

    Parameters
    ----------
    model : MorphModel
    a, b : str or int
        Sound A (α = 0) and sound B (α = 1), as for ``morph``.
    curve : str or sequence of (float, float)
        α over time (see ``parse_curve``); default a ramp from 0 to 1.
    n_loops : int > 0
        Length of the sweep in loops.
    loops : LoopSet or None
    method : {"linear", "spherical"}
    n_levels : int >= 2
        α values decoded in one batch; each frame blends the two nearest.
    n_iter : int > 0
        Griffin-Lim iterations over the whole sweep.
    seed : int >= 0
    phase : {"random", "pghi"}
        Griffin-Lim's start.
    bpm : float > 0 or None
        Write the sweep at this tempo, each loop stretched to ``bars`` whole bars
        (``morphlib.morphing.morphs.at_tempo``; default A's fitted bars).
    bars : int > 0 or None
    keep_hits : bool or None
        Give every level its ends' hits (``MorphModel.blend``); None: the model's choice.

    Returns
    -------
    morph : Morph
        ``S`` [shape=(n_bins, n_loops * (n_frames - 1) + 1)], ``y``
        [shape=(n_loops * n_samples,) or (2, n_loops * n_samples) when an end is stereo], ``path`` (α at every frame), ``curve`` (its text),
        ``alpha`` (the mean α).
    """
    settings = model.settings
    n_loops = _check_size(settings, n_loops)
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    n_levels = check_int("n_levels", n_levels, low=2, high=1024)
    n_iter = check_int("n_iter", n_iter, low=1, high=10000)
    points = parse_curve(curve, n_loops)
    name_a, z_a, image_a = resolve_sound(model, a, loops=loops)
    name_b, z_b, image_b = resolve_sound(model, b, loops=loops)
    alphas = np.interp(frame_times(settings, n_loops), *zip(*points))
    levels = np.linspace(0.0, 1.0, n_levels)
    decoded = model.blend(np.stack([z_a, z_b]), np.stack([1 - levels, levels], 1), method=method, keep_hits=keep_hits)
    pos = alphas * (n_levels - 1)
    lo = np.minimum(np.floor(pos).astype(int), n_levels - 2)
    frac = pos - lo
    S = _frames(decoded, np.stack([lo, lo + 1], 1), np.stack([1 - frac, frac], 1), settings, n_loops)
    y = _resynthesise(S, settings, n_iter, seed, phase, images=[image_a, image_b], weights=np.stack([1 - alphas, alphas], 1),
                      levels=end_levels(model, [z_a, z_b], [image_a, image_b]))
    label = curve if isinstance(curve, str) else ",".join(f"{p:g}:{q:g}" for p, q in points)
    out = Morph(name_a, name_b, float(alphas.mean()), method, S, y, settings.sr, path=alphas, curve=label)
    if bpm is not None:
        out = at_tempo(out, bpm, window_s=settings.duration, bars=bars or fitted_bars(loops, a))
    return out


def sweep_xy(model, corners, path, *, n_loops=None, loops=None, grid=9, n_iter=32, seed=0, phase="random", bpm=None, bars=None,
             keep_hits=None):
    """A path over the XY pad across several loops (the pad's ``sweep``).

    Parameters
    ----------
    model : MorphModel
    corners : sequence of str or int [shape=(4,)]
        Sounds a, b, c, d at (0, 0), (1, 0), (0, 1), (1, 1).
    path : str or sequence of (float, float, float)
        Breakpoints ``"loop:x/y,..."`` (see ``parse_path``).
    n_loops : int > 0 or None
        Length in loops; default the last breakpoint's loop, rounded up (at least 1).
    grid : int >= 2
        Points per side of the pad decoded in one batch; each frame blends the four nearest.
    bpm, bars : as for ``sweep`` (default corner a's fitted bars)
    keep_hits : bool or None
        As for ``sweep``.

    Returns
    -------
    morph : Morph
        As for ``sweep``; ``path`` holds (x, y) at every frame [shape=(n_frames, 2)].
    """
    points = parse_path(path)
    if n_loops is None:
        n_loops = max(1, int(np.ceil(points[-1][0])))
    settings = model.settings
    n_loops = _check_size(settings, n_loops)
    grid = check_int("grid", grid, low=2, high=64)
    n_iter = check_int("n_iter", n_iter, low=1, high=10000)
    names, z, images = resolve_corners(model, corners, loops=loops)
    t = frame_times(settings, n_loops)
    loop_at, xs, ys = zip(*points)
    x, y = np.interp(t, loop_at, xs), np.interp(t, loop_at, ys)
    g = np.linspace(0.0, 1.0, grid)
    gx, gy = np.meshgrid(g, g)  # row = y index, column = x index
    decoded = model.blend(z, bilinear_weights(gx.ravel(), gy.ravel()), keep_hits=keep_hits)
    px, py = x * (grid - 1), y * (grid - 1)
    ix, iy = np.minimum(np.floor(px).astype(int), grid - 2), np.minimum(np.floor(py).astype(int), grid - 2)
    fx, fy = px - ix, py - iy
    anchors = np.stack([iy * grid + ix, iy * grid + ix + 1, (iy + 1) * grid + ix, (iy + 1) * grid + ix + 1], 1)
    S = _frames(decoded, anchors, bilinear_weights(fx, fy), settings, n_loops)
    y_out = _resynthesise(S, settings, n_iter, seed, phase, images=images, weights=bilinear_weights(x, y),
                          levels=end_levels(model, z, images))
    label = path if isinstance(path, str) else ",".join(f"{p:g}:{q:g}/{r:g}" for p, q, r in points)
    xy = np.stack([x, y], 1)
    out = Morph(names[0], names[1], float(x.mean()), "xy", S, y_out, settings.sr, corners=names,
                xy=(float(x[-1]), float(y[-1])), path=xy, curve=label)
    if bpm is not None:
        out = at_tempo(out, bpm, window_s=settings.duration, bars=bars or fitted_bars(loops, corners[0]))
    return out
