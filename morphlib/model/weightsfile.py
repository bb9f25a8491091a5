"""Loading a model folder's network from data only: morphlib's own metadata and the weights.

A model folder may come from someone else (a shared Drive link, a zip). Keras' whole-model
loader (``keras.saving.load_model``) hands the file's configuration to a deserializer,
which has had a run of safe-mode bypasses and archive path traversals (CVE-2025-1550,
CVE-2025-8747, CVE-2025-9906, CVE-2026-1462, GHSA-hqp4-2352-xf5r), and Google Colab
ships a Keras version older than the last fix. So morphlib never calls it:

1. the architecture is read from ``morphlib.json`` (``meta["model"]``), every field checked
   against its type and range (:func:`architecture_from_meta`), and the network is built
   by morphlib's own ``VAE`` class;
2. from the ``.keras`` archive only the member ``model.weights.h5`` is read (never
   extracted by its own names), its size bounded, and the HDF5 file checked to hold
   nothing but plain numeric arrays: no external or soft links, no virtual or external
   datasets (:func:`check_weights_h5`); then Keras' weights-only loader fills the
   variables, which checks every array's shape.

What such a folder can do is give a model whose sound is whatever its weights make; it
cannot run code, read or write files outside the folder, or ask for more than
``MAX_PARAMS`` parameters' worth of memory.
"""

import math
import os
import stat
import tempfile
import zipfile

from ..errors import ModelFolderError
from ..config import FREQUENCY_DECODERS, INITS

#: Most parameters a model folder may ask for (1.2 GB of float32): the largest preset has 33 M.
MAX_PARAMS = 300_000_000

#: The archive member that holds the weights (Keras 3's layout of a ``.keras`` file).
WEIGHTS_MEMBER = "model.weights.h5"

#: Integer fields of the architecture and their inclusive ranges.
INT_FIELDS = {
    "n_bins": (2, 32769),
    "n_frames": (1, 16384),
    "latent_dim": (1, 512),
    "hidden": (1, 4096),
    "detail_slots": (0, 4096),
}

#: Real fields and their inclusive ranges (``floor`` must also be > 0).
FLOAT_FIELDS = {
    "beta": (0.0, 1e6),
    "floor": (0.0, 1e6),
    "linear_weight": (0.0, 1e6),
    "mix_weight": (0.0, 1e6),
}


def _choices():
    from .vae import COMPRESSIONS, OUTPUTS, POSTERIORS

    return {"posterior": POSTERIORS, "compression": COMPRESSIONS, "output_activation": OUTPUTS,
            "frequency_decoder": FREQUENCY_DECODERS, "init": INITS}


def architecture_from_meta(config, *, where):
    """The ``VAE`` keyword arguments in a model folder's ``meta["model"]``, each one checked.

    Fields the folder lacks take ``VAE``'s defaults (folders written by older versions);
    fields morphlib does not know (Keras' ``name``, ``trainable``, ``dtype``) are ignored.

    Parameters
    ----------
    config : dict
        ``meta["model"]`` as read from ``morphlib.json``.
    where : str
        The file it came from, for messages.

    Returns
    -------
    kwargs : dict

    Raises
    ------
    ModelFolderError
        Naming the field, its value and the range it must lie in.
    """
    if not isinstance(config, dict):
        raise ModelFolderError(f"{where}: 'model' must be a table of settings, got {type(config).__name__}")
    out = {}
    for name, (low, high) in INT_FIELDS.items():
        if name in config:
            out[name] = _checked_int(config[name], name, low, high, where)
    for name, (low, high) in FLOAT_FIELDS.items():
        if name in config:
            out[name] = _checked_float(config[name], name, low, high, where)
    if out.get("floor", 1.0) <= 0:
        raise ModelFolderError(f"{where}: floor must be > 0, got {out['floor']!r}")
    for name, allowed in _choices().items():
        if name in config:
            if not isinstance(config[name], str) or config[name] not in allowed:
                raise ModelFolderError(f"{where}: {name} must be one of {tuple(allowed)}, got {config[name]!r}")
            out[name] = config[name]
    if config.get("seed") is not None:
        out["seed"] = _checked_int(config["seed"], "seed", 0, 2**63 - 1, where)
    if config.get("strides") is not None:
        strides = config["strides"]
        if not isinstance(strides, (list, tuple)) or not 1 <= len(strides) <= 8:
            raise ModelFolderError(f"{where}: strides must be a list of 1 to 8 whole numbers, got {strides!r}")
        out["strides"] = tuple(_checked_int(s, "strides", 1, 16384, where) for s in strides)
    n = estimated_params(out)
    if n > MAX_PARAMS:
        raise ModelFolderError(f"{where}: this architecture would have about {n:,} parameters, more than morphlib's limit of {MAX_PARAMS:,}: not a morphlib model")
    return out


