"""A deterministic generator of synthetic techno/trance drum loops.

The tutorial trains on a paid loop library that morphlib can never ship, so the demo,
the notebooks and the tests run on these loops instead: 2 bars at 140 BPM (the
tutorial's shape), each with its own kick, snare or clap, hats, toms, pattern, swing
and levels, written as 44.1 kHz stereo 16-bit WAV like commercial loop packs.
"""

import dataclasses
import os

import numpy as np
import scipy.signal

from ..config import TUTORIAL_BARS, TUTORIAL_BPM, check_int
from ..errors import ParameterError
from ..progress import progress_bar

_WORDS = (
    "Overkill", "Kaputnik", "Strobe", "Warehouse", "Hypno", "Acid", "Pulse", "Neon",
    "Tunnel", "Voltage", "Orbit", "Rave", "Chrome", "Static", "Bunker", "Laser",
    "Sirius", "Magma", "Vortex", "Nitro", "Quasar", "Zenith", "Turbine", "Phantom",
)
_KINDS = ("", " Beat", " Loop", " Groove")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

STEPS_PER_BAR = 16


@dataclasses.dataclass(frozen=True)
class DrumKit:
    """The sound and groove of one loop (all times in seconds, frequencies in Hz)."""

    kick_start_hz: float
    kick_end_hz: float
    kick_sweep_s: float
    kick_decay_s: float
    kick_click: float
    kick_drive: float
    snare_kind: str  # "snare", "clap" or "rim"
    snare_tone_hz: float
    snare_noise_hz: float
    snare_decay_s: float
    hat_metallic: bool
    hat_cutoff_hz: float
    hat_closed_s: float
    hat_open_s: float
    tom_hz: float
    tom_decay_s: float
    kick_steps: tuple
    snare_steps: tuple
    closed_steps: tuple
    open_steps: tuple
    tom_steps: tuple
    swing: float  # delay of every second 16th, as a fraction of a 16th
    levels_db: dict
    level_db: float


def random_kit(rng, *, bars=TUTORIAL_BARS):
    """Draw one loop's sounds, pattern, swing and levels.

    Parameters
    ----------
    rng : np.random.Generator
    bars : int > 0

    Returns
    -------
    kit : DrumKit
    """
    steps = STEPS_PER_BAR * bars
    kick_bar = [
        (0, 4, 8, 12), (0, 4, 8, 12), (0, 4, 8, 12, 14), (0, 4, 8, 11, 12),
        (0, 3, 8, 12), (0, 6, 10), (0, 4, 7, 10, 12), (0, 8),
    ][rng.integers(8)]
    kick = _repeat(kick_bar, bars, steps)
    if rng.random() < 0.4:  # a variation at the end of the last bar
        kick = tuple(sorted(set(kick) | {steps - 2}))
    snare = _repeat((4, 12), bars, steps)
    if rng.random() < 0.35:
        snare = tuple(sorted(set(snare) | {int(rng.choice([7, 10, 15, 14 + STEPS_PER_BAR]) % steps)}))
    hat_grid = int(rng.choice([1, 2, 2, 4]))  # 16ths, 8ths or quarters
    closed = tuple(s for s in range(steps) if s % hat_grid == 0 and rng.random() > 0.08)
    if rng.random() < 0.7:
        open_ = _repeat((2, 6, 10, 14), bars, steps)
        closed = tuple(s for s in closed if s not in open_)
    else:
        open_ = ()
    toms = ()
    if rng.random() < 0.45:
        start = steps - int(rng.choice([3, 4, 6]))
        toms = tuple(range(start, steps))
    return DrumKit(
        kick_start_hz=rng.uniform(110, 260),
        kick_end_hz=rng.uniform(38, 62),
        kick_sweep_s=rng.uniform(0.015, 0.06),
        kick_decay_s=rng.uniform(0.12, 0.5),
        kick_click=rng.uniform(0.0, 0.5),
        kick_drive=rng.uniform(1.0, 4.0),
        snare_kind=str(rng.choice(["snare", "clap", "rim"], p=[0.45, 0.4, 0.15])),
        snare_tone_hz=rng.uniform(160, 260),
        snare_noise_hz=rng.uniform(1200, 6000),
        snare_decay_s=rng.uniform(0.08, 0.3),
        hat_metallic=bool(rng.random() < 0.5),
        hat_cutoff_hz=rng.uniform(5000, 9000),
        hat_closed_s=rng.uniform(0.02, 0.07),
        hat_open_s=rng.uniform(0.15, 0.45),
        tom_hz=rng.uniform(70, 180),
        tom_decay_s=rng.uniform(0.15, 0.4),
        kick_steps=kick,
        snare_steps=snare,
        closed_steps=closed,
        open_steps=open_,
        tom_steps=toms,
        swing=float(rng.choice([0.0, 0.0, rng.uniform(0.05, 0.25)])),
        levels_db={
            "kick": rng.uniform(-3, 0),
            "snare": rng.uniform(-12, -3),
            "closed": rng.uniform(-20, -8),
            "open": rng.uniform(-20, -9),
            "tom": rng.uniform(-12, -4),
        },
        level_db=rng.uniform(-9, -1),
    )


