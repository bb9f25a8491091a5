"""How well a model reconstructs its loops and morphs between them.

``evaluate`` gives the tutorial's figures and what the listener hears of each
reconstruction; ``evaluate_morphs`` what happens between two loops, for the VAE and for
the naive crossfade of the same two decoded ends. The measures themselves are in
``morphlib.sound.audiometrics`` (functions of arrays); this module applies them to a model.
"""

import dataclasses

import numpy as np

from ..sound.audiometrics import (
    LSD_TOP_DB,
    audio_figures,
    cosine_similarity,
    log_spectral_distance,
    morph_path_figures,
    zero_fraction,
)
from ..sound.hits import band_edge_steps
from ..sound.spectral import spectral_convergence
from ..data.tempo import seam_level
from ..progress import progress_bar

@dataclasses.dataclass
class Evaluation:
    """Reconstruction figures of a model on a loop set.

    Attributes
    ----------
    mse : float
        Mean squared error of the linear magnitude over all loops (tutorial's figure).
    files : list of dict
        Per loop: ``name``, ``cosine``, ``spectral_convergence``, ``lsd_db``, ``mse``,
        ``fitted`` (a loop the model was not trained on, reconstructed from the latent
        fitted to it, as the panel and ``morph`` play it: ``latentfit``).
    n_params : int
    morphs : MorphEvaluation or None
        What happens between loops (``evaluate_morphs``), when measured.
    sr : int or None
        The model's sample rate, Hz (its exports' rate).
    """

    mse: float
    files: list
    n_params: int
    morphs: "MorphEvaluation" = None
    sr: int = None

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
    def n_fitted(self):
        """Loops the model was not trained on (reconstructed from fitted latents)."""
        return sum(bool(f.get("fitted")) for f in self.files)

    @property
    def audio(self):
        """Whether the audio-domain figures were measured."""
        return bool(self.files) and "audio_lsd_db" in self.files[0]

    def summary(self):
        text = (
            (f"at {self.sr:,} Hz: " if self.sr else "")
            + f"MSE {self.mse:.4g}, cosine similarity mean {self.cosine_mean:.3f} / min {self.cosine_min:.3f}, "
            f"spectral convergence {self.mean('spectral_convergence'):.3f}, "
            f"log-spectral distance {self.mean('lsd_db'):.2f} dB"
        )
        if self.audio:
            air = self.mean("air_db")
            text += (
                f"\nwhat you hear (model → Griffin-Lim; the original magnitude through the same Griffin-Lim in brackets): "
                f"log-spectral distance {self.mean('audio_lsd_db'):.1f} dB ({self.mean('gl_audio_lsd_db'):.1f}), "
                f"energy above 4 kHz {self.mean('hf_db'):+.1f} dB ({self.mean('gl_hf_db'):+.1f}), "
                + (f"above 11 kHz {air:+.1f} dB ({self.mean('gl_air_db'):+.1f}), " if air is not None else "")
                + f"onset correlation {self.mean('onset_corr'):.3f} ({self.mean('gl_onset_corr'):.3f}), "
                f"consistency {self.mean('consistency_db'):.1f} dB ({self.mean('gl_consistency_db'):.1f}), "
                f"decoded bins at 0: {100 * self.mean('zero_bins'):.1f} %"
            )
        if self.n_fitted:
            text += (f"\n{self.n_fitted} of the {len(self.files)} loops are not among the model's own: reconstructed "
                     f"from latents fitted to them, as the panel and morph play them")
        if self.morphs is not None:
            text += "\n" + self.morphs.summary()
        return text

    def sorted_files(self, key="cosine", *, descending=True):
        return sorted(self.files, key=lambda f: f[key], reverse=descending)

    def to_dict(self, loops=None):
        out = {
            "n_params": int(self.n_params),
            "sr": self.sr,
            "n_fitted": self.n_fitted,
            "mse": self.mse,
            "cosine_mean": self.cosine_mean,
            "cosine_min": self.cosine_min,
            "spectral_convergence_mean": float(np.mean([f["spectral_convergence"] for f in self.files])),
            "lsd_db_mean": float(np.mean([f["lsd_db"] for f in self.files])),
            **({f"{k}_mean": self.mean(k) for k in AUDIO_KEYS} if self.audio else {}),
            **({"morphs": self.morphs.to_dict()} if self.morphs is not None else {}),
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
    "audio_lsd_db", "hf_db", "air_db", "onset_corr", "consistency_db", "zero_bins", "seam_db",
    "gl_audio_lsd_db", "gl_hf_db", "gl_air_db", "gl_onset_corr", "gl_consistency_db",
)