def _checked_int(value, name, low, high, where):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ModelFolderError(f"{where}: {name} must be a whole number in [{low}, {high}], got {value!r}")
    return value


def _checked_float(value, name, low, high, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise ModelFolderError(f"{where}: {name} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def estimated_params(arch):
    """An upper estimate of the parameters of a ``VAE`` with the keyword arguments ``arch``."""
    n_bins, n_frames = arch.get("n_bins", 1025), arch.get("n_frames", 148)
    latent, hidden = arch.get("latent_dim", 16), arch.get("hidden", 256)
    strides = arch.get("strides") or (n_frames,)
    posterior = latent + latent * (latent + 1) // 2
    slots = arch.get("detail_slots", 0)
    per_side = n_bins * hidden + hidden * hidden * sum(strides) + 4 * hidden
    return 2 * per_side + hidden * posterior + latent * hidden + slots * (n_frames * n_bins + latent + 1)


def read_weights(vae, path):
    """Fill ``vae``'s variables from the weights in the ``.keras`` archive at ``path``.

    Raises
    ------
    ModelFolderError
        The file is a link or not a regular file, not an archive with the weights
        member, too large, holds anything but plain arrays, or does not fit ``vae``.
    """
    path = os.fspath(path)
    _check_regular(path)
    limit = 8 * MAX_PARAMS + (1 << 24)  # float32 weights, plus room for the metrics' state
    with tempfile.TemporaryDirectory(prefix="morphlib-weights-") as scratch:
        weights = os.path.join(scratch, WEIGHTS_MEMBER)  # our own name, never the archive's
        try:
            with zipfile.ZipFile(path) as archive:
                member = archive.getinfo(WEIGHTS_MEMBER)
                if member.file_size > limit:
                    raise ModelFolderError(f"{path}: its weights claim {member.file_size:,} bytes, more than morphlib's limit of {limit:,}")
                with archive.open(member) as src, open(weights, "wb") as dst:
                    _copy_at_most(src, dst, limit, path)
        except KeyError:
            raise ModelFolderError(f"{path} holds no {WEIGHTS_MEMBER}: not a model file written by morphlib; train again to rewrite it") from None
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
            raise ModelFolderError(f"{path} is damaged or not a morphlib model ({type(exc).__name__}: {str(exc)[:200]}); train again to rewrite it") from None
        check_weights_h5(weights, where=path)
        try:
            vae.load_weights(weights)
        except Exception as exc:  # Keras raises ValueError for a shape mismatch, h5py OSError/KeyError for a bad file
            raise ModelFolderError(f"{path} does not fit the architecture in morphlib.json ({type(exc).__name__}: {str(exc)[:200]}); train again into a new folder") from None


def _check_regular(path):
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise ModelFolderError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISLNK(st.st_mode):
        raise ModelFolderError(f"{path} is a link (to {os.readlink(path)}): morphlib reads no model file through a link; copy the file itself into the folder")
    if not stat.S_ISREG(st.st_mode):
        raise ModelFolderError(f"{path} is not a regular file: not a model file written by morphlib")


def _copy_at_most(src, dst, limit, where):
    copied = 0
    for block in iter(lambda: src.read(1 << 20), b""):
        copied += len(block)
        if copied > limit:
            raise ModelFolderError(f"{where}: its weights unpack to more than morphlib's limit of {limit:,} bytes")
        dst.write(block)


def check_weights_h5(path, *, where):
    """Raise ModelFolderError unless the HDF5 file at ``path`` holds only plain numeric
    arrays in groups: no link of any kind, no virtual or external dataset, no more than
    ``MAX_PARAMS`` values in all."""
    import h5py

    total = [0]

    def walk(group, name):
        for key in group:
            link = group.get(key, getlink=True)
            if not isinstance(link, h5py.HardLink):
                raise ModelFolderError(f"{where}: its weights hold a link at {name}/{key} ({type(link).__name__}): refused")
            item = group[key]
            if isinstance(item, h5py.Group):
                walk(item, f"{name}/{key}")
            elif isinstance(item, h5py.Dataset):
                if item.is_virtual or item.external:
                    raise ModelFolderError(f"{where}: its weights read data from other files ({name}/{key}): refused")
                if item.dtype.kind not in "biuf":
                    raise ModelFolderError(f"{where}: its weights hold a non-numeric array at {name}/{key}: refused")
                total[0] += item.size
            else:
                raise ModelFolderError(f"{where}: its weights hold an unexpected object at {name}/{key}: refused")
        if total[0] > MAX_PARAMS * 2:
            raise ModelFolderError(f"{where}: its weights hold more than {2 * MAX_PARAMS:,} values: refused")

    try:
        with h5py.File(path, "r") as f:
            walk(f, "")
    except ModelFolderError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError on a bad file
        raise ModelFolderError(f"{where}: its weights are damaged ({type(exc).__name__}: {str(exc)[:200]}); train again to rewrite it") from None

