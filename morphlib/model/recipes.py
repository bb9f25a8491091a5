"""Training recipes: the learning-rate schedule, the number of epochs and the arithmetic precision.

A preset says what the model is (layers, loss, its base learning rate and epochs); a recipe
says how it is trained. ``tutorial`` reproduces the tutorial exactly (Adam at the preset's
rate, constant, batch 16, float32, the preset's epochs). ``onecycle`` reaches the same
quality in a fraction of the time: a one-cycle schedule (warm-up to a higher peak, cosine
decay to almost nothing) over fewer epochs, in mixed precision where the hardware has it
(bfloat16 on CPUs with AVX512-BF16 or AMX and on TPUs, float16 on GPUs), from a start of the
ReLU layers scaled for ReLU (He-uniform). The figures that chose it are in
``benchmarks/bench.py``, ``benchmarks/plateau.py`` and the README.
"""

import dataclasses
import functools
import math

from ..config import INITS, check_int
from ..errors import ParameterError
from .backend import keras_tf_tfp

SCHEDULES = ("constant", "onecycle")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a preset is trained.

    Parameters
    ----------
    name : str
    schedule : {"constant", "onecycle"}
        ``constant``: ``peak`` times the preset's learning rate throughout (1: the
        preset's own, the tutorial's). ``onecycle``: from
        ``peak / 10`` up to ``peak`` over the first ``warmup`` of the epochs, then a
        cosine down to ``peak / 1000``.
    peak : float > 0
        Highest learning rate as a multiple of the preset's ``learning_rate`` (the
        constant rate's, for ``constant``).
    warmup : float in [0, 1)
        Fraction of the epochs spent rising.
    epochs : float > 0
        Default epochs as a multiple of the preset's ``epochs``.
    batch_size : int > 0 or None
        Examples per step; None keeps the preset's.
    full_batches : bool
        Every batch full (the passes over the data run on into each other), which keeps
        the CPU on one fast path; False keeps ``Model.fit``'s short last batch (the tutorial's).
    precision : {"auto", "float32", "mixed_bfloat16", "mixed_float16"}
        Arithmetic of the layers (weights, the loss and the optimizer stay float32).
        ``auto`` picks mixed precision where the hardware runs it fast (see
        :func:`pick_precision`).
    restart_peak : float > 0
        ``onecycle``'s peak for a warm restart (a budget raised after a cycle ended, see
        ``morphlib.training.budget``), as a multiple of the preset's ``learning_rate``. 3, the
        first cycle's own: measured by ``benchmarks/restart.py``, it ended higher than 1
        or 0.3 (README, "On the clock").
    restart_warmup : float in [0, 1)
        Fraction of a warm restart spent rising.
    init : {"glorot", "he"}
        How a new model's ReLU layers' kernels start (``morphlib.model.vae.RELU_INITS``):
        Keras' Glorot-uniform (the tutorial's) or He-uniform, unless the preset pins its
        own (``Preset.init``: the studio presets keep Glorot). A resumed run keeps its
        weights.
    """

    name: str
    schedule: str = "constant"
    peak: float = 1.0
    warmup: float = 0.0
    epochs: float = 1.0
    batch_size: int = None
    full_batches: bool = False
    precision: str = "float32"
    restart_peak: float = 3.0
    restart_warmup: float = 0.1
    init: str = "glorot"

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ParameterError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise ParameterError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.init not in INITS:
            raise ParameterError(f"init must be one of {INITS}, got {self.init!r}")
        if not (self.peak > 0 and self.epochs > 0 and 0 <= self.warmup < 1 and self.restart_peak > 0 and 0 <= self.restart_warmup < 1):
            raise ParameterError(f"recipe {self.name!r}: peak, restart_peak and epochs must be > 0, warmup and restart_warmup in [0, 1)")
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, low=1)

    def epochs_for(self, preset):
        """Default epochs of ``preset`` under this recipe."""
        return max(1, int(round(preset.epochs * self.epochs)))

    def batch_size_for(self, preset):
        return self.batch_size or preset.batch_size

    def learning_rate(self, preset, epoch, total):
        """Adam's learning rate for ``epoch`` (0-based) of ``total``.

        It depends only on the epoch, so a resumed run continues on the same curve.
        """
        if self.schedule == "constant":
            return self.peak * preset.learning_rate
        rise = self.warmup * total
        if epoch < rise:
            return self.learning_rate_at(preset, self.warmup * epoch / rise)
        return self.learning_rate_at(preset, self.warmup + (1 - self.warmup) * min((epoch - rise) / max(total - rise, 1), 1.0))

    def learning_rate_at(self, preset, fraction, *, restart=False):
        """Adam's learning rate at ``fraction`` in [0, 1] of the way through a cycle (of its
        epochs, or of its time on the clock); ``restart``: a warm restart's cycle."""
        base = preset.learning_rate
        if self.schedule == "constant":
            return self.peak * base
        peak, warmup = (self.restart_peak, self.restart_warmup) if restart else (self.peak, self.warmup)
        peak *= base
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction < warmup:
            return peak / 10 + (peak - peak / 10) * fraction / warmup
        t = (fraction - warmup) / (1 - warmup)
        return peak / 1000 + (peak - peak / 1000) * 0.5 * (1 + math.cos(math.pi * t))

    def to_dict(self):
        return dataclasses.asdict(self)


