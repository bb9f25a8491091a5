"""A model folder: everything needed to use or resume a model, written so nothing is half-written.

Layout of ``MODEL_DIR``::

    morphlib.json                 analysis settings, preset, architecture (self-describing)
    model.keras                   the best model so far (Keras 3 file; no optimizer state)
    history.csv                   one row per finished epoch: epoch, loss, mse, kl, seconds
    checkpoint/slot-0.bin         weights and optimizer state (raw arrays) of one checkpoint,
    checkpoint/slot-0.json        and its epoch, history, array shapes, size and checksum
    checkpoint/slot-1.bin, .json  the other slot: checkpoints alternate between the two

A process killed at any point leaves complete files behind. The small files and the best
model are written under a temporary name and renamed over the old one. The checkpoint, the
big file written again and again, is rewritten in place in the older of two slots (so that
no copy of it lands in Google Drive's trash), and a torn slot is recognised by its
checksum, which leaves the other slot as the last good checkpoint.
"""

import collections.abc
import csv
import dataclasses
import glob
import io
import json
import os
import threading
import time
import zlib
import zipfile

import numpy as np

from ..config import AnalysisSettings, Preset, default_preset, settings_for
from ..errors import FolderUnreachableError, ModelFolderError, SettingsMismatchError
from ..files import (
    atomic_write_bytes,
    atomic_write_text,
    discard,
    is_full,
    is_unreachable,
    part_name,
    recover_replaced,
    refuse_links,
    replace_keeping_old,
    write_in_place,
)
from .recipes import recipe_from_dict
from ..progress import format_duration
from ..sound.stereo import band_image_shape, coded, detail_codes_shape, from_codes

FORMAT = "morphlib-model"
FORMAT_VERSION = 1
META = "morphlib.json"
BEST = "model.keras"
HISTORY = "history.csv"
CHECKPOINTS = "checkpoint"
STATE = "state.json"
#: Default seconds between checkpoints into a model folder.
CHECKPOINT_EVERY = 120.0


def save_keras_atomically(model, path):
    """``model.save(path)`` through a temporary ``.keras`` file renamed over the old one
    (``files.replace_keeping_old``: never an empty or half-written ``path``).

    Returns
    -------
    n_bytes : int
        Size of the file written.
    """
    tmp = best_part(path)
    root = os.path.dirname(os.path.abspath(path))
    refuse_links(tmp, root=root)
    model.save(tmp)
    n = os.path.getsize(tmp)
    replace_keeping_old(tmp, path, root=root)
    return n


def best_part(path):
    return part_name(path, ".keras")


def recover_best(model_dir, *, drop_stale=False):
    """Finish a best-model write that a kill interrupted between its two steps.

    With ``drop_stale`` (only for the process that trains into the folder) a temporary
    file that a kill left half-written is deleted too.
    """
    path = os.path.join(os.fspath(model_dir), BEST)
    recovered = recover_replaced(best_part(path), path, zipfile.is_zipfile, root=model_dir)
    if drop_stale:
        discard(best_part(path), root=model_dir)
    return recovered


def write_meta(model_dir, *, settings, preset, model_config, data_names=(), recipe=None):
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "settings": settings.to_dict(),
        "preset": dataclasses.asdict(preset),
        **({"recipe": recipe.to_dict()} if recipe is not None else {}),
        "model": model_config,
        "data": {"n_files": len(data_names), "names": list(data_names)},
    }
    atomic_write_text(os.path.join(model_dir, META), json.dumps(meta, indent=2, ensure_ascii=False), root=model_dir)
    return meta


def read_meta(model_dir):
    """The folder's ``morphlib.json``, or ModelFolderError naming what is wrong.

    A :class:`ModelFolder` gives the copy it read once."""
    if isinstance(model_dir, ModelFolder):
        return model_dir.meta
    return _parse_meta(_read_raw_meta(model_dir), os.path.join(os.fspath(model_dir), META))


