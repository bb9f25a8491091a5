"""Tempo and bars of a loop, and fitting its whole bars to the model's window.

A producer's loops come at any tempo and length: 2 bars at 120 BPM last 4.00 s, 1 bar at
140 BPM 1.71 s, 4 bars at 174 BPM 5.52 s. Cropping or padding each to the window (the
tutorial's 3.41 s) cuts bars short or leaves silence, so every loop stutters at its seam.
With ``fit="stretch"`` each file's tempo is found — from a BPM in its name, else from the
beat tracker together with its duration — and its whole bars are time-stretched so that
they fill the window exactly:

- the file's length in bars is ``duration * bpm / 240`` (4/4), rounded to whole bars;
- the window is filled with 1, 2, 4 or 8 bars: the first bars of the file, or a short
  loop repeated (a 1-bar loop played twice is 2 bars);
- of these, the one that needs the least stretch wins (the smallest ``|log(stretch)|``);
  a stretch outside ``STRETCH_LIMITS`` (×0.67 to ×1.5) is refused and the file is cropped
  as with ``fit="crop"``, saying why.

The stretch treats the bars as a loop (they are tiled before stretching and the middle
copy kept), so that the fitted loop joins without a click. Signalsmith Stretch (the pip
package python-stretch) stretches, or Rubber Band (``rubberband-cli``, through pyrubberband)
where only that is installed; measured on recorded drums (benchmarks/tempo.py) both keep
the hits where librosa's phase vocoder, the last fallback, smears them.
"""

import dataclasses
import functools
import math
import os
import re
import shutil

import numpy as np

from ..errors import ParameterError
from .backbeat import pick_octave

#: Tempos a BPM in a file name is believed within, and that detection reports.
BPM_RANGE = (60.0, 200.0)
#: Beats per bar (every loop is taken to be in 4/4).
BEATS_PER_BAR = 4
#: Bar counts the window is filled with.
BAR_CHOICES = (1, 2, 4, 8)
#: The smallest and largest stretch (output duration over input duration) that is done.
STRETCH_LIMITS = (0.67, 1.5)
#: A name's and the audio's tempo that differ by more than this factor contradict.
CONTRADICTION = 1.5
#: How far (relative) a tempo may be from one that makes the file whole bars.
WHOLE_BAR_TOLERANCE = 0.04

_NAMED = (
    re.compile(r"(?<![\d.])(\d{2,3}(?:\.\d+)?)\s*[-_ ]?\s*bpm", re.IGNORECASE),  # 128bpm, 128 BPM, 128-bpm
    re.compile(r"bpm\s*[-_ ]?\s*(\d{2,3}(?:\.\d+)?)(?![\d.])", re.IGNORECASE),  # BPM128, bpm_128
)
#: A bare number between separators (``_128_``, ``-128-``, ``loop_128``), without leading zero.
_BARE = re.compile(r"(?:^|[_\-])([1-9]\d{1,2})(?=[_\-]|$)")


@dataclasses.dataclass(frozen=True)
class Tempo:
    """A loop's tempo and length.

    Attributes
    ----------
    bpm : float > 0
        Beats (quarter notes) per minute.
    source : {"name", "detected"}
        Where ``bpm`` came from: the file name, or the beat tracker with the duration.
    bars : float > 0
        The file's duration in bars at ``bpm`` (not rounded).
    note : str or None
        Why the other source was not used, when the name and the audio disagreed.
    """

    bpm: float
    source: str
    bars: float
    note: str = None

    @property
    def whole_bars(self):
        """The file's whole bars: ``bars`` rounded when within a tenth of a bar, else floored."""
        near = round(self.bars)
        return int(near) if abs(self.bars - near) <= 0.1 else int(math.floor(self.bars))


@dataclasses.dataclass(frozen=True)
class BarFit:
    """How a loop's bars fill the window.

    Attributes
    ----------
    bars : int > 0
        Bars in the window.
    source_bars : float > 0
        Bars of the file used (``bars`` when it is long enough; fewer, repeated, when not).
    repeats : int >= 1
        Times the used bars are played to fill ``bars``.
    stretch : float > 0
        Output duration over input duration (1: unchanged, 2: twice as long).
    """

    bars: int
    source_bars: float
    repeats: int
    stretch: float

    @property
    def within_limits(self):
        return STRETCH_LIMITS[0] <= self.stretch <= STRETCH_LIMITS[1]


