"""Folders of loops → magnitude spectrograms of one shape, with a report of every skip."""

import dataclasses
import difflib
import os

import numpy as np

from .audio import AUDIO_EXTENSIONS, AudioInfo, fit_length, read_audio
from .config import AnalysisSettings
from .errors import AudioFileError, DataFolderError, UnknownSoundError
from .spectral import magnitude


@dataclasses.dataclass(frozen=True)
class SkippedFile:
    """A file that was not loaded, and why."""

    path: str
    name: str
    reason: str


@dataclasses.dataclass
class LoopSet:
    """Loops analysed with one set of settings, ready to train on.

    Attributes
    ----------
    S : np.ndarray [shape=(n, n_bins, n_frames), dtype=float32]
        Linear STFT magnitude of every loop (the training set, held once).
    y : np.ndarray [shape=(n, n_samples), dtype=float32]
        The fitted mono signals at ``settings.sr``.
    names : list of str
        Path relative to the data folder, without the extension ("Overkill J").
    infos : list of AudioInfo
        Each file's own sample rate, channels, duration and what was done to it.
    skipped : list of SkippedFile
        Files that were not loaded, each with its reason.
    settings : AnalysisSettings
    """

    S: np.ndarray
    y: np.ndarray
    names: list
    infos: list
    skipped: list
    settings: AnalysisSettings

    def __len__(self):
        return len(self.names)

    @property
    def x(self):
        """The tutorial's layout of ``S``: shape ``(n, n_bins, n_frames, 1)`` (a view)."""
        return self.S[..., np.newaxis]

    def index(self, key):
        """Position of a loop given by name, file name, path or index.

        Parameters
        ----------
        key : str or int
            ``"Overkill J"``, ``"Overkill J.wav"``, a full path, or ``0 <= key < n``
            (negative counts from the end).

        Raises
        ------
        UnknownSoundError
            Naming the key and the closest names.
        """
        n = len(self)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if -n <= key < n:
                return int(key) % n
            raise UnknownSoundError(f"index {key} is out of range: there are {n} loops (0 to {n - 1})")
        text = str(key)
        if text.strip().lstrip("-").isdigit():
            return self.index(int(text))
        for candidate in (text, os.path.splitext(text)[0]):
            for i, name in enumerate(self.names):
                if candidate == name or candidate == self.infos[i].path:
                    return i
        folded = [name.casefold() for name in self.names]
        if os.path.splitext(text)[0].casefold() in folded:
            return folded.index(os.path.splitext(text)[0].casefold())
        close = difflib.get_close_matches(text, self.names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; list them with .table()"
        raise UnknownSoundError(f"no loop named {text!r}{hint}")

    def rows(self):
        """One dict per loop: index, name, duration_s, sr, channels, notes."""
        return [
            {
                "index": i,
                "name": name,
                "duration_s": round(info.duration, 3),
                "sr": info.sr,
                "channels": info.channels,
                "encoding": info.subtype,
                "notes": "; ".join(info.notes),
            }
            for i, (name, info) in enumerate(zip(self.names, self.infos))
        ]

    def table(self):
        """The loaded loops as a text table (index, name, duration, sample rate, ...)."""
        return format_table(self.rows())

    def skipped_table(self):
        """The skipped files and their reasons, as a text table."""
        return format_table([{"name": s.name, "reason": s.reason} for s in self.skipped]) if self.skipped else "(no file skipped)"

    def summary(self):
        """One line: how many loops, of what shape, how many skipped."""
        return (
            f"{len(self)} loops of {self.settings.duration:.2f} s "
            f"(spectrogram {self.settings.n_bins} x {self.settings.n_frames}), "
            f"{len(self.skipped)} skipped"
        )

    def _repr_html_(self):  # a table in notebooks
        return _html_table(self.rows(), caption=self.summary())

    def __repr__(self):
        return f"<LoopSet: {self.summary()}>"


def format_table(rows):
    """A list of dicts with the same keys → aligned plain-text table."""
    if not rows:
        return "(empty)"
    keys = list(rows[0])
    cells = [[str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[j]) for c in cells)) for j, k in enumerate(keys)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
    return "\n".join([line(keys), line(["-" * w for w in widths]), *(line(c) for c in cells)])