def evaluate(model, loops, *, audio=True, morph_pairs=20, n_iter=32, phase="random", keep_hits=None, progress=False):
    """Reconstruct every loop through the VAE (posterior means; fitted latents for loops the
    model was not trained on, as the panel and ``morph`` play them) and measure the result.

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
    morph_pairs : int >= 0
        Pairs of loops whose morphs are measured too (``evaluate_morphs``); 0 skips them.
    n_iter : int > 0
    phase : {"random", "pghi"}
        Griffin-Lim's start (random: the tutorial's).
    keep_hits : bool or None
        Whether the morphs keep their ends' hits (``MorphModel.blend``); None: as the
        model plays them.
    progress : bool

    Returns
    -------
    evaluation : Evaluation
        No figure is NaN, whatever the input.
    """
    model.check(loops)
    files = []
    items = progress_bar(_reconstructions(model, loops), desc="evaluating", total=len(loops), enabled=progress and audio, unit="loop")
    for name, S, R, k in items:
        info = loops.infos[k]
        row = {
            "name": name,
            "fitted": not model.has_heard(name),
            "bpm": info.bpm,
            "bpm_source": info.bpm_source,
            "bars": info.bars,
            "stretch": info.stretch,
            "cosine": cosine_similarity(S, R),
            "spectral_convergence": spectral_convergence(S, R),
            "lsd_db": log_spectral_distance(S, R),
            "mse": float(np.mean((S.astype(np.float64) - R) ** 2)),
        }
        if audio:
            row.update(_audio_row(model, loops, k, S, R, n_iter, phase))
        files.append(row)
    mse = float(np.mean([f["mse"] for f in files]))
    morphs = None
    if morph_pairs and len(loops) >= 2:
        morphs = evaluate_morphs(model, loops, n_pairs=morph_pairs, n_iter=n_iter, phase=phase, keep_hits=keep_hits,
                                 progress=progress)
    return Evaluation(mse=mse, files=files, n_params=model.n_params, morphs=morphs, sr=loops.settings.sr)


def _reconstructions(model, loops, batch=32):
    """``(name, S, R, index)`` per loop, ``batch`` loops read and reconstructed at a time."""
    for start in range(0, len(loops), batch):
        S = np.asarray(loops.S[start : start + batch], np.float32)
        R = model.decode(model.latents_for(S, loops.names[start : start + batch]))
        for k in range(len(S)):
            yield loops.names[start + k], S[k], R[k], start + k


def _audio_row(model, loops, k, S, R, n_iter, phase):
    y_ref = loops.y[k]
    y_hat = model.to_audio(R, n_iter=n_iter, init=phase)
    ours = audio_figures(S, y_ref, R, y_hat, loops.settings)
    gl = audio_figures(S, y_ref, S, model.to_audio(S, n_iter=n_iter, init=phase), loops.settings)
    # played in a loop: the join's level against the loop's middle (about 0 dB: no click, no gap)
    seam = seam_level(y_hat, sr=loops.settings.sr)
    return {**ours, "zero_bins": zero_fraction(R), "seam_db": seam, **{f"gl_{key}": v for key, v in gl.items()}}


# --- morphs ----------------------------------------------------------------------------

#: The α steps a morph path is measured at: every 0.1, and the quarter points.
MORPH_ALPHAS = tuple(sorted({round(a, 2) for a in np.linspace(0, 1, 11)} | {0.25, 0.75}))
#: The figures per pair (see ``audiometrics.morph_path_figures``).
MORPH_KEYS = ("sharpness_0.25", "sharpness_0.5", "sharpness_0.75", "layered", "smoothness", "intermediateness", "seam_excess_db")


