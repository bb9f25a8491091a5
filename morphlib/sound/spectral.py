"""Magnitude spectrograms and phase reconstruction (Griffin-Lim)."""

import functools

import numpy as np

from ..config import AnalysisSettings, check_int
from ..errors import ParameterError


def magnitude(y, settings=None):
    """|STFT| of a signal, as the tutorial computes it (Hann window, centred frames).

    Equal to ``np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length))`` (zero
    padding at the edges), computed with scipy's FFT in float32. With settings whose
    loops are circular (``fit="stretch"``) the edges are padded with the other end of the
    loop instead (``pad_mode="wrap"``), so that the first and last frames see the join.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (m, n)]
        Signal(s) at ``settings.sr``.
    settings : AnalysisSettings or None
        ``n_fft`` (= window length) and ``hop_length``; default: the tutorial's.

    Returns
    -------
    S : np.ndarray [shape=(n_bins, 1 + n // hop_length) or (m, n_bins, 1 + n // hop_length), dtype=float32]
        Linear magnitude, >= 0.
    """
    pr = reconstructor(settings or AnalysisSettings())
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return np.abs(pr.stft(y)).T.copy()
    return np.stack([np.abs(pr.stft(row)).T for row in y])


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


def griffin_lim(S, settings=None, *, n_iter=32, seed=0, momentum=0.99, init=None):
    """Estimate a waveform whose |STFT| is ``S`` (fast Griffin-Lim, as librosa's).

    Parameters
    ----------
    S : np.ndarray [shape=(n_bins, n_frames)]
        Non-negative linear magnitude.
    settings : AnalysisSettings or None
    n_iter : int >= 0
        Iterations (tutorial: 32); 0 gives the starting phase as it is.
    seed : int >= 0
        Seeds the random initial phase, so the same call gives the same audio.
    momentum : float in [0, 1)
        Fast Griffin-Lim's momentum (0 is the classic algorithm).
    init : {"random", "pghi"} or np.ndarray [shape=(n_bins, n_frames)] or None
        The starting phase: ``"random"`` (or None; the tutorial's), ``"pghi"``
        (phase-gradient integration, ``morphlib.sound.phase.pghi``: as consistent after 16
        iterations as a random start after 32), or a phase in radians (for example
        ``phase_of`` the previous morph's audio, when morphing in small steps).

    Returns
    -------
    y : np.ndarray [shape=((n_frames - 1) * hop_length,), dtype=float32]
    """
    settings = settings or AnalysisSettings()
    n_iter = check_int("n_iter", n_iter, low=0, high=10000)
    S = np.asarray(S, dtype=np.float32)
    if S.ndim != 2 or S.shape[0] != settings.n_bins:
        raise ParameterError(
            f"S must have shape (n_bins={settings.n_bins}, n_frames), got {S.shape}"
        )
    if not 0 <= momentum < 1:
        raise ParameterError(f"momentum must be in [0, 1), got {momentum!r}")
    init = starting_phase(init, S, settings)
    return reconstructor(settings)(S, n_iter=n_iter, seed=check_int("seed", seed, low=0), momentum=momentum, init=init)


#: The named starting phases ``griffin_lim`` takes.
PHASE_STARTS = ("random", "pghi")


def starting_phase(init, S, settings):
    """``init`` as ``griffin_lim`` takes it → None (random) or a phase array of ``S``'s shape."""
    if init is None or (isinstance(init, str) and init == "random"):
        return None
    if isinstance(init, str):
        if init == "pghi":
            from .phase import pghi

            return pghi(S, settings)
        raise ParameterError(f"init must be one of {PHASE_STARTS} or a phase array, got {init!r}")
    if np.shape(init) != S.shape:
        raise ParameterError(f"init must be a phase of shape {S.shape}, got {np.shape(init)}")
    return init


def phase_of(y, settings=None):
    """The STFT phase of ``y`` in radians [shape=(n_bins, 1 + len(y) // hop_length)]: a warm
    start for ``griffin_lim`` of a similar magnitude."""
    return np.angle(reconstructor(settings or AnalysisSettings()).stft(np.asarray(y, np.float32))).T


