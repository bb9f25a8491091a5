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

    def summary(self):
        return (
            f"MSE {self.mse:.4g}, cosine similarity mean {self.cosine_mean:.3f} / min {self.cosine_min:.3f}, "
            f"spectral convergence {np.mean([f['spectral_convergence'] for f in self.files]):.3f}, "
            f"log-spectral distance {np.mean([f['lsd_db'] for f in self.files]):.2f} dB"
        )

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


def evaluate(model, loops):
    """Reconstruct every loop through the VAE (posterior means) and measure the result.

    Parameters
    ----------
    model : MorphModel
    loops : LoopSet
        Analysed with the model's settings (otherwise SettingsMismatchError).

    Returns
    -------
    evaluation : Evaluation
        No figure is NaN, whatever the input.
    """
    model.check(loops)
    S_hat = model.reconstruct(loops.S)
    files = []
    for name, S, R in zip(loops.names, loops.S, S_hat):
        files.append(
            {
                "name": name,
                "cosine": cosine_similarity(S, R),
                "spectral_convergence": spectral_convergence(S, R),
                "lsd_db": log_spectral_distance(S, R),
                "mse": float(np.mean((S.astype(np.float64) - R) ** 2)),
            }
        )
    mse = float(np.mean([f["mse"] for f in files]))
    return Evaluation(mse=mse, files=files, n_params=model.n_params)