@dataclasses.dataclass
class MorphEvaluation:
    """What happens between loops: the VAE's morphs and the naive crossfade beside them.

    Attributes
    ----------
    pairs : list of (str, str)
        A and B of each pair.
    vae, crossfade : list of dict
        Per pair, the figures of ``MORPH_KEYS``: the VAE's morph (decoded blends of the
        two latent vectors) and the crossfade of the same two decoded ends (their
        magnitudes mixed), each through the same Griffin-Lim.
    steadiness : dict
        ``morph_steadiness`` of the decoded magnitudes (``steady``, ``balance``, ``balanced``).
    keep_hits : bool
        Whether the morphs had their ends' hits (``MorphModel.blend``).
    """

    pairs: list
    vae: list
    crossfade: list
    steadiness: dict
    keep_hits: bool = False

    def mean(self, key, kind="vae"):
        return float(np.mean([p[key] for p in getattr(self, kind)])) if getattr(self, kind) else None

    def intermediate(self, kind="vae", low=0.4, high=0.6):
        """The share of pairs whose middle lies between A and B (intermediateness in [low, high])."""
        rows = getattr(self, kind)
        return float(np.mean([low <= p["intermediateness"] <= high for p in rows])) if rows else None

    def summary(self):
        def line(kind):
            return (f"{kind:9s} sharpness at α = .25 / .5 / .75 of the ends': "
                    + " / ".join(f"{self.mean(f'sharpness_{a}', kind):.2f}" for a in ("0.25", "0.5", "0.75"))
                    + f"; layers {100 * self.mean('layered', kind):.0f} % of both ends' hits; smoothness "
                    f"{self.mean('smoothness', kind):.2f}; intermediate {100 * self.intermediate(kind):.0f} % of pairs; "
                    f"seam at band edges beyond the ends' {max(p['seam_excess_db'] for p in getattr(self, kind)):+.1f} dB at most")
        hits = "hits kept from the ends" if self.keep_hits else "the decoder's own hits"
        return (f"morphs over {len(self.pairs)} pairs ({hits}; steady {100 * self.steadiness['steady']:.0f} %):\n  "
                + line("vae") + "\n  " + line("crossfade"))

    def to_dict(self):
        out = {"n_pairs": len(self.pairs), "keep_hits": self.keep_hits, **self.steadiness}
        for kind in ("vae", "crossfade"):
            out[kind] = {**{f"{k}_mean": self.mean(k, kind) for k in MORPH_KEYS}, "intermediate_share": self.intermediate(kind),
                         "seam_excess_db_max": max((p["seam_excess_db"] for p in getattr(self, kind)), default=None),
                         "seam_excess_db_by_edge_max": np.max([p["seam_excess_db_by_edge"] for p in getattr(self, kind)],
                                                              axis=0).tolist() if getattr(self, kind) else None}
        out["pairs"] = [{"a": a, "b": b, "vae": v, "crossfade": c} for (a, b), v, c in zip(self.pairs, self.vae, self.crossfade)]
        return out


def seam_excess(S, alphas, at=(0.25, 0.5, 0.75), *, by_edge=False):
    """The largest step at a band edge of a morph's median-frame spectrum beyond its ends'
    steps there blended by α, dB, over the α of ``at`` and the edges (``hits.band_edge_steps``).

    Parameters
    ----------
    S : np.ndarray [shape=(len(alphas), n_bins, n_frames)]
        The morph's magnitudes along α; the first and last are its ends.
    alphas : np.ndarray [shape=(len(S),)]
    by_edge : bool
        Also return the largest over ``at`` at each edge, lowest edge first.
    """
    steps = band_edge_steps(S)  # (alphas, edges)
    excess = []
    for a in at:
        k = int(np.argmin(np.abs(np.asarray(alphas) - a)))
        excess.append(steps[k] - ((1 - alphas[k]) * steps[0] + alphas[k] * steps[-1]))
    per_edge = np.max(excess, axis=0) if steps.shape[1] else np.zeros(0)
    worst = float(per_edge.max()) if len(per_edge) else 0.0
    return (worst, per_edge.round(2).tolist()) if by_edge else worst


def _seam_figures(S, alphas):
    worst, per_edge = seam_excess(S, alphas, by_edge=True)
    return {"seam_excess_db": worst, "seam_excess_db_by_edge": per_edge}


def morph_pairs(n_loops, n_pairs, *, seed=0):
    """``n_pairs`` different pairs of loop indices, drawn with ``seed`` (all pairs if fewer)."""
    every = [(i, j) for i in range(n_loops) for j in range(i + 1, n_loops)]
    if len(every) <= n_pairs:
        return every
    rng = np.random.default_rng(seed)
    return [every[k] for k in sorted(rng.choice(len(every), n_pairs, replace=False))]