def _repeat(bar_steps, bars, steps):
    return tuple(s + STEPS_PER_BAR * b for b in range(bars) for s in bar_steps if s + STEPS_PER_BAR * b < steps)


def _env(n, sr, decay_s):
    return np.exp(-np.arange(n) / (sr * decay_s)).astype(np.float64)


def _kick(kit, sr, rng):
    n = int(sr * min(1.0, 5 * kit.kick_decay_s))
    t = np.arange(n) / sr
    freq = kit.kick_end_hz + (kit.kick_start_hz - kit.kick_end_hz) * np.exp(-t / kit.kick_sweep_s)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    body = np.sin(phase) * _env(n, sr, kit.kick_decay_s)
    click = rng.standard_normal(n) * _env(n, sr, 0.002) * kit.kick_click
    return np.tanh(kit.kick_drive * (body + click)) / np.tanh(kit.kick_drive)


def _bandpass(x, sr, centre_hz, q=1.5):
    low = max(20.0, centre_hz / (1 + 1 / q))
    high = min(0.45 * sr, centre_hz * (1 + 1 / q))
    sos = scipy.signal.butter(2, [low, high], btype="bandpass", fs=sr, output="sos")
    return scipy.signal.sosfilt(sos, x)


def _highpass(x, sr, cutoff_hz):
    sos = scipy.signal.butter(4, min(cutoff_hz, 0.45 * sr), btype="highpass", fs=sr, output="sos")
    return scipy.signal.sosfilt(sos, x)


def _snare(kit, sr, rng):
    n = int(sr * min(1.0, 5 * kit.snare_decay_s))
    t = np.arange(n) / sr
    noise = _bandpass(rng.standard_normal(n), sr, kit.snare_noise_hz)
    noise /= np.max(np.abs(noise)) + 1e-12
    if kit.snare_kind == "clap":
        bursts = sum(
            (t >= k * 0.011) * np.exp(-np.maximum(t - k * 0.011, 0) / 0.004) for k in range(3)
        )
        env = bursts * 0.6 + (t >= 0.033) * np.exp(-np.maximum(t - 0.033, 0) / kit.snare_decay_s)
        return noise * env
    tone = np.sin(2 * np.pi * kit.snare_tone_hz * t) * _env(n, sr, 0.05)
    if kit.snare_kind == "rim":
        return 0.8 * np.sin(2 * np.pi * 2.7 * kit.snare_tone_hz * t) * _env(n, sr, 0.012) + 0.3 * noise * _env(n, sr, 0.01)
    return 0.5 * tone + 0.8 * noise * _env(n, sr, kit.snare_decay_s)


def _hat(kit, sr, rng, decay_s):
    n = int(sr * min(1.0, 5 * decay_s))
    t = np.arange(n) / sr
    if kit.hat_metallic:  # six detuned square waves, as in the classic analogue hats
        ratios = np.array([2.0, 3.0, 4.16, 5.43, 6.79, 8.21])
        src = sum(np.sign(np.sin(2 * np.pi * 40 * r * t + r)) for r in ratios)
    else:
        src = rng.standard_normal(n)
    out = _highpass(src, sr, kit.hat_cutoff_hz) * _env(n, sr, decay_s)
    return out / (np.max(np.abs(out)) + 1e-12)


def _tom(kit, sr, hz):
    n = int(sr * min(1.0, 5 * kit.tom_decay_s))
    t = np.arange(n) / sr
    freq = hz * (1 + 0.6 * np.exp(-t / 0.03))
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * _env(n, sr, kit.tom_decay_s)