def griffin_lim_librosa(S, settings=None, *, n_iter=32, seed=0, momentum=0.99):
    """``librosa.griffinlim`` with the same arguments: the reference the benchmark compares with."""
    import librosa

    settings = settings or AnalysisSettings()
    S = np.maximum(np.nan_to_num(np.asarray(S, dtype=np.float32)), 0.0)
    return librosa.griffinlim(
        S, n_iter=n_iter, hop_length=settings.hop_length, win_length=settings.n_fft, n_fft=settings.n_fft,
        momentum=momentum, init="random", random_state=np.random.default_rng(seed),
        length=(S.shape[1] - 1) * settings.hop_length,
    ).astype(np.float32)


@functools.lru_cache(maxsize=8)
def reconstructor(settings):
    """The shared PhaseReconstructor for ``settings`` (window and envelopes made once)."""
    return PhaseReconstructor(settings)


def unit_phasors(angle):
    """``exp(1j * angle)`` as complex64, from float32 cosines and sines (an eighth of the
    time complex128 ``np.exp`` takes for a loop's 150,000 bins)."""
    angle = np.asarray(angle, np.float32)
    out = np.empty(angle.shape, np.complex64)
    np.cos(angle, out=out.real)
    np.sin(angle, out=out.imag)
    return out


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


