"""Folders of loops → magnitude spectrograms of one shape, with a report of every skip."""

import collections.abc
import dataclasses
import difflib
import itertools
import os
import html
import multiprocessing
import sys

import numpy as np

from ..sound.audio import AUDIO_EXTENSIONS, fit_length, read_audio
from ..config import AnalysisSettings
from ..errors import AudioFileError, DataFolderError, ParameterError, UnknownSoundError
from ..sound.spectral import magnitude
from ..sound.stereo import image_of, is_stereo, mid_side, render, side_to_mid_db
from .store import FLOAT16_MAX, LoopStore, StoredArray, StoredImages
from ..progress import progress_bar
from .tempo import STRETCH_LIMITS, STRETCHERS, bars_in, find_tempo, fit_to_window, stretcher, why_no_tempo


class _ImagesByName(collections.abc.Mapping):
    """``{name: image}`` whose images are read by ``image(index)`` when asked for."""

    def __init__(self, index, image):
        self._index, self._image = index, image

    def __getitem__(self, name):
        return self._image(self._index[name])

    def __iter__(self):
        return iter(self._index)

    def __len__(self):
        return len(self._index)


@dataclasses.dataclass(frozen=True)
class SkippedFile:
    """A file that was not loaded, and why."""

    path: str
    name: str
    reason: str


#: Rows per page of the loop table.
PAGE = 50


