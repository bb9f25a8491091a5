"""How well a model reconstructs its loops: the tutorial's figures and two more."""

import dataclasses

import numpy as np

from .spectral import spectral_convergence

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


@dataclasses.dataclass
class Evaluation:
    """Reconstruction figures of a model on a loop set.

    Attributes
    ----------
    mse : float
        Mean squared error of the linear magnitude over all loops (tutorial's figure).
    files : list of dict
        Per loop: ``name``, ``cosine``, ``spectral_convergence``, ``lsd_db``, ``mse``.
    n_params : int
    """

    mse: float
    files: list
    n_params: int

    @property
    def cosine(self):
        return np.array([f["cosine"] for f in self.files])

    @property
    def cosine_mean(self):
        return float(np.mean(self.cosine))

    @property
    def cosine_min(self):
        return float(np.min(self.cosine))

    def mean(self, key):
        """The mean of a per-file figure, or None when it was not measured."""
        values = [f[key] for f in self.files if key in f]
        return float(np.mean(values)) if values else None

    @property
    def audio(self):
        """Whether the audio-domain figures were measured."""
        return bool(self.files) and "audio_lsd_db" in self.files[0]

    def summary(self):
        text = (
            f"MSE {self.mse:.4g}, cosine similarity mean {self.cosine_mean:.3f} / min {self.cosine_min:.3f}, "
            f"spectral convergence {self.mean('spectral_convergence'):.3f}, "
            f"log-spectral distance {self.mean('lsd_db'):.2f} dB"
        )
        if self.audio:
            text += (
                f"\nwhat you hear (model → Griffin-Lim; the original magnitude through the same Griffin-Lim in brackets): "
                f"log-spectral distance {self.mean('audio_lsd_db'):.1f} dB ({self.mean('gl_audio_lsd_db'):.1f}), "
                f"energy above 4 kHz {self.mean('hf_db'):+.1f} dB ({self.mean('gl_hf_db'):+.1f}), "
                f"onset correlation {self.mean('onset_corr'):.3f} ({self.mean('gl_onset_corr'):.3f}), "
                f"consistency {self.mean('consistency_db'):.1f} dB ({self.mean('gl_consistency_db'):.1f}), "
                f"decoded bins at 0: {100 * self.mean('zero_bins'):.1f} %"
            )
        return text

    def sorted_files(self, key="cosine", *, descending=True):
        return sorted(self.files, key=lambda f: f[key], reverse=descending)

    def to_dict(self, loops=None):
        out = {
            "n_params": int(self.n_params),
            "mse": self.mse,
            "cosine_mean": self.cosine_mean,
            "cosine_min": self.cosine_min,
            "spectral_convergence_mean": float(np.mean([f["spectral_convergence"] for f in self.files])),
            "lsd_db_mean": float(np.mean([f["lsd_db"] for f in self.files])),
            **({f"{k}_mean": self.mean(k) for k in AUDIO_KEYS} if self.audio else {}),
            "files": self.files,
        }
        if loops is not None:
            out = {
                "n_files": len(loops),
                "n_skipped": len(loops.skipped),
                "skipped": [{"name": s.name, "path": s.path, "reason": s.reason} for s in loops.skipped],
                **out,
            }
        return out


AUDIO_KEYS = (
    "audio_lsd_db", "hf_db", "onset_corr", "consistency_db", "zero_bins",
    "gl_audio_lsd_db", "gl_hf_db", "gl_onset_corr", "gl_consistency_db",
)


def evaluate(model, loops, *, audio=True, n_iter=32, phase="random", progress=False):
    """Reconstruct every loop through the VAE (posterior means) and measure the result.

    Parameters
    ----------
    model : MorphModel
    loops : LoopSet
        Analysed with the model's settings (otherwise SettingsMismatchError).
    audio : bool
        Also measure what the listener hears: each reconstruction is resynthesised
        (Griffin-Lim, ``n_iter`` iterations, as the morphs are) and compared with the
        original audio — ``audio_lsd_db`` (log-spectral distance, 80 dB floor below the
        loop's peak), ``hf_db`` (energy above 4 kHz relative to the original),
        ``onset_corr`` (onset-envelope correlation), ``consistency_db`` (|STFT| of the
        output against the decoded magnitude) and ``zero_bins`` (decoded bins at exactly
        0) — and the same for the original magnitude through the same Griffin-Lim
        (``gl_...``): what the phase reconstruction alone loses.
    n_iter : int > 0
    phase : {"random", "pghi"}
        Griffin-Lim's start (random: the tutorial's).
    progress : bool

    Returns
    -------
    evaluation : Evaluation
        No figure is NaN, whatever the input.
    """
    from .progress import progress_bar

    model.check(loops)
    files = []
    items = progress_bar(_reconstructions(model, loops), desc="evaluating", total=len(loops), enabled=progress and audio, unit="loop")
    for name, S, R, k in items:
        row = {
            "name": name,
            "cosine": cosine_similarity(S, R),
            "spectral_convergence": spectral_convergence(S, R),
            "lsd_db": log_spectral_distance(S, R),
            "mse": float(np.mean((S.astype(np.float64) - R) ** 2)),
        }
        if audio:
            row.update(_audio_row(model, loops, k, S, R, n_iter, phase))
        files.append(row)
    mse = float(np.mean([f["mse"] for f in files]))
    return Evaluation(mse=mse, files=files, n_params=model.n_params)


def _reconstructions(model, loops, batch=32):
    """``(name, S, R, index)`` per loop, ``batch`` loops read and reconstructed at a time."""
    for start in range(0, len(loops), batch):
        S = np.asarray(loops.S[start : start + batch], np.float32)
        R = model.reconstruct(S)
        for k in range(len(S)):
            yield loops.names[start + k], S[k], R[k], start + k


def _audio_row(model, loops, k, S, R, n_iter, phase):
    from .audiometrics import audio_figures, zero_fraction

    y_ref = loops.y[k]
    ours = audio_figures(S, y_ref, R, model.to_audio(R, n_iter=n_iter, init=phase), loops.settings)
    gl = audio_figures(S, y_ref, S, model.to_audio(S, n_iter=n_iter, init=phase), loops.settings)
    return {**ours, "zero_bins": zero_fraction(R), **{f"gl_{key}": v for key, v in gl.items()}}