def evaluate_morphs(model, loops, *, pairs=None, n_pairs=20, seed=0, n_iter=32, phase="random", method="linear", keep_hits=None,
                    progress=False):
    """Measure morphs between pairs of loops, and the naive crossfade beside them.

    For each pair (A, B) the VAE's morph is decoded at every α of ``MORPH_ALPHAS``, the
    crossfade mixes the magnitudes of the two decoded ends at the same α, and each is
    resynthesised with the same Griffin-Lim (``n_iter`` iterations, the same start), so
    that the two differ only in what lies between the ends.

    Parameters
    ----------
    model : MorphModel
    loops : LoopSet
    pairs : sequence of (int, int) or None
        Default ``n_pairs`` pairs drawn with ``seed``.
    n_pairs : int > 0
    seed : int >= 0
    n_iter : int > 0
    phase : {"random", "pghi"}
    method : {"linear", "spherical"}
        The path between the two latent vectors (``morphing.interpolate``).
    keep_hits : bool or None
        Whether the morphs keep their ends' hits (``MorphModel.blend``); None: as the
        model plays them. The crossfade is of the decoded ends either way.
    progress : bool

    Returns
    -------
    evaluation : MorphEvaluation
    """
    model.check(loops)
    pairs = list(pairs) if pairs is not None else morph_pairs(len(loops), n_pairs, seed=seed)
    z = model.latents_of(loops)
    alphas = np.array(MORPH_ALPHAS)
    vae, fade, paths = [], [], {}
    for k, (i, j) in enumerate(progress_bar(pairs, desc="morphs", enabled=progress, unit="pair")):
        S = paths[(i, j)] = model.blend(z[[i, j]], np.stack([1 - alphas, alphas], 1), method=method, keep_hits=keep_hits)
        mixed = [(1 - a) * S[0] + a * S[-1] for a in alphas]
        audio = lambda magnitudes: [model.to_audio(m, n_iter=n_iter, seed=k, init=phase) for m in magnitudes]  # noqa: E731
        ys = audio(S)
        vae.append({**morph_path_figures(ys, alphas, model.settings), **_seam_figures(S, alphas)})
        # the crossfade's ends are the morph's (same magnitudes, same start): only its inside is new
        fade.append({**morph_path_figures([ys[0], *audio(mixed[1:-1]), ys[-1]], alphas, model.settings),
                     **_seam_figures(np.stack(mixed), alphas)})
    names = [(loops.names[i], loops.names[j]) for i, j in pairs]
    steadiness = morph_steadiness(model, loops, pairs, z=z, method=method, keep_hits=keep_hits, decoded=_every_tenth(paths, alphas))
    return MorphEvaluation(names, vae, fade, steadiness, keep_hits=model.keep_hits if keep_hits is None else bool(keep_hits))


def _every_tenth(paths, alphas):
    """The decoded paths at α = 0, 0.1, ..., 1 (what ``morph_steadiness`` steps through)."""
    at = [int(np.argmin(np.abs(alphas - a))) for a in np.linspace(0.0, 1.0, 11)]
    return {pair: S[at] for pair, S in paths.items()}


def morph_steadiness(model, loops, pairs, *, steps=10, z=None, method="linear", keep_hits=None, decoded=None):
    """Whether morphs move steadily from A to B.

    For each pair, α runs from 0 to 1 in ``steps`` steps; the decoded magnitude's
    log-spectral distance to A's and to B's original magnitude is measured at each α.

    Parameters
    ----------
    model : MorphModel
    loops : LoopSet
    pairs : sequence of (int, int)
    steps : int > 0
    z : np.ndarray [shape=(len(loops), latent_dim)] or None
        The loops' latent vectors, when already encoded.
    method : {"linear", "spherical"}
        The path between the two latent vectors.
    keep_hits : bool or None
        As for ``evaluate_morphs``.
    decoded : dict of {(int, int): np.ndarray [shape=(steps + 1, n_bins, n_frames)]} or None
        Paths already decoded at those α (``evaluate_morphs`` has them), by pair.

    Returns
    -------
    figures : dict
        ``steady``: the fraction of steps at which the distance to A grew and the
        distance to B shrank (each counted); ``balance``: the mean of
        ``d_A / (d_A + d_B)`` at α = 0.5 (0.5 is neither side dominating);
        ``balanced``: the fraction of pairs with that share within [0.4, 0.6].
    """
    alphas = np.linspace(0.0, 1.0, steps + 1)
    z = model.latents_of(loops) if z is None else z
    ok, total, shares = 0, 0, []
    decoded = decoded or {}
    for i, j in pairs:
        S = decoded.get((i, j))
        if S is None or len(S) != len(alphas):
            S = model.blend(z[[i, j]], np.stack([1 - alphas, alphas], 1), method=method, keep_hits=keep_hits)
        d_a = np.array([log_spectral_distance(loops.S[i], s) for s in S])
        d_b = np.array([log_spectral_distance(loops.S[j], s) for s in S])
        ok += int(np.sum(np.diff(d_a) > 0) + np.sum(np.diff(d_b) < 0))
        total += 2 * steps
        mid = steps // 2
        shares.append(d_a[mid] / max(d_a[mid] + d_b[mid], 1e-12))
    shares = np.array(shares)
    return {
        "steady": ok / total if total else 1.0,
        "balance": float(shares.mean()) if len(shares) else 0.5,
        "balanced": float(np.mean(np.abs(shares - 0.5) <= 0.1)) if len(shares) else 1.0,
    }
