"""Plots with labelled axes (time in s, frequency in Hz, level in dB), and ``play``.

Every plotting function takes ``ax=None`` (a new figure when None) and returns the axes.
matplotlib and IPython are imported inside the functions so that the library imports on
a machine without a display.
"""

import numpy as np

from ..config import AnalysisSettings
from ..sound.spectral import to_db
from ..sound.audio import prevent_clipping


def _axes(ax, figsize=(6, 3)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def specplot(S, settings=None, *, ax=None, title=None, ref=None, top_db=80.0, fmax=None, colorbar=True):
    """Draw a magnitude spectrogram in dB.

    Parameters
    ----------
    S : np.ndarray [shape=(n_bins, n_frames)]
        Linear magnitude.
    settings : AnalysisSettings or None
        Sample rate and hop, for the axes in seconds and Hz.
    ax : matplotlib.axes.Axes or None
    title : str or None
    ref : float or None
        Magnitude drawn as 0 dB; default the peak of ``S`` (pass the same ``ref`` to
        compare several plots on one scale).
    top_db : float > 0
        Range shown below 0 dB.
    fmax : float or None
        Highest frequency shown in Hz; default ``sr / 2``.
    colorbar : bool

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    settings = settings or AnalysisSettings()
    S = np.asarray(S)
    if S.ndim == 3 and S.shape[-1] == 1:
        S = S[..., 0]
    ax = _axes(ax)
    peak = float(np.max(S)) if S.size and np.max(S) > 0 else 1.0
    S_db = to_db(S, ref=ref or peak, top_db=top_db)
    duration = S.shape[1] * settings.hop_length / settings.sr
    mesh = ax.imshow(
        S_db,
        origin="lower",
        aspect="auto",
        extent=(0.0, duration, 0.0, settings.sr / 2),
        cmap="magma",
        vmin=-top_db,
        vmax=0.0,
        interpolation="nearest",
    )
    ax.set_ylim(0, fmax or settings.sr / 2)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label="level (dB)")
    return ax


def plot_history(history, *, ax=None):
    """Training loss per epoch (log scale).

    Parameters
    ----------
    history : list of dict
        Rows with ``epoch``, ``loss`` and optionally ``mse`` (``MorphModel.history``).
    """
    ax = _axes(ax)
    epochs = [r["epoch"] for r in history]
    for key, label in (("loss", "loss (MSE + β·KL)"), ("mse", "reconstruction MSE")):
        vals = [r.get(key, np.nan) for r in history]
        if history and np.isfinite(vals).any():
            ax.plot(epochs, vals, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (linear magnitude²)")
    if history:
        ax.set_yscale("log")
        ax.legend()
    ax.set_title("training")
    return ax


def plot_cosine(evaluation, *, ax=None):
    """Histogram of per-file cosine similarities between original and reconstruction."""
    ax = _axes(ax)
    ax.hist(evaluation.cosine, bins=min(30, max(5, len(evaluation.files))), range=(min(0.0, evaluation.cosine_min), 1.0))
    ax.axvline(evaluation.cosine_mean, color="k", linestyle="--", label=f"mean {evaluation.cosine_mean:.3f}")
    ax.set_xlabel("cosine similarity (1 = identical)")
    ax.set_ylabel("number of files")
    ax.legend()
    return ax


def plot_audio(evaluation, *, axes=None):
    """What the listener hears, per loop: the model's output against the original magnitude
    through the same phase reconstruction (what Griffin-Lim alone loses).

    Parameters
    ----------
    evaluation : Evaluation
        From ``evaluate(..., audio=True)``.
    axes : sequence of 3 Axes or None

    Returns
    -------
    axes : list of matplotlib.axes.Axes
        Log-spectral distance (dB), energy above 4 kHz relative to the original (dB),
        onset-envelope correlation.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
    panels = (
        ("audio_lsd_db", "log-spectral distance (dB)", "lower is better"),
        ("hf_db", "energy above 4 kHz vs original (dB)", "0 is right"),
        ("onset_corr", "onset-envelope correlation", "1 is the same rhythm"),
    )
    for ax, (key, label, hint) in zip(axes, panels):
        for x, (prefix, name) in enumerate((("", "model"), ("gl_", "original magnitude"))):
            values = np.array([f[prefix + key] for f in evaluation.files])
            ax.bar(x, values.mean(), color=("C0", "C7")[x], alpha=0.6)
            ax.plot(np.full(len(values), x) + np.linspace(-0.25, 0.25, len(values)), values, "k.", ms=3)
        ax.set_xticks([0, 1], ["model → GL", "original → GL"])
        ax.set_ylabel(label)
        ax.set_title(hint, fontsize="small")
    return list(axes)


def plot_morphs(morphs, *, axes=None):
    """What happens between loops: the VAE's morphs beside the naive crossfade.

    Parameters
    ----------
    morphs : MorphEvaluation
        ``evaluate(...).morphs`` or ``evaluate_morphs(...)``.
    axes : sequence of 2 Axes or None

    Returns
    -------
    axes : list of matplotlib.axes.Axes
        Onset sharpness at α = 0.25, 0.5, 0.75 relative to the ends' (1 keeps their punch),
        and the share of both ends' hits the middle layers, smoothness and the share of
        pairs whose middle lies between A and B.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.2), layout="constrained")
    vae_label = "VAE morph, hits kept from the ends" if getattr(morphs, "keep_hits", False) else "VAE morph"
    kinds = (("vae", vae_label, "C0"), ("crossfade", "crossfade of the decoded ends", "C7"))
    for k, (kind, label, color) in enumerate(kinds):
        alphas = (0.25, 0.5, 0.75)
        values = [morphs.mean(f"sharpness_{a:g}", kind) for a in alphas]
        axes[0].bar(np.arange(3) + (k - 0.5) * 0.38, values, width=0.38, color=color, alpha=0.7, label=label)
        other = [morphs.mean("layered", kind), morphs.mean("smoothness", kind), morphs.intermediate(kind)]
        axes[1].bar(np.arange(3) + (k - 0.5) * 0.38, other, width=0.38, color=color, alpha=0.7, label=label)
    axes[0].axhline(1.0, color="k", lw=0.8, ls=":")
    axes[0].set_xticks(range(3), ["α = 0.25", "α = 0.5", "α = 0.75"])
    axes[0].set_ylabel("onset sharpness / the ends'")
    axes[0].set_title("hits in the middle of the slider (1: as sharp as the ends)", fontsize="small")
    axes[1].set_xticks(range(3), ["hits of both ends\nlayered", "smoothness\n(0: even steps)", "pairs with the middle\nbetween A and B"])
    axes[1].set_ylabel("share / spread")
    axes[1].legend(fontsize="small")
    return list(axes)


def plot_strip(items, settings=None, *, titles=None, axes=None, fmax=None):
    """Spectrograms side by side on one dB scale: a morph strip, or A / morph / B.

    Parameters
    ----------
    items : list of np.ndarray [shape=(n_bins, n_frames)] or of Morph
    settings : AnalysisSettings or None
    titles : list of str or None
        Default: ``α = ...`` for morphs.
    axes : sequence of Axes or None

    Returns
    -------
    axes : list of matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    mags = [getattr(it, "S", it) for it in items]
    if titles is None:
        titles = [f"{it.method} α = {it.alpha:.2f}" if hasattr(it, "alpha") else "" for it in items]
    if axes is None:
        _, axes = plt.subplots(1, len(items), figsize=(3.2 * len(items), 3), layout="constrained", squeeze=False)
        axes = list(axes[0])
    ref = max(float(np.max(m)) for m in mags) or 1.0
    for k, (m, ax, t) in enumerate(zip(mags, axes, titles)):
        specplot(m, settings, ax=ax, title=t, ref=ref, fmax=fmax, colorbar=k == len(mags) - 1)
        if k:
            ax.set_ylabel("")
    return axes


def plot_sweep(m, settings=None, *, ax=None, fmax=None):
    """A sweep's spectrogram with α (or the pad's x and y) drawn over time on a second axis.

    Parameters
    ----------
    m : Morph
        From ``sweep`` or ``sweep_xy`` (``m.path`` holds α, or x and y, per frame).
    settings : AnalysisSettings or None
    ax : matplotlib.axes.Axes or None
    fmax : float or None
        Highest frequency shown in Hz.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The spectrogram's axes (the curve's is ``ax.curve_axes``).
    """
    settings = settings or AnalysisSettings()
    ax = _axes(ax, figsize=(10, 3.2))
    specplot(m.S, settings, ax=ax, fmax=fmax, colorbar=False)
    t = np.arange(m.S.shape[1]) * settings.hop_length / settings.sr
    twin = ax.twinx()
    path = np.asarray(m.path)
    if path.ndim == 1:
        twin.plot(t, path, color="cyan", lw=2, label="α")
        twin.set_ylabel("α (0 = A, 1 = B)")
    else:
        twin.plot(t, path[:, 0], color="cyan", lw=2, label="x")
        twin.plot(t, path[:, 1], color="lime", lw=2, label="y")
        twin.set_ylabel("pad position")
        twin.legend(loc="upper right")
    twin.set_ylim(-0.02, 1.02)
    n_loops = (m.S.shape[1] - 1) // (settings.n_frames - 1)
    for k in range(1, n_loops):
        ax.axvline(k * settings.n_samples / settings.sr, color="white", lw=0.8, ls=":")
    ax.set_title(m.name)
    ax.curve_axes = twin
    return ax


def play(y, sr=22050, *, autoplay=False):
    """An inline audio player for a notebook (IPython.display.Audio).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (2, n)]
        Mono, or left and right.
    sr : int > 0
    """
    from IPython.display import Audio

    y = np.asarray(y)
    return Audio(prevent_clipping(y if y.ndim == 2 else np.ravel(y)), rate=int(sr), autoplay=autoplay, normalize=False)
