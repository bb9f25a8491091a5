"""Which devices train: a tf.distribute strategy picked by name.

``auto`` takes a TPU in a Colab TPU runtime, MirroredStrategy when more than one GPU is
visible, else TensorFlow's default (one device). ``multiworker`` reads ``TF_CONFIG``.
``MORPHLIB_CPU_DEVICES=N`` splits the CPU into N logical devices, so that MirroredStrategy
runs (and is tested) on a machine without GPUs.
"""

import json
import os

from ..errors import ParameterError
from .backend import keras_tf_tfp, split_cpu

STRATEGIES = ("auto", "default", "mirrored", "tpu", "multiworker")

_cache = {}


def read_tf_config(text=None):
    """``TF_CONFIG`` as a dict, or a ParameterError that says what is wrong with it."""
    text = os.environ.get("TF_CONFIG", "") if text is None else text
    if not text.strip():
        raise ParameterError("strategy 'multiworker' needs TF_CONFIG (JSON with 'cluster' and 'task'); it is not set")
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise ParameterError(f"TF_CONFIG is not valid JSON ({exc}): {text[:200]!r}") from None
    if not isinstance(config, dict) or "cluster" not in config or "task" not in config:
        raise ParameterError(f"TF_CONFIG must be a JSON object with 'cluster' and 'task', got {text[:200]!r}")
    workers = config["cluster"].get("worker") if isinstance(config["cluster"], dict) else None
    task = config["task"]
    if not isinstance(workers, list) or not workers:
        raise ParameterError(f"TF_CONFIG's cluster needs a non-empty 'worker' list of host:port, got {config['cluster']!r}")
    if not isinstance(task, dict) or task.get("type") != "worker" or not isinstance(task.get("index"), int) \
            or not 0 <= task["index"] < len(workers):
        raise ParameterError(f"TF_CONFIG's task must be {{'type': 'worker', 'index': 0..{len(workers) - 1}}}, got {task!r}")
    return config


def get_strategy(name="auto"):
    """The tf.distribute strategy called ``name`` (made once per process and reused).

    Parameters
    ----------
    name : {"auto", "default", "mirrored", "tpu", "multiworker"}

    Returns
    -------
    strategy : tf.distribute.Strategy
    """
    if name not in STRATEGIES:
        raise ParameterError(f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}")
    split_cpu()

    _, tf, _ = keras_tf_tfp()
    if name == "auto":
        name = "tpu" if _colab_tpu() else ("mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default")
    if name not in _cache:
        _cache[name] = _make(name, tf)
    return _cache[name]


def _make(name, tf):
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        read_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as exc:
        raise ParameterError(f"strategy 'tpu' found no TPU ({exc}); in Colab choose Runtime → Change runtime type → TPU") from None
    return tf.distribute.TPUStrategy(resolver)


def _colab_tpu():
    return bool(os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME")) or os.path.exists("/dev/accel0")


def describe(strategy):
    """``"MirroredStrategy on 2 replicas"``, or ``"one device (CPU)"`` for the default."""
    _, tf, _ = keras_tf_tfp()
    public = {tf.distribute.MultiWorkerMirroredStrategy: "MultiWorkerMirroredStrategy",  # class CollectiveAllReduceStrategy
              tf.distribute.MirroredStrategy: "MirroredStrategy", tf.distribute.TPUStrategy: "TPUStrategy"}
    kind = next((name for c, name in public.items() if isinstance(strategy, c)), type(strategy).__name__)
    n = strategy.num_replicas_in_sync
    if kind in ("_DefaultDistributionStrategy", "DefaultDistributionStrategy"):
        return f"one device ({'GPU' if tf.config.list_logical_devices('GPU') else 'CPU'})"
    return f"{kind} on {n} replica{'s' * (n != 1)}"


def in_multi_worker_mode(strategy):
    """Whether ``strategy`` spans several processes (``MultiWorkerMirroredStrategy`` with 2+ workers)."""
    return bool(getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)())


def is_chief(strategy):
    """Whether this process writes the model folder (worker 0, or the only process)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "cluster_spec", None) or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in ("chief", None) or (resolver.task_type == "worker" and resolver.task_id == 0 and
                                                     "chief" not in resolver.cluster_spec().as_dict())