def _html_table(rows, caption=""):
    import html

    if not rows:
        return f"<p>{html.escape(caption)} (empty)</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows
    )
    return f"<table><caption>{html.escape(caption)}</caption><tr>{head}</tr>{body}</table>"


def find_audio_files(folder):
    """Every file below ``folder`` with an audio ending, sorted, links followed once.

    Parameters
    ----------
    folder : str or os.PathLike

    Returns
    -------
    paths : list of str
        Sorted by path, case-insensitively, so that indices are stable.
    """
    folder = os.fspath(folder)
    seen = set()
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link back up the tree: do not walk it twice
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        found.extend(os.path.join(root, f) for f in files if f.lower().endswith(AUDIO_EXTENSIONS))
    return sorted(found, key=lambda p: (os.path.relpath(p, folder).casefold(), p))


def check_folder(folder):
    """Raise DataFolderError when ``folder`` is missing or not a folder, saying what to do."""
    folder = os.fspath(folder)
    if os.path.isdir(folder):
        return folder
    if folder.startswith("/content/drive") and not os.path.isdir("/content/drive/MyDrive"):
        raise DataFolderError(
            f"{folder} is on Google Drive, which is not mounted: run "
            "`from google.colab import drive; drive.mount('/content/drive')` (or the setup cell) first"
        )
    if os.path.exists(folder):
        raise DataFolderError(f"{folder} is a file, not a folder of loops")
    raise DataFolderError(
        f"data folder {folder} does not exist; create it and put your loops (.wav, .flac, .aiff, .ogg) in it, "
        "or make demo loops with `python -m morphlib synth-drums FOLDER`"
    )


def default_cache_dir():
    """``MORPHLIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/morphlib``, else ``~/.cache/morphlib``."""
    return os.environ.get("MORPHLIB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "morphlib"
    )


def load_folder(folders, settings=None, *, progress=True, cache=True):
    """Load every audio file below one or more folders as equal-shaped spectrograms.

    Each file is read (WAV/FLAC/AIFF/OGG/MP3, any bit depth), downmixed to mono,
    resampled to ``settings.sr``, cropped or zero-padded to ``settings.n_samples``
    and turned into |STFT|. A file that cannot be used is skipped with its reason;
    the rest load.

    Parameters
    ----------
    folders : str or os.PathLike or list of them
    settings : AnalysisSettings or None
        Default: the tutorial's (22050 Hz, n_fft 2048, hop 512, 148 frames).
    progress : bool
        Show a progress bar.
    cache : bool or str or os.PathLike
        Keep each file's analysis in a cache (``default_cache_dir()``, or this folder),
        keyed by the file's content and the settings, so that loading the same folder
        again skips decoding, resampling and the STFT; a changed file or setting is
        analysed anew. False: no cache.

    Returns
    -------
    loops : LoopSet

    Raises
    ------
    DataFolderError
        A folder is missing, or no file in them could be used.
    """
    from .progress import progress_bar

    settings = settings or AnalysisSettings()
    if isinstance(folders, (str, os.PathLike)):
        folders = [folders]
    folders = [check_folder(f) for f in folders]
    candidates = [(folder, path) for folder in folders for path in find_audio_files(folder)]
    store = AnalysisCache(default_cache_dir() if cache is True else cache, settings) if cache else None
    ys, mags, names, infos, skipped = [], [], [], [], []
    for folder, path in progress_bar(candidates, desc="loading loops", enabled=progress and bool(candidates), unit="file"):
        name = os.path.splitext(os.path.relpath(path, folder))[0].replace(os.sep, "/")
        if len(folders) > 1:
            name = f"{os.path.basename(os.path.normpath(folder))}/{name}"
        try:
            y, S, info = _load_one(path, settings, store)
        except AudioFileError as exc:
            skipped.append(SkippedFile(path, name, exc.reason))
            continue
        ys.append(y)
        mags.append(S)
        names.append(name)
        infos.append(info)
    if not ys:
        where = ", ".join(folders)
        detail = f"{len(skipped)} audio files were skipped (see the reasons below)" if skipped else "it holds no audio files"
        err = DataFolderError(
            f"no usable loop in {where}: {detail}; add .wav/.flac/.aiff/.ogg loops"
            + "".join(f"\n  skipped {s.name}: {s.reason}" for s in skipped[:20])
        )
        err.skipped = skipped
        raise err
    if store is not None:
        store.flush()
    return LoopSet(S=np.stack(mags), y=np.stack(ys), names=names, infos=infos, skipped=skipped, settings=settings)


