"""Analysis settings, model presets and the fast-mode switch."""

import dataclasses
import math
import os

from .errors import ParameterError

#: The tutorial's loops: 2 bars at 140 BPM.
TUTORIAL_BPM = 140.0
TUTORIAL_BARS = 2

#: How a file is made the window's length: cropped or zero-padded at its end (the
#: tutorial's), or its whole bars time-stretched to fill the window (``morphlib.data.tempo``).
FITS = ("crop", "stretch")


def fast_mode():
    """Whether ``MORPHLIB_FAST`` asks for small, quick runs.

    Returns
    -------
    fast : bool
        True when the environment variable ``MORPHLIB_FAST`` is ``1``, ``true``,
        ``yes`` or ``on`` (any case).
    """
    return os.environ.get("MORPHLIB_FAST", "").strip().lower() in {"1", "true", "yes", "on"}


def check_int(name, value, *, low, high=None):
    """``value`` as an int in ``[low, high]``, or a ParameterError naming it."""
    try:
        ok = not isinstance(value, bool) and int(value) == value
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ParameterError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise ParameterError(f"{name} must be {bound}, got {value}")
    return value


def check_positive(name, value, *, unit):
    """``value`` as a finite float > 0, or a ParameterError naming it."""
    try:
        ok = not isinstance(value, bool) and math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"{name} must be a number of {unit} > 0, got {value!r}")
    return float(value)


