"""A model folder: everything needed to use or resume a model, written so nothing is half-written.

Layout of ``MODEL_DIR``::

    morphlib.json                 analysis settings, preset, architecture (self-describing)
    model.keras                   the best model so far (Keras 3 file; no optimizer state)
    history.csv                   one row per finished epoch: epoch, loss, mse, kl, seconds
    checkpoint/state.json         the last finished epoch and where its checkpoint is
    checkpoint/epoch-NNNNNN.bin   weights and optimizer state after that epoch (raw arrays;
                                  their shapes are in state.json)

Every file is written to a temporary name in the same folder and then renamed over the
old one, so that a process killed at any point leaves the previous complete file.
"""

import csv
import dataclasses
import glob
import io
import json
import os

import numpy as np

from .config import AnalysisSettings, Preset
from .errors import ModelFolderError, SettingsMismatchError

FORMAT = "morphlib-model"
FORMAT_VERSION = 1
META = "morphlib.json"
BEST = "model.keras"
HISTORY = "history.csv"
CHECKPOINTS = "checkpoint"
STATE = "state.json"


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = _tmp_name(path)
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _tmp_name(path, suffix=""):
    folder, base = os.path.split(os.fspath(path))
    return os.path.join(folder, f".{base}.part{suffix}")


def save_keras_atomically(model, path):
    """``model.save(path)`` through a temporary ``.keras`` file and a rename."""
    tmp = _tmp_name(path, ".keras")
    model.save(tmp)
    os.replace(tmp, path)


def write_meta(model_dir, *, settings, preset, model_config, data_names=()):
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "settings": settings.to_dict(),
        "preset": dataclasses.asdict(preset),
        "model": model_config,
        "data": {"n_files": len(data_names), "names": list(data_names)},
    }
    atomic_write_text(os.path.join(model_dir, META), json.dumps(meta, indent=2, ensure_ascii=False))
    return meta