def render_loop(kit, *, sr=44100, bpm=TUTORIAL_BPM, bars=TUTORIAL_BARS, seed=0):
    """Render one loop from its kit.

    Parameters
    ----------
    kit : DrumKit
    sr : int > 0
        Output sample rate in Hz.
    bpm : float > 0
    bars : int > 0
    seed : int
        Seeds the noise sources, so that the same kit and seed give the same samples.

    Returns
    -------
    y : np.ndarray [shape=(2, n), dtype=float32]
        Stereo loop in [-1, 1]; ``n = round(bars * 4 * 60 / bpm * sr)``. Tails that
        ring past the end wrap around to the start, as in a seamless loop.
    """
    rng = np.random.default_rng(seed)
    n = int(round(bars * 4 * 60.0 / bpm * sr))
    step_len = n / (STEPS_PER_BAR * bars)
    out = np.zeros((2, n + sr), dtype=np.float64)
    hits = {
        "kick": (_kick(kit, sr, rng), kit.kick_steps, 0.0),
        "snare": (_snare(kit, sr, rng), kit.snare_steps, 0.1),
        "closed": (_hat(kit, sr, rng, kit.hat_closed_s), kit.closed_steps, -0.3),
        "open": (_hat(kit, sr, rng, kit.hat_open_s), kit.open_steps, 0.3),
    }
    for name, (sound, steps, pan) in hits.items():
        gain = 10 ** (kit.levels_db[name] / 20)
        for s in steps:
            accent = 1.0 if s % 4 == 0 else rng.uniform(0.55, 0.95)
            _place(out, sound * gain * accent, _onset(s, step_len, kit.swing), pan)
    tom_gain = 10 ** (kit.levels_db["tom"] / 20)
    for k, s in enumerate(kit.tom_steps):  # a falling fill
        _place(out, _tom(kit, sr, kit.tom_hz * 1.5 ** (-k / 2)) * tom_gain, _onset(s, step_len, kit.swing), 0.4 - 0.2 * k)
    out[:, : sr] += out[:, n:]
    y = out[:, :n]
    y = np.tanh(1.2 * y) / np.tanh(1.2)  # gentle bus saturation
    y *= 10 ** (kit.level_db / 20) / (np.max(np.abs(y)) + 1e-12)
    return y.astype(np.float32)


def _onset(step, step_len, swing):
    return int(round(step * step_len + (swing * step_len if step % 2 else 0.0)))


def _place(out, sound, start, pan):
    end = min(out.shape[1], start + len(sound))
    seg = sound[: end - start]
    out[0, start:end] += seg * np.sqrt(0.5 * (1 - pan))
    out[1, start:end] += seg * np.sqrt(0.5 * (1 + pan))


def demo_loop_names(n, *, seed=0):
    """``n`` distinct loop names in the style of commercial packs ("Overkill J").

    Parameters
    ----------
    n : int >= 0
    seed : int
    """
    pool = [f"{w}{k} {c}" for w in _WORDS for k in _KINDS for c in _LETTERS]
    if n > len(pool):
        raise ParameterError(f"n must be at most {len(pool)} demo loops, got {n}")
    order = np.random.default_rng([seed, 1]).permutation(len(pool))[:n]
    return [pool[i] for i in order]


def synth_drums(out_dir, *, n=74, seed=0, sr=44100, bpm=TUTORIAL_BPM, bars=TUTORIAL_BARS, progress=True):
    """Write ``n`` synthetic drum loops as 16-bit stereo WAV files into ``out_dir``.

    The same ``seed`` always gives the same files. Files that already exist with the
    name a loop would get are kept as they are (never overwritten) and reported.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to write into (created if missing).
    n : int > 0
        Number of loops (tutorial: 74).
    seed : int >= 0
    sr : int > 0
        Sample rate of the files in Hz.
    bpm : float > 0
    bars : int > 0
    progress : bool
        Show a progress bar.

    Returns
    -------
    paths : list of str
        The loops' paths, in the order they were generated.
    """
    import soundfile as sf

    n = check_int("n", n, low=1)
    seed = check_int("seed", seed, low=0)
    sr = check_int("sr", sr, low=8000, high=192000)
    bars = check_int("bars", bars, low=1, high=64)
    if not 20 <= float(bpm) <= 400:
        raise ParameterError(f"bpm must be between 20 and 400, got {bpm!r}")
    os.makedirs(out_dir, exist_ok=True)
    names = demo_loop_names(n, seed=seed)
    seeds = np.random.SeedSequence(seed).spawn(n)
    paths = []
    for name, ss in progress_bar(list(zip(names, seeds)), desc="synthesising loops", enabled=progress):
        path = os.path.join(os.fspath(out_dir), name + ".wav")
        paths.append(path)
        if os.path.exists(path):
            continue
        rng = np.random.default_rng(ss)
        kit = random_kit(rng, bars=bars)
        y = render_loop(kit, sr=sr, bpm=bpm, bars=bars, seed=int(rng.integers(2**31)))
        tmp = path + ".part"
        sf.write(tmp, y.T, sr, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    return paths