def _load_one(path, settings, store=None):
    """(y, S, info) of one file, from the cache or analysed (and then cached), or AudioFileError."""
    base = os.path.basename(path)
    if base.startswith("._"):
        raise AudioFileError(path, "macOS metadata file ('._' prefix), not audio")
    key = store.key(path) if store is not None else None
    if key is not None:
        hit = store.get(key, path)
        if hit is not None:
            return hit
    y, info = read_audio(path, sr=settings.sr)
    if len(y) < settings.n_fft:
        raise AudioFileError(
            path, f"too short: {len(y)} samples at {settings.sr} Hz, less than one {settings.n_fft}-sample analysis window"
        )
    y, note = fit_length(y, settings.n_samples)
    if note:
        info.notes.append(note)
    S = magnitude(y, settings)
    if key is not None:
        store.put(key, info, y, S)
    return y, S, info


class AnalysisCache:
    """Analysed files (fitted signal, |STFT|, what was done) keyed by content and settings.

    A file's key is a hash of its bytes and of the analysis settings; an index remembers
    each path's size, modification time and key, so that an unchanged file is not read
    again to hash it (as git does). Entries and the index are written through a
    temporary name and a rename; a damaged entry counts as a miss, and a cache folder
    that cannot be written is simply not used.
    """

    VERSION = 2
    INDEX = "index.json"

    def __init__(self, folder, settings):
        import hashlib
        import json

        self.folder = os.fspath(folder)
        self.settings = settings
        self.salt = hashlib.blake2b(
            json.dumps([self.VERSION, settings.to_dict()], sort_keys=True).encode(), digest_size=8
        ).hexdigest()
        self.changed = False
        try:
            with open(os.path.join(self.folder, self.INDEX), encoding="utf-8") as f:
                index = json.load(f)
            self.files, self.entries = dict(index["files"]), dict(index["entries"])
        except (OSError, ValueError, KeyError, TypeError):
            self.files, self.entries = {}, {}

    def key(self, path):
        """The cache key of the file at ``path``, or None when it cannot be read."""
        import hashlib

        try:
            st = os.stat(path)
            real = os.path.realpath(path)
        except OSError:
            return None  # read_audio reports why
        known = self.files.get(real)
        if known and known[:2] == [st.st_size, st.st_mtime_ns]:
            content = known[2]
        else:
            digest = hashlib.blake2b(digest_size=16)
            try:
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
            except OSError:
                return None
            content = digest.hexdigest()
            self.files[real] = [st.st_size, st.st_mtime_ns, content]
            self.changed = True
        return f"{self.salt}-{content}"

    def get(self, key, path):
        """(y, S, info) stored under ``key``, or None."""
        meta = self.entries.get(key)
        if meta is None:
            return None
        try:
            flat = np.load(os.path.join(self.folder, key + ".npy"))
        except (OSError, ValueError):
            return None
        n_mag = self.settings.n_bins * self.settings.n_frames
        if flat.shape != (n_mag + self.settings.n_samples,):
            return None
        info = AudioInfo(path, meta["sr"], meta["channels"], meta["duration"], meta["subtype"], list(meta["notes"]))
        return flat[n_mag:], flat[:n_mag].reshape(self.settings.shape), info

    def put(self, key, info, y, S):
        entry = os.path.join(self.folder, key + ".npy")
        tmp = os.path.join(self.folder, f".{key}.part.npy")
        try:
            os.makedirs(self.folder, exist_ok=True)
            np.save(tmp, np.concatenate([S.ravel(), y]).astype(np.float32))
            os.replace(tmp, entry)
        except OSError:
            return  # a read-only or full disk: work without the cache
        self.entries[key] = {k: getattr(info, k) for k in ("sr", "channels", "duration", "subtype", "notes")}
        self.changed = True

    def flush(self):
        """Write the index, if anything changed."""
        import json

        from .files import atomic_write_text

        if not self.changed:
            return
        try:
            os.makedirs(self.folder, exist_ok=True)
            atomic_write_text(os.path.join(self.folder, self.INDEX), json.dumps({"files": self.files, "entries": self.entries}))
        except OSError:
            pass
        self.changed = False