@dataclasses.dataclass(frozen=True)
class AnalysisSettings:
    """How audio becomes a magnitude spectrogram, and how long every example is.

    Parameters
    ----------
    sr : int > 0
        Sample rate in Hz that every file is resampled to (tutorial: 22050).
    n_fft : int > 0
        FFT size and window length in samples (tutorial: 2048).
    hop_length : int > 0
        Hop between frames in samples (tutorial: 512 = n_fft / 4).
    n_frames : int > 0
        STFT frames per example; every file is cropped or padded to
        ``n_samples = (n_frames - 1) * hop_length`` samples, which gives exactly
        ``n_frames`` centred frames (tutorial: 148, about 3.41 s).
    fit : {"crop", "stretch"}
        How a file becomes ``n_samples`` long. ``"crop"`` (the tutorial's, and this
        class's default so that the tutorial is reproduced exactly): cropped or
        zero-padded at its end. ``"stretch"`` (the default for new models of every preset
        but the tutorial's, see ``settings_for``): its tempo is found and its whole bars are
        time-stretched to fill the window, and the spectrogram treats the loop as circular
        (its end joins its start), so that reconstructions and morphs loop without a seam.
    """

    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_frames: int = 148
    fit: str = "crop"

    def __post_init__(self):
        object.__setattr__(self, "sr", check_int("sr", self.sr, low=1000, high=384000))
        object.__setattr__(self, "n_fft", check_int("n_fft", self.n_fft, low=16, high=65536))
        object.__setattr__(
            self, "hop_length", check_int("hop_length", self.hop_length, low=1, high=self.n_fft)
        )
        object.__setattr__(self, "n_frames", check_int("n_frames", self.n_frames, low=2))
        if self.fit not in FITS:
            raise ParameterError(f"fit must be one of {', '.join(FITS)}, got {self.fit!r}")

    @property
    def circular(self):
        """True when every example is a loop whose end joins its start (``fit="stretch"``)."""
        return self.fit == "stretch"

    @property
    def n_bins(self):
        """Frequency bins of the one-sided spectrum: ``1 + n_fft // 2``."""
        return 1 + self.n_fft // 2

    @property
    def n_samples(self):
        """Samples per example at ``sr``."""
        return (self.n_frames - 1) * self.hop_length

    @property
    def duration(self):
        """Seconds per example."""
        return self.n_samples / self.sr

    @property
    def shape(self):
        """Shape of one example's magnitude: ``(n_bins, n_frames)``."""
        return (self.n_bins, self.n_frames)

    @classmethod
    def for_duration(cls, seconds, **kwargs):
        """Settings whose examples last about ``seconds`` (frame count rounded).

        Parameters
        ----------
        seconds : float > 0
            Wanted loop length in seconds.
        **kwargs
            Other fields (``sr``, ``n_fft``, ``hop_length``).
        """
        if not seconds > 0:
            raise ParameterError(f"seconds must be > 0, got {seconds!r}")
        probe = cls(**kwargs)
        n_frames = max(2, int(round(seconds * probe.sr / probe.hop_length)) + 1)
        return dataclasses.replace(probe, n_frames=n_frames)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        """Settings from ``to_dict``; a model or store written before ``fit`` existed cropped."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{"fit": "crop", **{k: v for k, v in d.items() if k in fields}})

    def differences(self, other):
        """Names and values of the settings that differ from ``other``.

        Returns
        -------
        diffs : list of str
            e.g. ``["sr: 22050 here, 44100 in the model"]``; empty when equal.
        """
        out = []
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if a != b:
                out.append(f"{f.name}: {a} in the data, {b} in the model")
        return out


def check_augmentation(gain_db, shift, mix, *, what=""):
    """Refuse an augmentation outside its ranges (ParameterError naming the values): a
    level change ``gain_db`` >= 0 dB, a ``shift`` of a whole number >= 0 frames, a share
    ``mix`` in [0, 1]. ``what`` prefixes the names (``"preset 'x': augment_"``)."""
    try:
        ok = gain_db >= 0 and int(shift) == shift >= 0 and 0 <= mix <= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"{what}gain_db must be >= 0, {what.rsplit(' ', 1)[-1]}shift a whole number >= 0 and "
                             f"{what.rsplit(' ', 1)[-1]}mix in [0, 1], got {gain_db!r}, {shift!r}, {mix!r}")


#: How a decoder can make each frame's spectrum from its code (``model.build_decoder``).
FREQUENCY_DECODERS = ("dense", "conv")
#: How a new model's ReLU layers' kernels start: Keras' Glorot-uniform (the tutorial's) or
#: He-uniform (``morphlib.model.vae.RELU_INITS``).
INITS = ("glorot", "he")


@dataclasses.dataclass(frozen=True)
class Preset:
    """Model size and training schedule.

    Parameters
    ----------
    name : str
        Short name used on the command line.
    latent_dim : int > 0
        Size of the latent space (tutorial: 16).
    hidden : int > 0
        Width of every hidden layer (tutorial: 256).
    beta : float >= 0
        Weight of the KL(posterior || prior) term (tutorial: 0.001).
    learning_rate : float > 0
        Adam's learning rate (tutorial: Keras' default 0.001).
    batch_size : int > 0
        Examples per step (tutorial: 16).
    epochs : int > 0
        Default number of epochs (tutorial: 500).
    posterior : {"full", "diag"}
        Full-covariance Gaussian posterior (tutorial) or diagonal.
    compression : {"none", "log"}
        What the model works on: linear magnitude (tutorial) or ``log1p(|S| / floor)``.
    floor : float > 0
        Linear magnitude where ``log`` compression turns from linear to logarithmic.
    output_activation : {"relu", "softplus"}
        The decoder's last activation (tutorial: ReLU).
    linear_weight : float >= 0
        With ``log``: weight of the relative linear-magnitude error added to the loss.
    detail_slots : int >= 0
        Full-resolution patterns in the decoder's detail bank, which reproduce each
        loop's fine structure (0: none, the tutorial's decoder).
    clipnorm : float >= 0
        Largest gradient norm of each variable in a step (0: unclipped, the tutorial's).
        Clipping keeps a log-magnitude loss from diverging at the one-cycle peak.
    mix_weight : float >= 0
        Weight of the mid-morph term (``VAE``): decodes of blends of two loops' latent
        means must keep the hits of their ends (0: none, the tutorial's loss).
    detail_moments : {"full", "factored"}
        What the optimizer keeps for the detail bank: Adam's two moments, each as big as
        the bank (``"full"``), or a row and a column of second moments
        (``"factored"``, ``optimizer.FusedAdam``), which makes a checkpoint about half
        the size (measured on recorded drums: lower LSD, softer mid-morphs; README).
    augment_gain_db, augment_shift, augment_mix : float >= 0, int >= 0, float in [0, 1]
        Training on altered copies of the loops (``pipeline.Augmentation``): levels
        moved by up to this many dB, starts by up to this many frames, this share of
        the loops mixed with another (0, 0, 0: the loops as they are, the tutorial's).
    weight_decay : float >= 0
        Decoupled weight decay (AdamW) per unit learning rate (0: none, the tutorial's).
    keep_hits : bool
        Whether morphs give each blend the band envelopes of its ends blended in dB
        (``morphlib.sound.hits``), so that mid-morphs keep their hits; False: the decode of the
        blended latent as it is (the tutorial's morph). Not part of the model: it decides
        how a trained model is heard, and ``keep_hits=`` of a morph overrides it.
    frequency_decoder : {"dense", "conv"}
        How the decoder makes each frame's spectrum: one dense layer per frame (the
        tutorial's), or a coarse spectrum refined by convolutions along frequency.
    init : {"glorot", "he"} or None
        How a new model's ReLU layers' kernels start (``morphlib.model.vae.RELU_INITS``);
        None: as the recipe says (``Recipe.init``). A preset whose figures were measured
        from one start keeps it whatever the recipe.
    """

    name: str
    latent_dim: int = 16
    hidden: int = 256
    beta: float = 0.001
    learning_rate: float = 0.001
    batch_size: int = 16
    epochs: int = 500
    posterior: str = "full"
    compression: str = "none"
    floor: float = 1.0
    output_activation: str = "relu"
    linear_weight: float = 0.0
    detail_slots: int = 0
    clipnorm: float = 0.0
    mix_weight: float = 0.0
    detail_moments: str = "full"
    augment_gain_db: float = 0.0
    augment_shift: int = 0
    augment_mix: float = 0.0
    weight_decay: float = 0.0
    keep_hits: bool = False
    frequency_decoder: str = "dense"
    init: str = None

    def same_model(self, other):
        """Whether ``other`` trains the same model: equal but for how it is heard (``keep_hits``)
        and how its first weights were drawn (``init``)."""
        return isinstance(other, Preset) and dataclasses.replace(self, keep_hits=other.keep_hits, init=other.init) == other

    def init_for(self, recipe):
        """How a new model of this preset starts under ``recipe``: the preset's ``init``, else the recipe's."""
        return self.init or recipe.init

    def __post_init__(self):
        if self.detail_moments not in ("full", "factored"):
            raise ParameterError(f"detail_moments must be 'full' or 'factored', got {self.detail_moments!r}")
        if self.frequency_decoder not in FREQUENCY_DECODERS:
            raise ParameterError(f"frequency_decoder must be 'dense' or 'conv', got {self.frequency_decoder!r}")
        if self.init is not None and self.init not in INITS:
            raise ParameterError(f"init must be None or one of {INITS}, got {self.init!r}")
        if not self.weight_decay >= 0:
            raise ParameterError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        check_augmentation(self.augment_gain_db, self.augment_shift, self.augment_mix, what=f"preset {self.name!r}: augment_")


PRESETS = {
    # The tutorial's model and schedule, exactly.
    "tutorial": Preset("tutorial"),
    # Same shapes, narrower layers and fewer epochs: minutes on 2 CPU cores.
    "fast": Preset("fast", hidden=32, epochs=150, learning_rate=0.003),
    # What a producer picks for sound: log(1 + |S| / 0.1), whose loss hears bins down to
    # about 70 dB below a loop's peak, a softplus output that cannot carve holes, a
    # diagonal posterior, a lighter KL term, which blurs less, and a detail bank that
    # reproduces each loop's fine structure, which the 256 spectra of the tutorial's
    # decoder cannot; half as wide, so that it trains in less time than the tutorial
    # preset; clipped gradients, without which a log loss can diverge at the one-cycle
    # peak; 64 latent dimensions, from which loops of kits it never heard are fitted
    # closer (6.99 against 7.37 dB) and its own loops decode closer (2.10 against 2.31 dB),
    # in the same training time (choices measured by benchmarks/sound.py, rank.py and
    # addloops.py; see the README). Its ReLU layers start Glorot-uniform whatever the
    # recipe: from the default recipe's He start it decoded closer (2.01 against 2.10 dB
    # on recorded drums) but kept 80 % of mid-morph pairs intermediate against 90 %, the
    # target its mid-morphs were tuned to (README, "A start scaled for ReLU").
    "studio": Preset("studio", latent_dim=64, hidden=128, beta=0.0001, compression="log", floor=0.1, output_activation="softplus",
                     posterior="diag", detail_slots=96, clipnorm=1.0, keep_hits=True, init="glorot"),
    # The studio preset at full bandwidth: 44.1 kHz analysed with the same time grid
    # (n_fft 4096, hop 1024: 148 frames of 23 ms, 2049 bins; see PRESET_SETTINGS), so
    # that cymbals and hats keep their air above 11 kHz and exports match the project.
    # Its bank (29 M weights) trains with factored moments, without which a checkpoint
    # would be 200 MB (README, "Size on Drive"). It starts as the studio preset does.
    "studio44": Preset("studio44", hidden=128, beta=0.0001, compression="log", floor=0.1, output_activation="softplus",
                       posterior="diag", detail_slots=96, clipnorm=1.0, detail_moments="factored", keep_hits=True, init="glorot"),
    # For tests: seconds.
    "tiny": Preset("tiny", latent_dim=4, hidden=16, epochs=2, batch_size=8, learning_rate=0.01),
}


def get_preset(name):
    """Look a preset up by name.

    Parameters
    ----------
    name : str or Preset
        One of ``PRESETS`` (``"tutorial"``, ``"fast"``, ``"tiny"``), or a Preset.
    """
    if isinstance(name, Preset):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise ParameterError(
            f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None


#: Analysis settings of the presets that are not at the tutorial's 22,050 Hz.
PRESET_SETTINGS = {"studio44": {"sr": 44100, "n_fft": 4096, "hop_length": 1024}}


def time_grid_at(sr):
    """``n_fft`` and ``hop_length`` that keep the tutorial's time grid at another rate.

    The tutorial's 2048 / 512 at 22,050 Hz are 93 ms windows every 23 ms; at ``sr`` the
    FFT grows by the nearest power of two (4096 / 1024 at 44.1 and 48 kHz), so that a
    model sees the same 148 frames of a loop with finer frequency bins.

    Parameters
    ----------
    sr : int > 0
        Hz.

    Returns
    -------
    grid : dict
        ``{"n_fft": int, "hop_length": int}``.
    """
    sr = check_int("sr", sr, low=1000, high=384000)
    n_fft = int(2048 * 2 ** round(math.log2(sr / 22050)))
    return {"n_fft": max(n_fft, 16), "hop_length": max(n_fft // 4, 4)}


def settings_for(preset, **kwargs):
    """The analysis settings a new model of ``preset`` is trained with.

    Every preset but ``"tutorial"`` fits loops to the bar (``fit="stretch"``); the
    tutorial preset crops them, as the tutorial does. ``"studio44"`` works at 44.1 kHz
    (``PRESET_SETTINGS``). An ``sr`` given without ``n_fft`` and ``hop_length`` brings
    the time grid with it (``time_grid_at``): ``settings_for("studio", sr=44100)`` is
    the studio44 preset's analysis.

    Parameters
    ----------
    preset : str or Preset
    **kwargs
        Other fields of AnalysisSettings (``sr``, ``fit``, ...), which win.
    """
    preset = get_preset(preset)
    given = {k: v for k, v in kwargs.items() if v is not None}
    base = {"fit": "crop" if preset.name == "tutorial" else "stretch", **PRESET_SETTINGS.get(preset.name, {})}
    if "sr" in given and "n_fft" not in given and "hop_length" not in given:
        base.update(time_grid_at(given["sr"]))
    return AnalysisSettings(**{**base, **given})


def default_preset():
    """``"fast"`` when ``MORPHLIB_FAST`` is set, else ``"tutorial"``."""
    return PRESETS["fast" if fast_mode() else "tutorial"]