def bpm_from_name(name):
    """The tempo a file name states, or None.

    Parameters
    ----------
    name : str
        A file name or path; ``"Funk 128bpm"``, ``"kick_128_BPM"``, ``"BPM128 loop"``,
        ``"breaks_128_a"`` and ``"loop-128-2"`` all give 128. A bare number counts only
        between ``_`` or ``-`` separators, without a leading zero, inside ``BPM_RANGE``.

    Returns
    -------
    bpm : float or None
    """
    stem, ext = os.path.splitext(os.path.basename(os.fspath(name)))
    if not re.fullmatch(r"\.[A-Za-z][A-Za-z0-9]{1,4}", ext):  # "124.5 BPM" has no extension
        stem += ext
    for pattern in _NAMED:
        for m in pattern.finditer(stem):
            bpm = float(m.group(1))
            if BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
                return bpm
    bare = [float(m.group(1)) for m in _BARE.finditer(stem) if BPM_RANGE[0] <= float(m.group(1)) <= BPM_RANGE[1]]
    return bare[0] if len(bare) == 1 else None


def _onset_frames(sr):
    """FFT size of about 93 ms (2048 samples at 22,050 Hz) and a quarter of it as hop."""
    n_fft = int(2 ** round(math.log2(0.093 * sr)))
    return n_fft, n_fft // 4


def onset_envelope(y, *, sr):
    """librosa's onset strength of ``y`` [shape=(1 + len(y) // hop,)], from frames of about
    93 ms with a hop of a quarter of that (``_onset_frames``)."""
    import librosa

    n_fft, hop = _onset_frames(sr)
    return librosa.onset.onset_strength(y=np.asarray(y, np.float32), sr=sr, hop_length=hop, n_fft=min(n_fft, max(64, len(y))))


def detect_bpm(y, *, sr):
    """The loop's tempo from its audio: the beat tracker's, taken to the nearest tempo at
    which the file is 1, 2, 4 or 8 whole bars when one is close (loops are cut to whole
    bars), its octave then read from the pattern (``backbeat.pick_octave``: the snare on
    beats 2 and 4).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int > 0

    Returns
    -------
    bpm : float or None
        None when the signal has no beat to follow (``why_no_tempo`` says which).
    """
    import librosa

    y = np.asarray(y, np.float32)
    env = onset_envelope(y, sr=sr)
    hop_length = _onset_frames(sr)[1]
    if len(env) < 8 or not np.any(env > 0):
        return None
    tracked = float(librosa.feature.tempo(onset_envelope=env, sr=sr, hop_length=hop_length)[0])
    if not tracked > 0:
        return None
    duration = len(y) / sr
    whole = [BEATS_PER_BAR * 60 * k / duration for k in BAR_CHOICES]
    whole = [c for c in whole if BPM_RANGE[0] <= c <= BPM_RANGE[1]]
    if _repetition(env, [tracked * f for f in (0.5, 1.0, 2.0)] + whole, fps=sr / hop_length) < MIN_REPETITION:
        return None

    def off(c):  # from the tracker, forgiving it an octave
        return min(abs(math.log(c / (tracked * f))) + (0.01 if f != 1.0 else 0.0) for f in (0.5, 1.0, 2.0))

    close = [c for c in whole if off(c) <= WHOLE_BAR_TOLERANCE + 0.01]
    if close:
        return pick_octave(y, float(min(close, key=off)), sr=sr, low=BPM_RANGE[0], high=BPM_RANGE[1])
    # the tracker is unsure on short loops: still trust a length of whole bars when it is
    # within a factor of 1.5, the tempo nearer 120 BPM winning between octaves
    loose = [c for c in whole if off(c) <= math.log(CONTRADICTION)]
    if loose:
        best = float(min(loose, key=lambda c: off(c) + abs(math.log2(c / 120.0))))
        return pick_octave(y, best, sr=sr, low=BPM_RANGE[0], high=BPM_RANGE[1])
    while tracked > BPM_RANGE[1]:
        tracked /= 2
    while tracked < BPM_RANGE[0]:
        tracked *= 2
    return tracked