def read_meta(model_dir):
    """The folder's ``morphlib.json``, or ModelFolderError naming what is wrong."""
    model_dir = os.fspath(model_dir)
    path = os.path.join(model_dir, META)
    if not os.path.isdir(model_dir):
        raise ModelFolderError(f"model folder {model_dir} does not exist; train a model into it first (`python -m morphlib train DATA_DIR --model {model_dir}`)")
    if not os.path.exists(path):
        raise ModelFolderError(f"{model_dir} is not a morphlib model folder: {META} is missing (was it trained with morphlib?)")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as exc:
        raise ModelFolderError(f"{path} is damaged and cannot be read ({exc}); train again into a new folder") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFolderError(f"{path} was not written by morphlib (no format {FORMAT!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFolderError(f"{path} has format version {meta['format_version']}; this morphlib reads up to {FORMAT_VERSION}: upgrade morphlib")
    try:
        meta["settings"] = AnalysisSettings.from_dict(meta["settings"])
        meta["preset"] = Preset(**meta["preset"])
        meta["model"] = dict(meta["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFolderError(f"{path} is damaged: {exc}") from None
    return meta


def check_settings(data_settings, model_settings, *, where):
    """SettingsMismatchError listing every analysis setting that differs."""
    diffs = data_settings.differences(model_settings)
    if diffs:
        raise SettingsMismatchError(
            f"the data does not fit the model in {where}: " + "; ".join(diffs)
            + ". Load the data with the model's settings (model.settings), or train a new model in another folder"
        )


HISTORY_FIELDS = ("epoch", "loss", "mse", "kl", "seconds")


def read_history(model_dir):
    """Rows of ``history.csv`` as dicts of floats (``epoch`` as int); [] when absent."""
    path = os.path.join(os.fspath(model_dir), HISTORY)
    if not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        return [{k: (int(float(v)) if k == "epoch" else float(v)) for k, v in r.items() if v not in (None, "")} for r in rows]
    except (OSError, ValueError) as exc:
        raise ModelFolderError(f"{path} is damaged ({exc}); delete it to start the history anew") from None


def write_history(model_dir, rows):
    buf = io.StringIO()
    fields = list(HISTORY_FIELDS) + sorted({k for r in rows for k in r} - set(HISTORY_FIELDS))
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(os.path.join(os.fspath(model_dir), HISTORY), buf.getvalue())


def read_state(model_dir):
    """The last checkpoint's state dict, or None when there is no usable checkpoint."""
    folder = os.path.join(os.fspath(model_dir), CHECKPOINTS)
    path = os.path.join(folder, STATE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        state["epoch"] = int(state["epoch"])
        weights = os.path.join(folder, state["weights"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFolderError(f"{path} is damaged ({exc}); delete the folder {folder} to restart from the best model") from None
    if not os.path.exists(weights):
        raise ModelFolderError(f"{path} names {weights}, which is missing; delete the folder {folder} to restart from the best model")
    state["weights_path"] = weights
    return state


def checkpoint_arrays(model):
    """Copies of everything resuming needs: the weights and the optimizer's variables."""
    return [v.numpy() for v in model.weights], [v.numpy() for v in model.optimizer.variables]


def restore_checkpoint(model, path, layout):
    """Load arrays written by ``CheckpointWriter`` back into ``model`` (its optimizer built here).

    Parameters
    ----------
    model : keras.Model
        Compiled, of the same architecture.
    path : str
        The raw checkpoint file.
    layout : dict
        ``{"weights": [[shape, dtype], ...], "optimizer": [...]}`` from the state file.
    """
    try:
        arrays = {}
        with open(path, "rb") as f:
            for group in ("weights", "optimizer"):
                arrays[group] = []
                for shape, dtype in layout[group]:
                    count = int(np.prod(shape, dtype=np.int64))
                    a = np.fromfile(f, dtype=dtype, count=count)
                    if a.size != count:
                        raise ValueError("the file ends early")
                    arrays[group].append(a.reshape(shape))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFolderError(f"{path} is damaged ({exc}); delete the checkpoint folder to restart from the best model") from None
    model.optimizer.build(model.trainable_variables)
    variables, opt_vars = model.weights, model.optimizer.variables
    if [a.shape for a in arrays["weights"]] != [tuple(v.shape) for v in variables] or len(arrays["optimizer"]) != len(opt_vars):
        raise ModelFolderError(f"{path} does not fit this model (another preset or morphlib version); delete the checkpoint folder to restart from the best model")
    for v, a in zip(variables, arrays["weights"]):
        v.assign(a)
    for v, a in zip(opt_vars, arrays["optimizer"]):
        v.assign(a)


class CheckpointWriter:
    """Writes checkpoints in a background thread, so that training does not wait for the disk.

    The arrays are copied on the training thread (milliseconds); the file, then the
    state naming it, are written by the thread, each through a temporary name and a
    rename; older checkpoints are deleted after. At most one write is in flight: the
    next ``write`` (and ``close``) waits for it, so a kill loses at most the epoch
    being written.
    """

    def __init__(self, model_dir):
        self.folder = os.path.join(os.fspath(model_dir), CHECKPOINTS)
        os.makedirs(self.folder, exist_ok=True)
        for stale in glob.glob(os.path.join(glob.escape(self.folder), ".*.part*")):
            os.remove(stale)  # left by a process killed while writing
        self._thread = None
        self._error = None

    def write(self, model, state):
        self.wait()
        arrays = checkpoint_arrays(model)
        import threading

        self._thread = threading.Thread(target=self._write, args=(arrays, dict(state)), daemon=True)
        self._thread.start()

    def _write(self, arrays, state):
        try:
            weights, slots = arrays
            name = f"epoch-{state['epoch']:06d}.bin"
            tmp = os.path.join(self.folder, f".{name}.part")
            with open(tmp, "wb") as f:  # raw arrays: no archive, no checksum pass over 3 x the weights
                for a in (*weights, *slots):
                    np.ascontiguousarray(a).tofile(f)
            os.replace(tmp, os.path.join(self.folder, name))
            layout = {
                "weights": [[list(a.shape), a.dtype.str] for a in weights],
                "optimizer": [[list(a.shape), a.dtype.str] for a in slots],
            }
            atomic_write_text(os.path.join(self.folder, STATE), json.dumps({**state, "weights": name, "layout": layout}))
            for old in glob.glob(os.path.join(glob.escape(self.folder), "epoch-*")):
                if os.path.basename(old) != name:
                    os.remove(old)
        except Exception as exc:  # reported on the training thread by wait()
            self._error = exc

    def wait(self):
        """Block until the write in flight is on disk; raise what it failed with."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise ModelFolderError(f"could not write a checkpoint into {self.folder}: {error}")

    close = wait


LATENTS = "latents.json"


def _stamp(path):
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}"


def write_latents(model_dir, names, z):
    """Store the training loops' latent means, so that morphs by name need no data."""
    model_dir = os.fspath(model_dir)
    payload = {
        "model": _stamp(os.path.join(model_dir, BEST)),
        "latents": {name: [round(float(v), 7) for v in row] for name, row in zip(names, z)},
    }
    atomic_write_text(os.path.join(model_dir, LATENTS), json.dumps(payload, ensure_ascii=False))


def read_latents(model_dir):
    """``{name: z}`` of the training loops; ModelFolderError when absent or stale."""
    model_dir = os.fspath(model_dir)
    path = os.path.join(model_dir, LATENTS)
    try:
        with open(path, encoding="utf-8") as f:
            payload = json.load(f)
        latents = payload["latents"]
        fresh = payload.get("model") == _stamp(os.path.join(model_dir, BEST))
    except FileNotFoundError:
        raise ModelFolderError(f"{path} is missing: name sounds by file path, or pass the data folder (--data)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFolderError(f"{path} is damaged ({exc}); pass the data folder (--data) instead") from None
    if not fresh:
        raise ModelFolderError(f"{path} belongs to an older {BEST} (training was interrupted); pass the data folder (--data), or finish training")
    return latents