class PhaseReconstructor:
    """Griffin-Lim for one analysis setting, with the FFT plan, window and overlap-add
    envelope computed once, so that repeated calls (a slider) cost only the iterations.

    Same algorithm as ``librosa.griffinlim`` (fast Griffin-Lim with momentum, Hann
    window, centred zero-padded frames), in float32 with scipy's FFT: about twice as
    fast, with the same spectral convergence. For circular settings (``fit="stretch"``)
    the signal is a loop: frames are padded with its other end, and what overlap-adds
    past one end is added at the other, so that the result joins without a seam.

    Parameters
    ----------
    settings : AnalysisSettings
    """

    def __init__(self, settings):
        import scipy.signal

        self.settings = settings
        n_fft, hop = settings.n_fft, settings.hop_length
        self.window = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
        self.n_overlap = -(-n_fft // hop)  # frames that overlap one hop, rounded up
        self.circular = settings.circular
        self._envelopes = {}

    def _envelope(self, n_frames):
        env = self._envelopes.get(n_frames)
        if env is None:
            env = self._overlap_add(np.broadcast_to(self.window**2, (n_frames, self.settings.n_fft)))
            env = np.where(env > 1e-8, env, 1.0).astype(np.float32)
            self._envelopes[n_frames] = env
        return env

    def _fold(self, signal, length):
        """A circular loop of ``length`` samples from an overlap-added, centred signal: the
        padding before its start belongs to its end, the padding after its end to its start."""
        start = self.settings.n_fft // 2
        out = signal[start : start + length].copy()
        head, tail = signal[:start], signal[start + length :]
        for k in range(0, len(head), length):  # a loop shorter than the padding wraps again
            piece = head[max(0, len(head) - k - length) : len(head) - k]
            out[length - len(piece) :] += piece
        for k in range(0, len(tail), length):
            piece = tail[k : k + length]
            out[: len(piece)] += piece
        return out

    def _circular_envelope(self, n_frames, length):
        key = ("circular", n_frames, length)
        env = self._envelopes.get(key)
        if env is None:
            env = self._fold(self._overlap_add(np.broadcast_to(self.window**2, (n_frames, self.settings.n_fft))), length)
            env = np.where(env > 1e-8, env, 1.0).astype(np.float32)
            self._envelopes[key] = env
        return env

    def _overlap_add(self, frames):
        n_frames, n_fft = frames.shape
        hop, r = self.settings.hop_length, self.n_overlap
        padded = np.zeros((n_frames, r * hop), np.float32)
        padded[:, :n_fft] = frames
        blocks = padded.reshape(n_frames, r, hop)
        out = np.zeros((n_frames + r - 1, hop), np.float32)
        for k in range(r):
            out[k : k + n_frames] += blocks[:, k, :]
        return out.reshape(-1)

    def stft(self, y):
        """Centred, zero-padded |STFT| frames: ``(n,)`` → ``(1 + n // hop, n_bins)`` complex64."""
        import scipy.fft

        n_fft, hop = self.settings.n_fft, self.settings.hop_length
        padded = np.pad(y, n_fft // 2, mode="wrap" if self.circular else "constant")
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
        return scipy.fft.rfft(frames * self.window, axis=1).astype(np.complex64, copy=False)

    def istft(self, X, length):
        """Inverse of ``stft``: ``(n_frames, n_bins)`` → ``(length,)`` float32."""
        import scipy.fft

        frames = scipy.fft.irfft(X, n=self.settings.n_fft, axis=1).astype(np.float32, copy=False) * self.window
        if self.circular:
            return self._fold(self._overlap_add(frames), length) / self._circular_envelope(len(X), length)
        y = self._overlap_add(frames) / self._envelope(len(X))
        start = self.settings.n_fft // 2
        return y[start : start + length]

    def project(self, X, length):
        """``stft(istft(X, length))``: the STFT of the signal nearest ``X`` [shape=(n_frames,
        n_bins)], as one Griffin-Lim iteration takes it."""
        if self.circular:
            return self.stft(self.istft(X, length))
        return self._round_trip(X, self._inverse_envelope(len(X), length))

    def _inverse_envelope(self, n_frames, length):
        """1 / the overlap-add envelope inside the centred signal, 0 in the padding around it:
        one multiplication both normalises an overlap-added signal and pads it for ``stft``."""
        key = ("inverse", n_frames, length)
        inv = self._envelopes.get(key)
        if inv is None:
            inv = np.zeros_like(self._envelope(n_frames))
            start = self.settings.n_fft // 2
            inv[start : start + length] = 1.0 / self._envelope(n_frames)[start : start + length]
            self._envelopes[key] = inv
        return inv

    def _round_trip(self, X, inverse_envelope):
        """``stft(istft(X))`` without a copy between them: the frames are overlap-added into
        a signal already padded as ``stft`` pads it, and framed again from there."""
        import scipy.fft

        n_frames, (n_fft, hop, r) = len(X), (self.settings.n_fft, self.settings.hop_length, self.n_overlap)
        frames = scipy.fft.irfft(X, n=n_fft, axis=1)
        frames *= self.window
        if r * hop != n_fft:  # frames that do not end on a hop: pad them to whole hops
            frames = np.pad(frames, ((0, 0), (0, r * hop - n_fft)))
        blocks = frames.reshape(n_frames, r, hop)
        signal = np.zeros((n_frames + r - 1, hop), np.float32)
        for k in range(r):
            signal[k : k + n_frames] += blocks[:, k, :]
        signal = signal.reshape(-1)
        signal *= inverse_envelope
        view = np.lib.stride_tricks.sliding_window_view(signal, n_fft)[::hop][:n_frames]
        framed = np.multiply(view, self.window, out=frames[:, :n_fft] if r * hop == n_fft else None)
        return scipy.fft.rfft(framed, axis=1)

    def __call__(self, S, *, n_iter=32, seed=0, momentum=0.99, init=None):
        """Waveform whose |STFT| is close to ``S``; arguments as for ``griffin_lim``."""
        S = np.ascontiguousarray(np.maximum(np.nan_to_num(np.asarray(S, np.float32).T), 0.0))
        length = (S.shape[0] - 1) * self.settings.hop_length
        if init is None:
            # drawn as librosa draws them, so that a seed starts where librosa's does
            angle = (2 * np.pi * np.random.default_rng(seed).random(S.shape[::-1])).astype(np.float32).T
        else:
            angle = np.asarray(init, np.float32).T
        X = S * unit_phasors(angle)
        previous, scale = None, np.empty(S.shape, np.float32)
        step = np.float32(momentum / (1 + momentum))
        for _ in range(n_iter):
            rebuilt = self.project(X, length)
            if previous is None:
                X = rebuilt.copy()
            else:  # X = rebuilt - step * previous, in the buffer of previous
                X = previous
                X *= -step
                X += rebuilt
            np.abs(X, out=scale)
            scale += 1e-16
            np.divide(S, scale, out=scale)  # new phase, old magnitude
            X *= scale
            previous = rebuilt
        return self.istft(X, length)