#: How alike the onset envelope must be to itself a beat later (circular autocorrelation,
#: 1 at the lag 0) at one of the tempos tried, for the loop to have a beat.
MIN_REPETITION = 0.2


def _repetition(env, tempos, *, fps):
    """How alike the onset envelope is to itself a beat later, at the best of ``tempos``:
    its autocorrelation over its mean (1 at lag 0), plain or circular (a loop repeats around
    its end, so there the lag wraps), at the frames on either side of the beat's lag."""
    import librosa

    x = env - env.mean()
    plain = librosa.autocorrelate(x)
    circular = np.fft.irfft(np.abs(np.fft.rfft(x)) ** 2, n=len(x))
    if not (plain[0] > 0 and circular[0] > 0):
        return 0.0
    best = 0.0
    for bpm in tempos:
        lag = 60 * fps / bpm if bpm > 0 else 0
        for k in {math.floor(lag), math.ceil(lag)}:
            if 0 < k < len(x):
                best = max(best, float(plain[k] / plain[0]), float(circular[k] / circular[0]))
    return best


def why_no_tempo(y, *, sr):
    """Why ``detect_bpm`` finds no tempo in ``y``: a line for the loading table, or None
    when it finds one."""
    y = np.asarray(y, np.float32)
    env = onset_envelope(y, sr=sr)
    if not np.any(np.abs(y) > 0):
        return "silent"
    if len(env) < 8:
        return f"too short to hear a beat ({len(y) / sr:.2f} s)"
    if not np.any(env > 0):
        return "no onsets (no hit to follow)"
    if detect_bpm(y, sr=sr) is not None:
        return None
    duration, fps = len(y) / sr, sr / _onset_frames(sr)[1]
    tempos = np.geomspace(BPM_RANGE[0], BPM_RANGE[1], 64).tolist() + [BEATS_PER_BAR * 60 * k / duration for k in BAR_CHOICES]
    likeness = {bpm: _repetition(env, [bpm], fps=fps) for bpm in tempos}
    best = max(likeness, key=likeness.get)
    if likeness[best] >= MIN_REPETITION:
        return (f"its onsets repeat at about {best:.0f} BPM, which neither the beat tracker nor its length "
                f"({duration:.2f} s) in whole bars gives")
    return (f"its onsets do not repeat at any beat from {BPM_RANGE[0]:g} to {BPM_RANGE[1]:g} BPM "
            f"(best likeness {likeness[best]:.2f}, at least {MIN_REPETITION} needed)")


def bars_in(duration, bpm):
    """Bars (4/4) that ``duration`` seconds last at ``bpm``."""
    return duration * bpm / (BEATS_PER_BAR * 60.0)


def _whole_bars_off(duration, bpm):
    """How far, relative, ``bpm`` is from the nearest tempo that makes ``duration`` whole bars."""
    bars = bars_in(duration, bpm)
    return abs(bars - max(1, round(bars))) / max(bars, 1e-9)


def find_tempo(y, *, sr, name=None):
    """The tempo of a loop: its name's BPM when it has one that the audio does not
    contradict, else the beat tracker's.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int > 0
    name : str or None
        File name, searched for a BPM (``bpm_from_name``).

    Returns
    -------
    tempo : Tempo or None
        None when neither the name nor the audio gives a tempo.

    Notes
    -----
    The name and the audio contradict when their tempos differ by more than a factor of
    ``CONTRADICTION`` (1.5). Then the one that makes the file a whole number of bars is
    used, the name's when both do (a tracker an octave off) or neither does, and
    ``Tempo.note`` says which and why.
    """
    duration = len(y) / sr
    named = bpm_from_name(name) if name else None
    detected = detect_bpm(y, sr=sr)
    if named is None:
        return Tempo(detected, "detected", bars_in(duration, detected)) if detected else None
    if detected is None:
        return Tempo(named, "name", bars_in(duration, named))
    if abs(math.log(named / detected)) <= math.log(CONTRADICTION):
        return Tempo(named, "name", bars_in(duration, named))
    name_whole = _whole_bars_off(duration, named) <= WHOLE_BAR_TOLERANCE
    audio_whole = _whole_bars_off(duration, detected) <= WHOLE_BAR_TOLERANCE
    if audio_whole and not name_whole:
        note = (f"the name says {named:g} BPM but the audio {detected:.1f} BPM, at which its "
                f"{duration:.2f} s are whole bars: the audio's tempo used")
        return Tempo(detected, "detected", bars_in(duration, detected), note)
    note = f"the name says {named:g} BPM, the audio {detected:.1f} BPM: the name's tempo used"
    return Tempo(named, "name", bars_in(duration, named), note)


