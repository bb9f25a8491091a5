"""A trained model in use (``MorphModel``): encode, decode, blend latents, resynthesise; and
``load_model``, which opens a model folder."""

import functools
import os
import difflib
import hashlib

import numpy as np

from ..sound.audio import prevent_clipping
from ..config import AnalysisSettings, check_int
from ..errors import ModelFolderError, ParameterError, UnknownSoundError
from ..sound.spectral import griffin_lim
from ..data.store import chunks, is_stored
from ..sound.hits import fine_bins_for, floors_of, keep_hits as follow_ends
from ..sound.stereo import band_levels, channel_iterations, render
from .folder import BEST, META, ModelFolder, check_settings, read_history, read_images, read_latents, read_meta, recover_best
from .latentfit import FIT_STEPS, fit_latents, latent_gradient
from .weightsfile import architecture_from_meta, read_weights

METHODS = ("linear", "spherical")


def check_alpha(alpha):
    """``alpha`` as a float in [0, 1], or ParameterError naming it."""
    return check_unit("alpha", alpha, zero=" (sound A)", one=" (sound B)")


def check_unit(name, value, *, zero="", one=""):
    """``value`` as a float in [0, 1], or ParameterError naming it (``zero`` and ``one`` say
    what the ends mean, as in "0 (sound A)")."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number between 0{zero} and 1{one}, got {value!r}") from None
    if not 0.0 <= v <= 1.0:
        raise ParameterError(f"{name} must be between 0{zero} and 1{one}, got {value!r}")
    return v


def interpolate(z_a, z_b, alpha, *, method="linear"):
    """Blend two latent vectors: α = 0 gives ``z_a``, α = 1 gives ``z_b``.

    Parameters
    ----------
    z_a, z_b : np.ndarray [shape=(latent_dim,)]
    alpha : float in [0, 1]
    method : {"linear", "spherical"}
        ``linear``: ``(1 - α) z_a + α z_b``. ``spherical`` (slerp): along the great
        circle between the two, scaled linearly in norm, which keeps the blend at a
        typical distance from the prior's centre; it falls back to linear when the
        vectors are (anti)parallel or zero.

    Returns
    -------
    z : np.ndarray [shape=(latent_dim,)]
    """
    a = check_alpha(alpha)
    z_a, z_b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    if method == "linear":
        return ((1 - a) * z_a + a * z_b).astype(np.float32)
    if method != "spherical":
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    n_a, n_b = np.linalg.norm(z_a), np.linalg.norm(z_b)
    if n_a == 0 or n_b == 0:
        return interpolate(z_a, z_b, a, method="linear")
    u_a, u_b = z_a / n_a, z_b / n_b
    omega = np.arccos(np.clip(np.dot(u_a, u_b), -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return interpolate(z_a, z_b, a, method="linear")
    direction = (np.sin((1 - a) * omega) * u_a + np.sin(a * omega) * u_b) / np.sin(omega)
    return (direction * ((1 - a) * n_a + a * n_b)).astype(np.float32)


def blend_latents(z_ends, weights, *, method="linear"):
    """The latent vectors of blends of the ends: what ``MorphModel.blend`` decodes.

    Parameters
    ----------
    z_ends : np.ndarray [shape=(k, latent_dim)]
    weights : np.ndarray [shape=(m, k)]
        Each blend's weights of the ends (``[1 - α, α]`` for two).
    method : {"linear", "spherical"}
        The path between two ends (``interpolate``); more ends blend linearly.

    Returns
    -------
    z : np.ndarray [shape=(m, latent_dim), dtype=float32]
    """
    z_ends = np.atleast_2d(np.asarray(z_ends, np.float32))
    weights = np.atleast_2d(np.asarray(weights, np.float64))
    if weights.ndim != 2 or weights.shape[1] != len(z_ends):
        raise ParameterError(f"weights must have one column per end ({len(z_ends)}), got shape {weights.shape}")
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    if method == "spherical" and len(z_ends) == 2:
        return np.stack([interpolate(z_ends[0], z_ends[1], w[1], method=method) for w in weights]).astype(np.float32)
    return (weights @ z_ends).astype(np.float32)


#: Sets of ends whose decodes (and levels) a model keeps for the next call (a panel's moves).
ENDS_KEPT = 64


class MorphModel:
    """A trained VAE with the analysis settings it was trained on.

    Parameters
    ----------
    vae : morphlib.model.vae.VAE
    settings : AnalysisSettings
    preset : Preset or None
    model_dir : str or None
        Where it was loaded from.
    history : list of dict
        Training history (one row per epoch).
    """

    def __init__(self, vae, settings, *, preset=None, model_dir=None, history=(), mono=False):
        self.vae = vae
        self.settings = settings
        self.preset = preset
        self.model_dir = None if model_dir is None else os.fspath(model_dir)
        self.history = list(history)
        #: Whether morphs take their hits from the ends (``morphlib.sound.hits``); the preset's choice.
        self.keep_hits = bool(getattr(preset, "keep_hits", False))
        #: Whether its sounds are heard in mono: no stereo image from its folder, a file, the loops or the panel.
        self.mono = bool(mono)
        #: Names of the loops the model was trained on (from its folder), or None when it has
        #: no folder to say (then every loop counts as its own). Read now, with the weights:
        #: ``add_loops`` later rewrites the folder, and this object stays the model it loaded.
        self.known_names = _known_names(model_dir)
        self._ends, self._levels, self._floors = {}, {}, {}
        self._fitted = {}
        self._images = None

    @property
    def encoder(self):
        return self.vae.encoder

    @property
    def decoder(self):
        return self.vae.decoder

    @property
    def n_params(self):
        return self.vae.n_params

    @property
    def latent_dim(self):
        return self.vae.latent_dim

    def __repr__(self):
        where = f" from {self.model_dir}" if self.model_dir else ""
        return f"<MorphModel{where}: {self.n_params:,} parameters, latent {self.latent_dim}, {len(self.history)} epochs>"

    def check(self, data):
        """Refuse data analysed with other settings (SettingsMismatchError says which).

        Parameters
        ----------
        data : LoopSet or AnalysisSettings or np.ndarray
        """
        where = self.model_dir or "this model"
        if isinstance(data, AnalysisSettings):
            check_settings(data, self.settings, where=where)
        elif hasattr(data, "settings"):
            check_settings(data.settings, self.settings, where=where)
        else:
            S = as_batch(data)
            if S.shape[1:] != self.settings.shape:
                from ..errors import SettingsMismatchError

                raise SettingsMismatchError(
                    f"spectrograms of shape {S.shape[1:]} do not fit the model in {where}, which takes "
                    f"{self.settings.shape} (n_fft {self.settings.n_fft}, {self.settings.n_frames} frames)"
                )
        return data

    def encode(self, S, *, sample=False, batch_size=64, fit=0):
        """Latent vectors (posterior means unless ``sample``).

        Parameters
        ----------
        S : np.ndarray [shape=(n, n_bins, n_frames) or (n_bins, n_frames) or (n, n_bins, n_frames, 1)]
        sample : bool
        fit : int >= 0
            Gradient steps that move each mean to where the decoder comes closest to
            its loop (``latentfit.fit_latents``; ``latentfit.FIT_STEPS`` is what
            ``latents_of`` uses for loops the model has not heard). 0: the means.

        Returns
        -------
        z : np.ndarray [shape=(n, latent_dim), dtype=float32]
            A StoredArray is read from the store ``batch_size`` loops at a time.
        """
        fit = check_int("fit", fit, low=0)
        if fit and sample:
            raise ParameterError(f"fit={fit} moves the posterior means; it cannot be combined with sample=True")
        if is_stored(S):
            self.check(S.store.settings)
            batches = chunks(S, batch_size)
        else:
            S = self.check(as_batch(S))
            batches = (S[i : i + batch_size] for i in range(0, len(S), batch_size))
        z = []
        for x in batches:  # each chunk encoded (and fitted) before the next is read: a library larger than memory streams
            z_x = np.asarray(self.vae.encode(x, sample=sample))
            z.append(self._fit(x, z_x, fit) if fit else z_x)
        if not z:
            return np.zeros((0, self.latent_dim), np.float32)
        return np.concatenate(z).astype(np.float32)

    def _fit(self, S, z, steps):
        """``fit_latents`` of each loop, kept by its content: a loop morphed again (a sweep,
        the panel, ``morph`` called in a loop) is not fitted again."""
        keys = [(hashlib.blake2b(np.ascontiguousarray(x).tobytes(), digest_size=16).digest(), steps) for x in S]
        todo = [k for k, key in enumerate(keys) if key not in self._fitted]
        if todo:
            fitted = fit_latents(self.vae, S[todo], z[todo], steps=steps, gradient=self._graph_latent_gradient)
            if len(self._fitted) + len(todo) > 4096:
                self._fitted.clear()
            self._fitted.update({keys[k]: f for k, f in zip(todo, fitted)})
        return np.stack([self._fitted[key] for key in keys]).astype(np.float32)

    @functools.cached_property
    def _graph_latent_gradient(self):
        return latent_gradient(self.vae)

    def has_heard(self, name):
        """Whether the loop called ``name`` is one the model was trained on (True when unknown)."""
        return self.known_names is None or name in self.known_names

    def latents_of(self, loops, *, fit=None):
        """Latents of ``loops`` to morph with: the encoder's means for the loops the model was
        trained on, fitted latents (``encode(..., fit=fit)``) for the others.

        Parameters
        ----------
        loops : LoopSet
        fit : int >= 0 or None
            Steps for loops the model has not heard; default ``latentfit.FIT_STEPS``.

        Returns
        -------
        z : np.ndarray [shape=(len(loops), latent_dim), dtype=float32]
        """
        return self.latents_for(loops.S, loops.names, fit=fit)

    def latents_for(self, S, names, *, fit=None, batch_size=64):
        """``latents_of`` for spectrograms and their names: the means, and for the loops
        the model has not heard, latents fitted from those means.

        Parameters
        ----------
        S : np.ndarray or StoredArray [shape=(n, n_bins, n_frames)]
        names : sequence of str [shape=(n,)]
        fit : int >= 0 or None
            Steps for loops the model has not heard; default ``latentfit.FIT_STEPS``.

        Returns
        -------
        z : np.ndarray [shape=(n, latent_dim), dtype=float32]
        """
        steps = FIT_STEPS if fit is None else check_int("fit", fit, low=0)
        z = self.encode(S)
        if len(names) != len(z):
            raise ParameterError(f"names must name each of the {len(z)} loops, got {len(names)} names")
        unheard = np.flatnonzero([not self.has_heard(n) for n in names])
        for start in range(0, len(unheard) if steps else 0, batch_size):
            rows = unheard[start : start + batch_size]
            z[rows] = self._fit(self.check(as_batch(np.asarray(S[rows], np.float32))), z[rows], steps)
        return z

    def decode(self, z, *, batch_size=64):
        """Magnitude spectrograms from latent vectors.

        Parameters
        ----------
        z : np.ndarray [shape=(n, latent_dim) or (latent_dim,)]

        Returns
        -------
        S : np.ndarray [shape=(n, n_bins, n_frames), dtype=float32]
        """
        z = np.atleast_2d(np.asarray(z, np.float32))
        if z.shape[1] != self.latent_dim:
            raise ParameterError(f"z must have {self.latent_dim} columns (the latent size), got shape {z.shape}")
        out = [self._graph_decode(z[i : i + batch_size]) for i in range(0, len(z), batch_size)]
        return np.concatenate([np.asarray(o) for o in out]).astype(np.float32)

    def blend(self, z_ends, weights, *, method="linear", keep_hits=None):
        """Decode blends of the ends' latents: what every morph, pad, sweep and panel hears.

        Parameters
        ----------
        z_ends : np.ndarray [shape=(k, latent_dim)]
            The ends (A and B; or the pad's four corners).
        weights : np.ndarray [shape=(m, k)]
            Each blend's weights of the ends, >= 0, summing to 1 (``[1 - α, α]``).
        method : {"linear", "spherical"}
            The path between two ends (``interpolate``); more ends blend linearly.
        keep_hits : bool or None
            Give each blend the band envelopes of its ends blended in dB
            (``morphlib.sound.hits``); None: the model's ``keep_hits`` (its preset's choice).

        Returns
        -------
        S : np.ndarray [shape=(m, n_bins, n_frames), dtype=float32]
        """
        z_ends = np.atleast_2d(np.asarray(z_ends, np.float32))
        weights = np.atleast_2d(np.asarray(weights, np.float64))
        S = self.decode(blend_latents(z_ends, weights, method=method))
        if not (self.keep_hits if keep_hits is None else keep_hits):
            return S

        ends = self._decoded_ends(z_ends)
        floors = _kept(self._floors, z_ends.tobytes(), lambda: floors_of(ends))
        return follow_ends(S, ends, weights, fine_bins=fine_bins_for(self.settings), end_floors=floors)

    def end_levels(self, z_ends):
        """Each end's mid level by the stereo image's band and frame (``stereo.band_levels`` of
        its decode) [shape=(k, n_bands, n_frames)]: what a morph's image weighs its ends by
        (``stereo.blend``)."""
        z_ends = np.atleast_2d(np.asarray(z_ends, np.float32))
        return _kept(self._levels, z_ends.tobytes(), lambda: band_levels(self._decoded_ends(z_ends), self.settings))

    def _decoded_ends(self, z_ends):
        """The ends decoded, kept for the next call (a panel renders many blends of the same ends)."""
        return _kept(self._ends, z_ends.tobytes(), lambda: self.decode(z_ends))

    @functools.cached_property
    def _graph_decode(self):
        """The decoder traced once into a TensorFlow graph: a slider's single morph decodes in
        about a third of the eager call's time (3.6 against 10 ms, tutorial preset)."""
        import tensorflow as tf

        return tf.function(self.vae.decode, input_signature=[tf.TensorSpec([None, self.latent_dim], tf.float32)])

    def nearest(self, z, k=5, *, loops=None):
        """The ``k`` loops whose latent means lie closest to ``z`` (Euclidean).

        Parameters
        ----------
        z : np.ndarray [shape=(latent_dim,)]
            A latent vector, e.g. the current morph's blend.
        k : int > 0
        loops : LoopSet or None
            Search these (encoded in batches); default the loops the model was trained
            on, from the latents stored in its folder (no audio needed).

        Returns
        -------
        hits : list of (str, float)
            Names and distances, closest first.
        """
        z = np.asarray(z, np.float32).reshape(-1)
        if z.shape != (self.latent_dim,):
            raise ParameterError(f"z must have {self.latent_dim} values (the latent size), got shape {z.shape}")
        k = check_int("k", k, low=1)
        if loops is not None:
            names, Z = list(loops.names), self.encode(loops.S)
        else:
            stored = read_latents(self.model_dir)
            names, Z = list(stored), np.asarray(list(stored.values()), np.float32).reshape(-1, self.latent_dim)
        return [(names[i], d) for i, d in closest(Z, z, k)]

    def stored_latent(self, name):
        """The latent mean of a training loop by name, from the model folder (no data needed).

        Raises
        ------
        UnknownSoundError
            Naming the closest stored names.
        ModelFolderError
            When the folder holds no (or stale) latents.
        """
        latents = read_latents(self.model_dir)
        key = os.path.splitext(str(name))[0]
        if key in latents:
            return np.asarray(latents[key], np.float32)
        close = difflib.get_close_matches(key, list(latents), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownSoundError(f"{name!r} is neither an audio file nor a loop the model in {self.model_dir} was trained on{hint}")

    def reconstruct(self, S, *, fit=0):
        """``decode(encode(S, fit=fit))``: from the posterior means, or fitted latents."""
        return self.decode(self.encode(S, fit=fit))

    def stored_image(self, name):
        """A training loop's stereo image by name, from the model folder (no data needed);
        None when it is mono, the folder keeps no images (trained before stereo), or the
        model was loaded with ``mono=True``."""
        if self.mono:
            return None
        if self._images is None:
            self._images = read_images(self.model_dir, self.settings) if self.model_dir else {}
        return self._images.get(os.path.splitext(str(name))[0])

    def to_audio(self, S, *, n_iter=32, seed=0, init=None, image=None, channel_iter=None):
        """Griffin-Lim waveform of one magnitude, scaled down if it would clip.

        ``init``: ``"random"`` (None), ``"pghi"`` or a starting phase (see ``spectral.griffin_lim``).
        ``image``: a stereo image (``morphlib.sound.stereo``; a morph's is its ends' blended,
        ``stereo.blend``): the mid is made stereo with it [shape=(2, n)]; None: mono [shape=(n,)].
        ``channel_iter``: Griffin-Lim iterations per channel for an image's details (0: the
        levels laid on the mid, as a quick draft does); None: ``stereo.channel_iterations(n_iter)``.
        """
        mid = griffin_lim(S, self.settings, n_iter=n_iter, seed=seed, init=init)
        channel_iter = channel_iterations(n_iter) if channel_iter is None else channel_iter
        return prevent_clipping(render(mid, image, self.settings, iterations=channel_iter, magnitude=S))


def _kept(cache, key, make):
    """``cache[key]``, made by ``make()`` the first time; the oldest of ``ENDS_KEPT`` goes first."""
    if key not in cache:
        if len(cache) >= ENDS_KEPT:
            cache.pop(next(iter(cache)))
        cache[key] = make()
    return cache[key]


def _known_names(model_dir):
    if model_dir is None:
        return None
    try:
        return frozenset(read_meta(model_dir)["data"]["names"])
    except (ModelFolderError, KeyError, OSError):
        return None


def closest(Z, z, k):
    """``(index, distance)`` of the ``k`` rows of ``Z`` nearest to ``z``, closest first."""
    distance = np.linalg.norm(np.asarray(Z, np.float32) - np.asarray(z, np.float32), axis=1)
    order = np.argsort(distance, kind="stable")[:k]
    return [(int(i), float(distance[i])) for i in order]


def as_batch(S):
    """``S`` as float32 ``(n, n_bins, n_frames)``, accepting one example or a trailing channel."""
    S = np.asarray(S, dtype=np.float32)
    if S.ndim == 4 and S.shape[-1] == 1:
        S = S[..., 0]
    if S.ndim == 2:
        S = S[np.newaxis]
    if S.ndim != 3:
        raise ParameterError(f"spectrograms must have shape (n, n_bins, n_frames), got {S.shape}")
    return S


def load_model(model_dir, *, mono=False):
    """Load a model folder written by ``train``: the best model and its settings.

    Parameters
    ----------
    model_dir : str or os.PathLike
    mono : bool
        Hear its sounds in mono: morphs by name take no stereo image from the folder, nor
        from an audio file given by path (``MorphModel.mono``).

    Returns
    -------
    model : MorphModel

    Raises
    ------
    ModelFolderError
        Missing, damaged or foreign folder, naming the file.
    """
    from .vae import VAE

    folder = ModelFolder.of(model_dir)  # its morphlib.json read once, here or by the caller
    model_dir, meta = folder.path, folder.meta
    recover_best(model_dir)
    path = os.path.join(model_dir, BEST)
    if not os.path.lexists(path):
        raise ModelFolderError(f"{path} is missing: training has not saved a model yet; run train again to resume")
    where = os.path.join(model_dir, META)
    arch = architecture_from_meta(meta["model"], where=where)  # a stranger's config meets no deserializer
    settings = meta["settings"]
    shape = (arch.get("n_bins", 1025), arch.get("n_frames", 148))
    if shape != settings.shape:
        raise ModelFolderError(f"{where} does not agree with itself: model shape {shape}, analysis settings {settings.shape}")
    try:
        vae = VAE(**arch, name="vae")
    except ParameterError as exc:
        raise ModelFolderError(f"{where}: {exc}") from None
    read_weights(vae, path)
    return MorphModel(vae, settings, preset=meta["preset"], model_dir=folder, history=read_history(model_dir), mono=mono)