RECIPES = {
    # Exactly the tutorial: Adam at the preset's rate (1e-3), batch 16, float32, all its epochs.
    "tutorial": Recipe("tutorial"),
    # Better than the tutorial's quality, sooner (benchmarks/bench.py): 3x the rate at the
    # peak after a warm-up of 40 % of the epochs, full batches, mixed precision. (5x the
    # rate and a 30 % warm-up was faster on recorded drums but collapsed on the demo loops.)
    # He-uniform ReLU layers: the tutorial preset leaves its mean-spectrum plateau 25-55
    # epochs sooner, so that a fifth of the code's time reaches its cosine in float32 too.
    "onecycle": Recipe("onecycle", schedule="onecycle", peak=3.0, warmup=0.4, epochs=1.0, full_batches=True, precision="auto", init="he"),
}

#: What ``train`` uses when no recipe is named and the folder has none: ``onecycle`` reaches
#: the tutorial's quality in a fraction of its time and ends above the tutorial recipe on
#: recorded drums and on the demo loops (benchmarks/bench.py; README). ``tutorial`` is
#: the exact reproduction.
DEFAULT_RECIPE = "onecycle"


def get_recipe(name):
    """A recipe by name (or a Recipe, returned as is); the error lists the names there are."""
    if isinstance(name, Recipe):
        return name
    try:
        return RECIPES[name]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown recipe {name!r}; choose one of: {', '.join(RECIPES)}") from None


def recipe_from_dict(d):
    """The recipe written in a model folder; folders from before recipes were trained the tutorial's way."""
    if not d:
        return RECIPES["tutorial"]
    fields = {f.name for f in dataclasses.fields(Recipe)}
    return Recipe(**{k: v for k, v in d.items() if k in fields})


def pick_precision(requested="auto"):
    """The layers' arithmetic for this machine.

    Parameters
    ----------
    requested : {"auto", "float32", "mixed_bfloat16", "mixed_float16"}

    Returns
    -------
    precision : str
        ``requested`` unless it is ``auto``; then ``mixed_float16`` on a GPU of compute
        capability 7.0 or newer, ``mixed_bfloat16`` on a TPU or a CPU whose flags include
        ``avx512_bf16`` or ``amx_bf16``, else ``float32`` (bfloat16 emulated on other CPUs
        is slower than float32).
    """
    if requested not in PRECISIONS:
        raise ParameterError(f"precision must be one of {PRECISIONS}, got {requested!r}")
    if requested != "auto":
        return requested

    _, tf, _ = keras_tf_tfp()
    if tf.config.list_logical_devices("TPU"):
        return "mixed_bfloat16"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        major = (tf.config.experimental.get_device_details(gpus[0]).get("compute_capability") or (0, 0))[0]
        return "mixed_float16" if major >= 7 else "float32"
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


@functools.lru_cache(maxsize=1)
def cpu_has_bf16():
    """Whether this CPU computes bfloat16 natively (Linux: its ``/proc/cpuinfo`` flags)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False