def choose_bars(tempo, window_s):
    """The bars that fill a window of ``window_s`` seconds with the least stretch.

    Parameters
    ----------
    tempo : Tempo
    window_s : float > 0

    Returns
    -------
    fit : BarFit or None
        None when the file is shorter than one beat. A fit whose stretch is outside
        ``STRETCH_LIMITS`` is returned too (``fit.within_limits`` is False).
    """
    beats = tempo.bars * BEATS_PER_BAR
    if beats < 1 - 0.1:
        return None
    bar_s = BEATS_PER_BAR * 60.0 / tempo.bpm
    if tempo.whole_bars >= 1:  # the first bars of the file
        pieces = [b for b in BAR_CHOICES if b <= tempo.whole_bars]
    else:  # less than a bar: its whole beats (1 or 2), repeated
        pieces = [(2 if beats >= 2 - 0.1 else 1) / BEATS_PER_BAR]
    options = []
    for used in pieces:
        for total in BAR_CHOICES:
            repeats = total / used
            if total < used or abs(repeats - round(repeats)) > 1e-9 or (round(repeats) & (round(repeats) - 1)):
                continue  # the window holds the piece a power of two times
            stretch = window_s / (total * bar_s)
            # least stretch first; then fewer repeats, then more of the file
            options.append(((round(abs(math.log(stretch)), 9), round(repeats), -used),
                            BarFit(int(total), float(used), int(round(repeats)), stretch)))
    return min(options, key=lambda o: o[0])[1]


def nearest_bars(window_s, bpm):
    """The power of two (1 to 64) nearest, in ratio, to the bars ``window_s`` seconds last at ``bpm``."""
    bars = bars_in(window_s, bpm)
    return int(2 ** min(6, max(0, round(math.log2(max(bars, 1e-9))))))


@functools.lru_cache(maxsize=1)
def stretcher():
    """The time-stretcher used: ``"signalsmith"`` when python-stretch is installed (from pip
    alone, in every venue), else ``"rubberband"`` when the ``rubberband`` program and
    pyrubberband are, else ``"librosa"`` (the phase vocoder, which smears hits).

    Measured by ``benchmarks/tempo.py`` on recorded drums (docs/data.md): Signalsmith
    Stretch keeps the hits about as Rubber Band's percussive engine does (onset correlation
    0.974 against 0.985; the phase vocoder 0.695) and is the closest of the three to the
    real render at the other tempo."""
    try:
        import python_stretch  # noqa: F401  (only whether it is there)
    except ImportError:
        pass
    else:
        return "signalsmith"
    try:
        import pyrubberband  # noqa: F401
    except ImportError:
        return "librosa"
    return "rubberband" if shutil.which("rubberband") else "librosa"


#: Stretchers by name, and how the loading table names them.
STRETCHERS = {"signalsmith": "Signalsmith Stretch", "rubberband": "Rubber Band", "librosa": "phase vocoder"}


def time_stretch(y, *, sr, stretch, loop=True, method=None):
    """Stretch ``y`` in time without changing its pitch.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Channels are stretched together (their hits stay aligned).
    sr : int > 0
    stretch : float > 0
        Output duration over input duration.
    loop : bool
        Treat ``y`` as a loop: its end joins its start, and the result does too.
    method : {"signalsmith", "rubberband", "librosa"} or None
        Default ``stretcher()``. ``signalsmith``: Signalsmith Stretch (python-stretch);
        ``rubberband``: Rubber Band's percussive R2 engine (the ``rubberband`` program).

    Returns
    -------
    y : np.ndarray [shape=(..., round(n * stretch)), dtype=float32]
    """
    import librosa

    y = np.asarray(y, np.float32)
    n_out = int(round(y.shape[-1] * stretch))
    method = method or stretcher()
    source = np.concatenate([y] * 3, axis=-1) if loop else y
    if method == "rubberband":
        import pyrubberband

        # the percussive R2 engine, Rubber Band's default: it keeps drum hits (benchmarks/tempo.py)
        out = pyrubberband.time_stretch(source.T, sr, 1.0 / stretch).T
    elif method == "signalsmith":
        out = _signalsmith(source, sr=sr, stretch=stretch)
    elif method == "librosa":
        out = librosa.effects.time_stretch(source, rate=1.0 / stretch)
    else:
        raise ParameterError(f"method must be one of {tuple(STRETCHERS)}, got {method!r}")
    out = np.asarray(out, np.float32)
    if loop:
        out = librosa.util.fix_length(out, size=3 * n_out)[..., n_out : 2 * n_out]
    return librosa.util.fix_length(out, size=n_out)