@dataclasses.dataclass
class LoopSet:
    """Loops analysed with one set of settings, ready to train on.

    Attributes
    ----------
    S : np.ndarray or StoredArray [shape=(n, n_bins, n_frames), dtype=float32]
        Linear STFT magnitude of every loop: in memory, or (for a large set) read from
        the on-disk store on demand, one loop (``S[i]``) or a few (``S[[i, j]]``) at a time.
    y : np.ndarray or StoredArray [shape=(n, n_samples), dtype=float32]
        The fitted mono signals at ``settings.sr``: a stereo loop's mid, ``(L + R) / 2``.
    names : list of str
        Path relative to the data folder, without the extension ("Overkill J").
    infos : list of AudioInfo
        Each file's own sample rate, channels, duration and what was done to it.
    skipped : list of SkippedFile
        Files that were not loaded, each with its reason.
    settings : AnalysisSettings
    images : list or StoredImages of (np.ndarray [shape=(2, n_bands, n_frames)] or None)
        Each stereo loop's image (``morphlib.sound.stereo``: its side, band by band and frame
        by frame, given its mid); None for a mono loop. Empty: every loop is mono. Read from
        the store on demand where ``S`` is.
    """

    S: np.ndarray
    y: np.ndarray
    names: list
    infos: list
    skipped: list
    settings: AnalysisSettings
    images: list = dataclasses.field(default_factory=list)

    def image(self, i):
        """Loop ``i``'s stereo image, or None when it is mono."""
        return self.images[i] if self.images else None

    @property
    def stereo(self):
        """Whether any loop is heard in stereo (False for a set loaded with ``mono=True``)."""
        return bool(self.images) and any(info.stereo for info in self.infos)

    def stereo_images(self):
        """``{name: image}`` of the stereo loops (what a model folder keeps for morphs by
        name), each image read when asked for: a library's images, decoded, may not fit in
        memory at once."""
        if not self.images:
            return {}
        return _ImagesByName({self.names[i]: i for i in range(len(self)) if self.infos[i].stereo}, self.image)

    def stereo_y(self, i):
        """Loop ``i`` as it sounds: its mid with its image rebuilt (``stereo.render``), or the
        mid alone for a mono loop. [shape=(2, n_samples) or (n_samples,)]"""
        return render(np.asarray(self.y[i]), self.image(i), self.settings)

    def __len__(self):
        return len(self.names)

    @property
    def x(self):
        """The tutorial's layout of ``S``: shape ``(n, n_bins, n_frames, 1)`` (a view)."""
        return self.S.with_channel() if isinstance(self.S, StoredArray) else self.S[..., np.newaxis]

    @property
    def in_memory(self):
        """True when ``S`` and ``y`` are arrays in memory, False when read from the store."""
        return isinstance(self.S, np.ndarray)

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

    def rows(self, start=0, stop=None):
        """One dict per loop from ``start`` to ``stop``: index, name, duration_s, sr, channels,
        encoding, bpm, where the tempo came from, bars in the window, stretch, notes."""
        stop = len(self) if stop is None else min(stop, len(self))
        return [
            {
                "index": i,
                "name": self.names[i],
                "duration_s": round(self.infos[i].duration, 3),
                "sr": self.infos[i].sr,
                "channels": self.infos[i].channels,
                "encoding": self.infos[i].subtype,
                "bpm": _or_dash(self.infos[i].bpm),
                "tempo from": self.infos[i].bpm_source or "not found",
                "bars": _or_dash(self.infos[i].bars),
                "stretch": _or_dash(self.infos[i].stretch and f"x{self.infos[i].stretch:.3f}"),
                "notes": "; ".join(self.infos[i].notes),
            }
            for i in range(max(0, start), stop)
        ]

    def pages(self, per_page=PAGE):
        """How many pages of ``per_page`` rows the loop table has."""
        return max(1, -(-len(self) // per_page))

    def table(self, page=None, *, per_page=PAGE):
        """The loaded loops as a text table (index, name, duration, sample rate, ...).

        Parameters
        ----------
        page : int >= 1 or None
            One page of ``per_page`` rows; None: every row.
        per_page : int > 0
        """
        if page is None:
            return format_table(self.rows())
        pages = self.pages(per_page)
        if not (isinstance(page, (int, np.integer)) and 1 <= page <= pages):
            raise ParameterError(f"page {page!r} does not exist: the table has pages 1 to {pages} of {per_page} loops")
        start = (page - 1) * per_page
        return f"page {page} of {pages}\n" + format_table(self.rows(start, start + per_page))

    def skipped_table(self):
        """The skipped files and their reasons, as a text table."""
        return format_table([{"name": s.name, "reason": s.reason} for s in self.skipped]) if self.skipped else "(no file skipped)"

    def summary(self):
        """One line: how many loops, of what shape, how many skipped."""
        return (
            f"{len(self)} loops of {self.settings.duration:.2f} s at {self.settings.sr:,} Hz "
            f"(spectrogram {self.settings.n_bins} x {self.settings.n_frames}), "
            f"{len(self.skipped)} skipped"
            + ("; stereo files heard in mono (mono=True)" if not self.images and any(i.stereo for i in self.infos) else "")
        )

    def _repr_html_(self):  # a table in notebooks: the first page of a big set
        caption = self.summary()
        if len(self) > PAGE:
            caption += f"; loops 1 to {PAGE} shown: page with loops.table(page=2) or morphlib.ui.loop_table(loops)"
        return _html_table(self.rows(0, PAGE), caption=caption)

    def __repr__(self):
        return f"<LoopSet: {self.summary()}>"


def _or_dash(value):
    return "-" if value is None else value


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


#: Analyse in parallel processes when at least this many files are new.
PARALLEL_ABOVE = 32
#: Loops are written to the store in groups of this many (a kill loses at most one group).
WRITE_EVERY = 32


def memory_limit_mb():
    """``MORPHLIB_IN_MEMORY_MB`` (default 512): a stored set up to this size is held in memory."""
    try:
        return float(os.environ.get("MORPHLIB_IN_MEMORY_MB", "512"))
    except ValueError:
        raise ParameterError(f"MORPHLIB_IN_MEMORY_MB={os.environ['MORPHLIB_IN_MEMORY_MB']!r} is not a number of megabytes") from None


def load_folder(folders, settings=None, *, progress=True, cache=True, in_memory=None, workers=None, mono=False):
    """Load every audio file below one or more folders as equal-shaped spectrograms.

    Each file is read (WAV/FLAC/AIFF/OGG/MP3, any bit depth), resampled to ``settings.sr``,
    fitted to ``settings.n_samples`` (stretched to whole bars, or cropped or zero-padded)
    and turned into |STFT|. A stereo file's mid is analysed and its side kept as a stereo
    image (``LoopSet.images``, ``morphlib.sound.stereo``); surround files are folded to
    stereo first (``mono=True``: every loop is heard as its mid alone, as before stereo).
    A file that cannot be used is skipped with its reason; the rest load.

    Parameters
    ----------
    folders : str or os.PathLike or list of them
    settings : AnalysisSettings or None
        Default: the tutorial's (22050 Hz, n_fft 2048, hop 512, 148 frames).
    progress : bool
        Show a progress bar.
    cache : bool or str or os.PathLike
        Keep each file's analysis in the on-disk store (``morphlib.data.store``) inside the
        cache folder (``default_cache_dir()``, or this folder), keyed by the file's
        content and the settings: loading the same folder again analyses only new or
        changed files, and deleted files drop out. Magnitudes are kept as float16
        (see ``morphlib.data.store``). False: no store; everything is analysed and held in
        memory as float32.
    in_memory : bool or None
        Hold every magnitude and signal in memory (float32). None: only when they take
        at most ``MORPHLIB_IN_MEMORY_MB`` (512 MB, about 380 tutorial-sized loops);
        otherwise ``S`` and ``y`` read loops from the store on demand.
    workers : int > 0 or None
        Processes that analyse new files (default: one per CPU core); used when at least
        ``PARALLEL_ABOVE`` files are new.
    mono : bool
        Hear stereo files in mono: their mid, (L + R) / 2, with no stereo image, so that a
        model trained on them keeps no images and its morphs, sweeps and exports are one
        channel. The analysis is the same (the model hears the mid either way).

    Returns
    -------
    loops : LoopSet

    Raises
    ------
    DataFolderError
        A folder is missing, or no file in them could be used.
    StoreError
        The disk holding the store is full (the store keeps what it held).
    """
    settings = settings or AnalysisSettings()
    if isinstance(folders, (str, os.PathLike)):
        folders = [folders]
    folders = [check_folder(f) for f in folders]
    candidates = [(folder, path) for folder in folders for path in find_audio_files(folder)]
    store = open_store(default_cache_dir() if cache is True else cache, settings) if cache else None
    loaded, skipped = _analyse_all(candidates, folders, settings, store, progress=progress, workers=workers)
    if not loaded:
        where = ", ".join(folders)
        detail = f"{len(skipped)} audio files were skipped (see the reasons below)" if skipped else "it holds no audio files"
        err = DataFolderError(
            f"no usable loop in {where}: {detail}; add .wav/.flac/.aiff/.ogg loops"
            + "".join(f"\n  skipped {s.name}: {s.reason}" for s in skipped[:20])
        )
        err.skipped = skipped
        raise err
    names = [item[0] for item in loaded]
    infos = [item[1] for item in loaded]
    if store is None:
        S, y = np.stack([item[3] for item in loaded]), np.stack([item[2] for item in loaded])
        images = [item[4] for item in loaded]
    else:
        keys = [item[2] for item in loaded]
        S, y, images = StoredArray(store, keys, "S"), StoredArray(store, keys, "y"), StoredImages(store, keys)
        if in_memory or (in_memory is None and (S.nbytes + y.nbytes) / 2**20 <= memory_limit_mb()):
            S, y, images = np.asarray(S), np.asarray(y), list(images)
    images = images if not mono and any(info.stereo for info in infos) else []
    return LoopSet(S=S, y=y, names=names, infos=infos, skipped=skipped, settings=settings, images=images)


def open_store(cache, settings):
    """The LoopStore in ``cache`` for ``settings``, or None when the folder cannot be written."""
    try:
        store = LoopStore(cache, settings)
        if os.access(store.folder, os.W_OK):
            return store
        problem = f"{store.folder} is read-only"
    except OSError as exc:
        problem = str(exc)
    print(f"the analysis store cannot be used ({problem}): analysing into memory", file=sys.stderr)
    return None


def _loop_name(folder, path, several):
    name = os.path.splitext(os.path.relpath(path, folder))[0].replace(os.sep, "/")
    return f"{os.path.basename(os.path.normpath(folder))}/{name}" if several else name


def _analyse_all(candidates, folders, settings, store, *, progress, workers):
    """Every candidate → ``(name, info, key, S, None)`` (``(name, info, y, S, image)`` with no
    store) or a skip.

    Files already in the store are not read again; new ones are analysed (in parallel
    when there are many) and written to the store in groups, so that nothing but the
    group in progress is held in memory.
    """
    several = len(folders) > 1
    slots, todo, skipped = [], [], []
    for folder, path in candidates:
        name = _loop_name(folder, path, several)
        key = store.key(path) if store is not None else None
        info = store.info(key, path) if key is not None else None
        slots.append([name, info, key, None, None])
        if info is None:
            todo.append((len(slots) - 1, name, path, key))
    results = _analysed(todo, settings, workers)
    pending = []
    for (pos, name, path, key), out in progress_bar(zip(todo, results), desc="analysing loops", total=len(todo),
                                                    enabled=progress and len(todo) > 1, unit="file"):
        if isinstance(out, str):
            skipped.append(SkippedFile(path, name, out))
            slots[pos] = None
            continue
        y, S, info, image = out
        if store is None:
            slots[pos] = [name, info, y, S, image]
            continue
        if key is None:  # analysed, yet its bytes could not be read to hash them
            skipped.append(SkippedFile(path, name, "could not be read twice in a row (did it change while loading?)"))
            continue
        slots[pos] = [name, info, key, None, None]
        pending.append((key, info, y, S, image))
        if len(pending) >= WRITE_EVERY:
            store.write(pending)
            pending = []
    if store is not None:
        store.write(pending)
        store.commit(folders, [path for _, path in candidates])
    return [s for s in slots if s is not None and s[1] is not None], skipped


def _analysed(todo, settings, workers):
    """The analysis of each ``todo`` file in order: ``(y, S, info, image)`` or the reason it is skipped.

    With several workers, files are analysed here until one loads, then the rest in the
    workers: the audio code that numba compiles on first use (librosa's peak picking,
    its magnitudes) is compiled and cached once, before they start. Workers that compiled
    the same function at once could leave a cache that crashes the next process to read
    it (numba issue 10128: a segmentation fault in ``librosa.util.peak_pick``).
    """
    paths = [item[2] for item in todo]
    workers = workers or os.cpu_count() or 1
    context = _process_context() if workers > 1 and len(paths) >= PARALLEL_ABOVE else None
    if context is None:
        for path in paths:
            yield _analyse_one(path, settings)
        return
    first = 0
    while first < len(paths) - 1:
        done = _analyse_one(paths[first], settings)
        first += 1
        yield done
        if not isinstance(done, str):
            break
    yield from _analysed_in_workers(paths[first:], settings, workers, context)


def _analysed_in_workers(paths, settings, workers, context):
    import collections
    import concurrent.futures

    workers = min(workers, len(paths))
    todo = iter(paths)
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        # a few files ahead per worker, not all: results wait in memory until written
        running = collections.deque(pool.submit(_analyse_one, p, settings) for p in itertools.islice(todo, 4 * workers))
        while running:
            done = running.popleft().result()
            following = next(todo, None)
            if following is not None:
                running.append(pool.submit(_analyse_one, following, settings))
            yield done


def _process_context():
    """How to start analysis processes here, or None to analyse in this one.

    fork is quickest, but a forked TensorFlow process can hang, so once TensorFlow is
    loaded the workers are spawned (they import only the audio code); spawning needs a
    main module it can import again, which a script read from stdin is not.
    """
    methods = multiprocessing.get_all_start_methods()
    if "tensorflow" not in sys.modules and "fork" in methods:
        return multiprocessing.get_context("fork")
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is None or os.path.isfile(main_file):
        return multiprocessing.get_context("spawn")
    return None


def _fit_to_window(y, path, info, settings):
    """``y`` [shape=(n,) or (2, n)] made ``settings.n_samples`` long as ``settings.fit`` says
    (both channels alike); ``info`` says how."""
    mono = y if y.ndim == 1 else y.mean(axis=0)
    tempo = find_tempo(mono, sr=settings.sr, name=path)
    if tempo is not None:
        info.bpm, info.bpm_source = round(tempo.bpm, 2), tempo.source
        if tempo.note:
            info.notes.append(tempo.note)
    if settings.fit == "stretch":
        if tempo is None:
            info.notes.append(f"no tempo found (no BPM in the name; the audio: {why_no_tempo(mono, sr=settings.sr)}): cropped, not stretched")
        else:
            fitted, fit, reason = fit_to_window(y, sr=settings.sr, n_samples=settings.n_samples, tempo=tempo)
            if fit is None:
                raise AudioFileError(path, f"too short to loop: {reason}")
            if fitted is not None:
                info.bars, info.stretch = fit.bars, round(fit.stretch, 4)
                used = f"{fit.source_bars:g} bar{'s' * (fit.source_bars != 1)}" + (f" x{fit.repeats}" if fit.repeats > 1 else "")
                info.notes.append(f"{used} at {tempo.bpm:.1f} BPM stretched x{fit.stretch:.3f} to {fit.bars} bar"
                                  f"{'s' * (fit.bars > 1)} ({STRETCHERS[stretcher()]})")
                return fitted
            info.notes.append(f"stretch refused ({reason}; limits x{STRETCH_LIMITS[0]}-x{STRETCH_LIMITS[1]}): cropped")
    y, note = fit_length(y, settings.n_samples)
    if note:
        info.notes.append(note)
    if tempo is not None:
        info.bars = round(bars_in(settings.duration, tempo.bpm), 2)
    return y


def _analyse_one(path, settings):
    """``(y, S, info, image)``, or the reason the file is skipped: no single file ends the load."""
    try:
        return _load_one(path, settings)
    except AudioFileError as exc:
        return exc.reason
    except MemoryError:
        return "needs more memory to analyse than this machine has free"
    except Exception as exc:  # a resampler's or Rubber Band's failure on one odd file is that file's skip
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return f"could not be analysed ({type(exc).__name__}{': ' + text if text else ''})"


def analyse_file(path, settings):
    """One file analysed as ``load_folder`` analyses it (read, fitted to the window, |STFT|).

    Returns
    -------
    y : np.ndarray [shape=(settings.n_samples,)]
        The signal (a stereo file's mid).
    S : np.ndarray [shape=settings.shape]
    info : AudioInfo
    image : np.ndarray [shape=stereo.image_shape(settings)] or None
        A stereo file's image (``morphlib.sound.stereo``); None for a mono one.

    Raises
    ------
    AudioFileError
        Naming the file and why it cannot be used.
    """
    return _load_one(path, settings)


def fitted_audio(path, settings):
    """A file read and fitted to the window as ``load_folder`` fits it, before its mid is
    taken: what the model's output of it is heard against.

    Returns
    -------
    y : np.ndarray [shape=(settings.n_samples,) or (2, settings.n_samples)]
        Mono, or left and right (surround folded to stereo).
    info : AudioInfo

    Raises
    ------
    AudioFileError
        Naming the file and why it cannot be used.
    """
    base = os.path.basename(path)
    if base.startswith("._"):
        raise AudioFileError(path, "macOS metadata file ('._' prefix), not audio")
    y, info = read_audio(path, sr=settings.sr, mono=False)
    if y.shape[-1] < settings.n_fft:
        raise AudioFileError(
            path, f"too short: {y.shape[-1]} samples at {settings.sr} Hz, less than one {settings.n_fft}-sample analysis window"
        )
    return _fit_to_window(y, path, info, settings), info


def _load_one(path, settings):
    """(y, S, info, image) of one file, or AudioFileError."""
    y, info = fitted_audio(path, settings)
    y, image = _mid_and_image(y, info, settings)
    S = magnitude(y, settings)
    if float(np.max(S, initial=0.0)) > FLOAT16_MAX:
        raise AudioFileError(path, f"peaks at {float(np.max(np.abs(y))):.1f} times full scale: normalise it to [-1, 1]")
    return y, S, info, image


def _mid_and_image(y, info, settings):
    """A fitted loop [shape=(n,) or (2, n)] → its mid and stereo image (None when mono; two
    identical channels are mono, and the notes say so)."""
    if y.ndim == 1:
        return y, None
    width_db = side_to_mid_db(y)
    mid = mid_side(y)[0]
    if not is_stereo(width_db):
        info.notes.append("two identical channels: loaded as mono")
        return mid, None
    info.stereo = True
    info.notes.append(f"stereo (side {-width_db:.1f} dB under the mid)" if width_db < 0 else f"stereo (side {width_db:.1f} dB over the mid)")
    return mid, image_of(y, settings)