def _read_raw_meta(model_dir):
    model_dir = os.fspath(model_dir)
    path = os.path.join(model_dir, META)
    if not os.path.isdir(model_dir):
        raise ModelFolderError(f"model folder {model_dir} does not exist; train a model into it first (`python -m morphlib train DATA_DIR --model {model_dir}`)")
    if not os.path.exists(path):
        raise ModelFolderError(f"{model_dir} is not a morphlib model folder: {META} is missing (was it trained with morphlib?)")
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as exc:
        raise ModelFolderError(f"{path} is damaged and cannot be read ({exc}); train again into a new folder") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ModelFolderError(f"{path} was not written by morphlib (no format {FORMAT!r})")
    if raw.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFolderError(f"{path} has format version {raw['format_version']}; this morphlib reads up to {FORMAT_VERSION}: upgrade morphlib")
    return raw


def _parse_meta(raw, path):
    meta = dict(raw)
    try:
        meta["settings"] = AnalysisSettings.from_dict(raw["settings"])
        meta["preset"] = Preset(**raw["preset"])
        meta["recipe"] = recipe_from_dict(raw.get("recipe"))
        meta["model"] = dict(raw["model"])
        meta["data"] = dict(raw.get("data", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFolderError(f"{path} is damaged: {exc}") from None
    return meta


class ModelFolder(os.PathLike):
    """One model folder, its ``morphlib.json`` read once and handed along.

    ``train``, ``add_loops`` and ``load_model`` take it where they take a path (it is
    path-like) and read the metadata from it rather than from the disk again; what they
    write into ``morphlib.json`` goes through it, so its copy stays the file's.

    Parameters
    ----------
    path : str or os.PathLike
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self._raw = self._meta = None

    @classmethod
    def of(cls, folder):
        """``folder`` itself when it is a ModelFolder, else a new one for the path."""
        return folder if isinstance(folder, cls) else cls(folder)

    def __fspath__(self):
        return self.path

    def __repr__(self):
        return f"ModelFolder({self.path!r})"

    @property
    def has_model(self):
        """Whether the folder holds ``morphlib.json`` (a model begun in it)."""
        return self._raw is not None or os.path.exists(os.path.join(self.path, META))

    @property
    def meta(self):
        """``morphlib.json`` parsed (``read_meta``'s dict), read on first use."""
        if self._meta is None:
            self._raw = _read_raw_meta(self.path)
            self._meta = _parse_meta(self._raw, os.path.join(self.path, META))
        return self._meta

    @property
    def names(self):
        """The loops the folder's model was trained on."""
        return frozenset(self.meta["data"].get("names", ()))

    def write_meta(self, **kwargs):
        """``write_meta`` into this folder, keeping what was written as its copy."""
        self._raw = write_meta(self.path, **kwargs)
        self._meta = _parse_meta(self._raw, os.path.join(self.path, META))

    def add_names(self, names):
        """Record ``names`` among the loops of the folder's model (after ``add_loops``)."""
        known = list(dict.fromkeys([*self.meta["data"].get("names", ()), *names]))
        self._raw["data"] = {**self._raw.get("data", {}), "n_files": len(known), "names": known}
        atomic_write_text(os.path.join(self.path, META), json.dumps(self._raw, indent=2, ensure_ascii=False), root=self.path)
        self._meta["data"] = dict(self._raw["data"])


def settings_for_folder(model_dir, preset=None, **kwargs):
    """The analysis settings to load data with for training into ``model_dir``: the
    folder's own when it holds a model (so that a run resumes on what it began with),
    else a new model's for ``preset`` (``config.settings_for``: loops fitted to the bar
    for every preset but the tutorial's).

    Parameters
    ----------
    model_dir : str or os.PathLike
    preset : str or Preset or None
        Default ``config.default_preset()``.
    **kwargs
        AnalysisSettings fields that win (None values are ignored).
    """
    given = {k: v for k, v in kwargs.items() if v is not None}
    if model_dir is not None and ModelFolder.of(model_dir).has_model:
        return AnalysisSettings(**{**read_meta(model_dir)["settings"].to_dict(), **given})
    return settings_for(preset or default_preset(), **given)


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
    """Write ``history.csv``; return the bytes written."""
    buf = io.StringIO()
    fields = list(HISTORY_FIELDS) + sorted({k for r in rows for k in r} - set(HISTORY_FIELDS))
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(os.path.join(os.fspath(model_dir), HISTORY), buf.getvalue(), root=model_dir)


SLOTS = ("slot-0", "slot-1")
LEGACY_STATE = "state.json"  # morphlib 0.1's single checkpoint: state.json + epoch-NNNNNN.bin


def read_state(model_dir):
    """The newest complete checkpoint's state, or None when the folder has none.

    Returns
    -------
    state : dict or None
        ``epoch``, ``loss``, ``seq``, ``saved_at`` (Unix time), ``history`` (rows up to
        ``epoch``; absent in old folders), ``layout``, and ``weights_path``.

    Raises
    ------
    ModelFolderError
        When checkpoints exist but none is complete.
    """
    folder = os.path.join(os.fspath(model_dir), CHECKPOINTS)
    found, damaged = [], []
    for slot in SLOTS:
        if os.path.exists(os.path.join(folder, slot + ".json")):
            state, why = _read_slot(folder, slot)
            (found.append(state) if state else damaged.append(f"{slot}: {why}"))
    if found:
        return max(found, key=lambda st: st["seq"])
    legacy = _read_legacy_state(folder)
    if legacy is not None or not damaged:
        return legacy
    raise ModelFolderError(
        f"no complete checkpoint in {folder} ({'; '.join(damaged)}); delete that folder to restart from the best model"
    )


def checkpoint_status(model_dir):
    """The newest checkpoint in words: its epoch and when it was saved.

    Returns
    -------
    text : str
        e.g. ``"last checkpoint: epoch 140, saved 2026-11-24 17:02:11 (3 min ago)"``.
    """
    try:
        state = read_state(model_dir)
    except ModelFolderError as exc:
        return f"no usable checkpoint: {exc}"
    if state is None:
        return f"no checkpoint in {model_dir} yet"
    saved = state.get("saved_at")
    if saved is None:
        return f"last checkpoint: epoch {state['epoch']}"

    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(saved))
    return f"last checkpoint: epoch {state['epoch']}, saved {when} ({format_duration(time.time() - saved)} ago)"


def checkpoint_epoch(model_dir):
    """Epochs done in the newest complete checkpoint; 0 when there is none or it is damaged."""
    try:
        state = read_state(model_dir)
    except ModelFolderError:
        return 0
    return state["epoch"] if state else 0


def _read_slot(folder, slot):
    """(state, None) for a complete slot, else (None, why)."""
    try:
        with open(os.path.join(folder, slot + ".json"), encoding="utf-8") as f:
            state = json.load(f)
        state["epoch"], state["seq"] = int(state["epoch"]), int(state["seq"])
        path = os.path.join(folder, slot + ".bin")
        with open(path, "rb") as f:
            crc, size = 0, 0
            for block in iter(lambda: f.read(1 << 22), b""):
                crc, size = zlib.crc32(block, crc), size + len(block)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"unreadable ({exc})"
    if (size, crc) != (state.get("size"), state.get("crc32")):
        return None, "torn by an interrupted write"
    state["weights_path"] = path
    return state, None


def _read_legacy_state(folder):
    path = os.path.join(folder, LEGACY_STATE)
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
    return {**state, "seq": 0, "weights_path": weights}


def checkpoint_arrays(model):
    """Copies of everything resuming needs: the weights and the optimizer's variables.

    The detail bank's patterns are kept in float16 and Adam's moments of them in
    bfloat16: a resumed run starts from them rounded by at most 0.05 % (about 0.02 dB)
    and 0.4 %, and a studio checkpoint is 105 MB instead of 185 (README, "Size on
    Drive"). Everything else is kept exactly.
    """
    weights = [v.numpy().astype(np.float16) if _in_bank(v) and v.dtype == "float32" else v.numpy() for v in model.weights]
    slots = [BFloat16Array(v.numpy()) if _in_bank(v) and v.dtype == "float32" and len(v.shape) == 2 and v.shape[0] > 1
             and v.shape[1] > 1 else v.numpy() for v in model.optimizer.variables]
    return weights, slots


def _in_bank(variable):
    return "detail_bank" in variable.path


class BFloat16Array:
    """A float32 array kept as bfloat16: its upper 16 bits, rounded to nearest even (the
    exponent whole, 8 bits of mantissa: 0.4 % at most, no underflow of tiny moments)."""

    dtype_name = "bfloat16"

    def __init__(self, a):
        bits = np.ascontiguousarray(a, np.float32).view(np.uint32)
        rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
        self.codes = (rounded >> np.uint32(16)).astype(np.uint16)
        self.shape = self.codes.shape

    @staticmethod
    def expand(codes):
        """float32 values of bfloat16 ``codes`` (uint16)."""
        return (np.asarray(codes, np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)


def _raw(a):
    """(bytes-like array, dtype name for the layout) of a checkpoint array."""
    if isinstance(a, BFloat16Array):
        return a.codes, BFloat16Array.dtype_name
    return np.ascontiguousarray(a), a.dtype.str


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
                    a = np.fromfile(f, dtype=np.uint16 if dtype == BFloat16Array.dtype_name else dtype, count=count)
                    if a.size != count:
                        raise ValueError("the file ends early")
                    if dtype == BFloat16Array.dtype_name:
                        a = BFloat16Array.expand(a)
                    arrays[group].append(a.reshape(shape))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFolderError(f"{path} is damaged ({exc}); delete the checkpoint folder to restart from the best model") from None
    model.optimizer.build(model.trainable_variables)
    variables, opt_vars = model.weights, model.optimizer.variables
    if [a.shape for a in arrays["weights"]] != [tuple(v.shape) for v in variables] \
            or [a.shape for a in arrays["optimizer"]] != [tuple(v.shape) for v in opt_vars]:
        raise ModelFolderError(f"{path} does not fit this model (another preset or morphlib version); delete the checkpoint folder to restart from the best model")
    for v, a in zip(variables, arrays["weights"]):
        v.assign(a.astype(v.dtype))
    for v, a in zip(opt_vars, arrays["optimizer"]):
        v.assign(a)


def remount_message(folder, exc, *, kept):
    """What to tell a user whose model folder went away while training (a dropped Drive mount)."""
    drive = os.fspath(folder).startswith("/content/drive")
    how = ("remount Google Drive (`from google.colab import drive; drive.mount('/content/drive', force_remount=True)`)"
           if drive else "make the folder reachable again (remount its drive)")
    return (f"{folder} cannot be reached ({exc.strerror or exc}): {how}, then run the same command or cell again; "
            f"it resumes from the last good checkpoint. {kept}")


def full_disk_message(folder, exc, *, kept):
    """What to tell a user whose disk or Drive filled up while morphlib wrote into ``folder``."""
    return (
        f"{folder} is full ({exc.strerror or exc}): free space there and run the same command again "
        f"(on Google Drive: empty Drive's trash and delete old models or files, or train into a folder on another drive). "
        f"{kept}"
    )


class CheckpointWriter:
    """Writes checkpoints in a background thread, so that training does not wait for the disk.

    The arrays are copied on the training thread (milliseconds); the thread overwrites the
    older of the two slots in place, then its state file, which records the data's size
    and CRC-32 so that a slot torn by a kill or a full disk is never used. At most one write
    is in flight: the next ``write`` (and ``close``) waits for it. A write that failed is
    tried again in the same slot, so that the other one, the last good checkpoint, is never
    the one being rewritten while the folder misbehaves.

    Parameters
    ----------
    model_dir : str
    newest : dict or None
        ``read_state(model_dir)`` as the caller read it (None: no checkpoint yet).

    Attributes
    ----------
    bytes_written : int
        Bytes written into the folder so far.
    last : dict or None
        ``epoch`` and ``saved_at`` of the newest checkpoint on disk.
    completed : int
        Checkpoints this writer has written completely.
    """

    def __init__(self, model_dir, newest=None):
        self.root = os.fspath(model_dir)
        self.folder = os.path.join(self.root, CHECKPOINTS)
        refuse_links(self.folder, root=self.root)
        os.makedirs(self.folder, exist_ok=True)
        for stale in glob.glob(os.path.join(glob.escape(self.folder), ".*.part*")):
            discard(stale, root=self.root)  # left by a process killed while writing (morphlib 0.1)
        self.seq = newest["seq"] if newest else 0
        self.last = {"epoch": newest["epoch"], "saved_at": newest.get("saved_at")} if newest else None
        self.bytes_written = 0
        self.completed = 0
        self._thread = None
        self._error = None

    def write(self, model, state, history):
        """Checkpoint ``model`` (weights and optimizer) with ``state`` (``epoch``, ``loss``) and ``history``."""
        self.wait()
        arrays = checkpoint_arrays(model)
        state = {**state, "seq": self.seq + 1, "history": list(history)}
        self._thread = threading.Thread(target=self._write, args=(arrays, state), daemon=True)
        self._thread.start()

    def _write(self, arrays, state):
        try:
            self._write_slot(SLOTS[state["seq"] % 2], arrays, state)
            self.seq = state["seq"]  # only now: a failed write is retried in the same slot
        except Exception as exc:  # reported on the training thread by wait()
            self._error = exc

    def done(self):
        """Whether no write is in flight (a finished one's failure is raised by ``wait``)."""
        return self._thread is None or not self._thread.is_alive()

    def _write_slot(self, slot, arrays, state):
        weights, slots = arrays
        chunks = [_raw(a)[0] for a in (*weights, *slots)]
        crc = 0
        for c in chunks:  # raw arrays: no archive; one CRC pass to recognise a torn slot
            crc = zlib.crc32(memoryview(c).cast("B"), crc)
        self.bytes_written += write_in_place(os.path.join(self.folder, slot + ".bin"), chunks, root=self.root)
        state = {
            **state,
            "saved_at": time.time(),
            "size": sum(c.nbytes for c in chunks),
            "crc32": crc,
            "layout": {
                "weights": [[list(a.shape), _raw(a)[1]] for a in weights],
                "optimizer": [[list(a.shape), _raw(a)[1]] for a in slots],
            },
        }
        text = json.dumps(state).encode("utf-8")
        self.bytes_written += write_in_place(os.path.join(self.folder, slot + ".json"), [text], root=self.root)
        self.last = {"epoch": state["epoch"], "saved_at": state["saved_at"]}
        self.completed += 1
        self._drop_legacy()

    def _drop_legacy(self):
        for old in glob.glob(os.path.join(glob.escape(self.folder), "epoch-*.bin")):
            discard(old, root=self.root)
        discard(os.path.join(self.folder, LEGACY_STATE), root=self.root)

    def wait(self):
        """Block until the write in flight is on disk; raise what it failed with."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            model_dir = os.path.dirname(self.folder)
            kept = (f"The last good checkpoint (epoch {self.last['epoch']}) is kept; training resumes from it."
                    if self.last else "No checkpoint was completed yet.")
            if is_full(error):
                raise ModelFolderError(full_disk_message(model_dir, error, kept=kept)) from error
            if is_unreachable(error, model_dir):
                raise FolderUnreachableError(remount_message(model_dir, error, kept=kept)) from error
            raise ModelFolderError(f"could not write a checkpoint into {self.folder}: {error}. {kept}") from error

    close = wait


LATENTS = "latents.json"


def _stamp(path):
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}"


def write_latents(model_dir, names, z, images=None, *, settings=None):
    """Store the training loops' latent means (and the stereo ones' images), so that morphs by
    name need no data.

    Parameters
    ----------
    model_dir : str or os.PathLike
    names : list of str
    z : np.ndarray [shape=(len(names), latent_dim)]
    images : dict or None
        ``{name: image}`` of the stereo loops (``morphlib.sound.stereo``), kept in
        ``IMAGES`` beside; none: every loop is mono (and an old ``IMAGES`` goes).
    settings : AnalysisSettings or None
        The images' analysis settings; needed with images (where their details begin).

    Returns
    -------
    n_bytes : int
    """
    model_dir = os.fspath(model_dir)
    stamp = _stamp(os.path.join(model_dir, BEST))
    payload = {"model": stamp, "latents": {name: [round(float(v), 7) for v in row] for name, row in zip(names, z)}}
    n = atomic_write_text(os.path.join(model_dir, LATENTS), json.dumps(payload, ensure_ascii=False), root=model_dir)
    return n + _write_images(model_dir, images or {}, stamp, settings)


#: The training loops' stereo images: names, the model's stamp, their bands as float16
#: (``images``) and their channels' details in their 6 bits, four to three bytes, each frame's
#: bins coded from their lowest to their highest value (``detail_codes``, ``detail_low``,
#: ``detail_step``). A folder of morphlib before details has ``images`` alone.
IMAGES = "stereo.npz"
#: The most a folder's images may unpack to (about 3,000 loops at 44.1 kHz).
MAX_IMAGES_BYTES = 1024 * 2**20


def _write_images(model_dir, images, stamp, settings):
    path = os.path.join(model_dir, IMAGES)
    if not images:
        if os.path.lexists(path):
            discard(path, root=model_dir)
        return 0
    # one loop at a time: a library's details decoded at once would not fit in memory
    bands, codes, low, step = (np.stack(part) for part in zip(*(coded(image, settings) for image in images.values())))
    buf = io.BytesIO()
    np.savez(buf, names=np.array(list(images), dtype=str), stamp=np.array(stamp), images=bands.astype(np.float16),
             detail_codes=codes, detail_low=low, detail_step=step)
    return atomic_write_bytes(path, buf.getvalue(), root=model_dir)


def read_images(model_dir, settings):
    """``{name: image}`` of the stereo training loops; {} for a folder without them (mono
    loops, or one trained before stereo). ModelFolderError when damaged or stale.

    Images of bands only, from a folder of morphlib before details, come back as they are
    (``stereo.render`` renders them as then). The file is data: a link is refused, its size
    checked before it is unpacked, read without pickles, each array's kind and shape checked.
    """
    path = os.path.join(os.fspath(model_dir), IMAGES)
    if os.path.islink(path):
        raise ModelFolderError(f"{path} is a link: a model folder's files are read only as themselves; remove the link")
    if not os.path.isfile(path):
        return {}
    try:
        with zipfile.ZipFile(path) as z:  # what it would unpack to, before anything is unpacked
            unpacked = sum(member.file_size for member in z.infolist())
        if unpacked > MAX_IMAGES_BYTES:
            raise ModelFolderError(f"{path} would unpack to {unpacked / 2**20:.0f} MiB, more than the {MAX_IMAGES_BYTES >> 20} MiB "
                                   "a folder's images may take: not a morphlib folder's file; pass the data folder (--data) instead")
        with np.load(path, allow_pickle=False) as f:
            names, stamp, bands = f["names"], str(f["stamp"]), f["images"]
            details = {k: f[k] for k in ("detail_codes", "detail_low", "detail_step") if k in f.files}
        shape = band_image_shape(settings)
        ok = names.ndim == 1 and bands.dtype == np.float16 and bands.shape == (len(names), *shape) and _codes_fit(details, len(names), settings)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelFolderError(f"{path} is damaged ({type(exc).__name__}); pass the data folder (--data) instead") from None
    if not ok:
        raise ModelFolderError(f"{path} holds images of shape {bands.shape}, not ({len(names)}, {', '.join(map(str, shape))}) "
                               "with their details: pass the data folder (--data) instead")
    if stamp != _stamp(os.path.join(os.fspath(model_dir), BEST)):
        raise ModelFolderError(f"{path} belongs to an older {BEST} (training was interrupted); pass the data folder (--data)")
    return FolderImages([str(n) for n in names], bands, details, settings)


def _codes_fit(details, n, settings):
    """Whether the details' codes are those of ``n`` loops' images for ``settings`` (or absent)."""
    if not details:
        return True
    if len(details) != 3:
        return False
    rows = (n, 2, settings.n_frames)
    return (details["detail_codes"].dtype == np.uint8 and details["detail_codes"].shape == (n, *detail_codes_shape(settings))
            and all(details[k].dtype == np.float32 and details[k].shape == rows for k in ("detail_low", "detail_step")))


class FolderImages(collections.abc.Mapping):
    """``{name: image}`` of a folder's images, each decoded when asked for (a library's
    details take five times as much memory decoded as coded)."""

    def __init__(self, names, bands, details, settings):
        self._index = {n: k for k, n in enumerate(names)}
        self._bands, self._details, self._settings = bands, details, settings

    def __getitem__(self, name):
        k = self._index[name]
        if not self._details:  # a folder of morphlib before details: bands only
            return self._bands[k].astype(np.float32)
        return from_codes(self._bands[k], *(self._details[f"detail_{part}"][k] for part in ("codes", "low", "step")), self._settings)

    def __iter__(self):
        return iter(self._index)

    def __len__(self):
        return len(self._index)


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