def _signalsmith(y, *, sr, stretch):
    """``y`` stretched by Signalsmith Stretch (its time factor is a speed; its output is
    aligned with its input)."""
    import python_stretch

    channels = np.atleast_2d(np.asarray(y, np.float32))
    engine = python_stretch.Signalsmith.Stretch()
    engine.preset(len(channels), sr)
    engine.setTimeFactor(1.0 / stretch)
    out = np.asarray(engine.process(np.ascontiguousarray(channels)))
    return out if np.ndim(y) == 2 else out[0]


def fit_to_window(y, *, sr, n_samples, tempo, method=None):
    """Stretch the loop's whole bars to fill ``n_samples`` exactly.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
    sr : int > 0
    n_samples : int > 0
        The window's length.
    tempo : Tempo

    Returns
    -------
    y : np.ndarray [shape=(..., n_samples), dtype=float32] or None
        None when the bars cannot be fitted (see ``reason``).
    fit : BarFit or None
    reason : str or None
        Why not: shorter than a beat, or a stretch outside the limits.
    """
    import librosa

    fit = choose_bars(tempo, n_samples / sr)
    beat_s = 60.0 / tempo.bpm
    if fit is None:
        return None, None, f"shorter than one beat ({np.shape(y)[-1] / sr:.2f} s at {tempo.bpm:.1f} BPM, a beat is {beat_s:.2f} s)"
    if not fit.within_limits:
        return None, fit, (f"{fit.bars} bar{'s' * (fit.bars > 1)} at {tempo.bpm:.1f} BPM would need a stretch of "
                           f"×{fit.stretch:.2f}, outside ×{STRETCH_LIMITS[0]}–×{STRETCH_LIMITS[1]}")
    used = int(round(fit.source_bars * BEATS_PER_BAR * beat_s * sr))
    piece = librosa.util.fix_length(np.asarray(y, np.float32), size=used)
    piece = np.concatenate([piece] * fit.repeats, axis=-1)
    out = time_stretch(piece, sr=sr, stretch=n_samples / piece.shape[-1], loop=True, method=method)
    return librosa.util.fix_length(out, size=n_samples), fit, None


def seam_level(y, *, sr, width_s=0.006, cutoff_hz=2000.0):
    """How loud the join of a loop is, against the middle of the loop.

    The loop is played three times; a window of ``width_s`` across the join, high-passed at
    ``cutoff_hz`` (a click is broadband; the body of the drums is not), is compared with
    the same window across the loop's middle. In a loop of whole bars the middle is a bar
    line (half a bar in a 1-bar loop), the same kind of place as the join, and nothing
    was cut there.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int > 0
    width_s : float > 0
    cutoff_hz : float in (0, sr / 2)

    Returns
    -------
    level_db : float
        The join's level over the middle's, in dB: about 0 (give or take the music) for a
        loop that joins as it plays in its middle, well above 0 for a click, well below for
        a gap. Averaged over many loops, the spread around 0 is the music's.
    """
    import scipy.signal

    y = np.asarray(y, np.float64)
    n = len(y)
    half = max(1, int(round(width_s * sr / 2)))
    sos = scipy.signal.butter(4, cutoff_hz, "highpass", fs=sr, output="sos")
    thrice = scipy.signal.sosfiltfilt(sos, np.tile(y, 3))

    def level(at):  # at: a position in the middle copy
        seg = thrice[n + at - half : n + at + half]
        return math.sqrt(float(np.mean(seg**2)) + 1e-20)

    return 20 * math.log10(level(0) / level(n // 2))
