"""The on-disk analysis store: every loop's magnitude and signal, read back on demand.

A store is one folder per set of analysis settings inside the cache folder::

    <cache>/store-<hash of the settings>/
        meta.json     format version and settings (a mismatch rebuilds the store, saying so)
        records.bin   fixed-size records: 16-byte key, CRC-32 of |STFT|, of the signal and of
                      the stereo image, |STFT| as float16, signal (the mid) as float32,
                      stereo image (``sound.stereo``; zeros for a mono loop): its bands as
                      float16, each channel's detail in the 6 bits it has
        index.json    content key -> record slot and file facts; path -> (size, mtime, key)
        lock          taken while a process writes

Precision: magnitudes are kept as float16. Its 11-bit mantissa is a relative error of at
most 2**-11 (0.004 dB), far below anything audible or anything training notices, and its
range (6e-5 to 65504 at full precision) holds every magnitude of a loop in [-1, 1]
(at most ``n_fft / 2``) down to well below the 80 dB floor used to judge them. The
signals stay float32: they are the reference that evaluation compares the output with.

Safety: records are written with ``pwrite`` (a full disk raises an error instead of a
crash), flushed to disk, and only then named in the index, which is replaced atomically.
A process killed mid-write leaves records that no index names; they are reused later.
Readers never take the lock: they read the index once, then each record in one read that
takes its key and checksum with its data, so a record reused by another process, or damaged
on disk, is noticed instead of misread (a damaged one is forgotten, and analysed anew by the
next load). Nothing in the store is written through a link (``files.open_for_writing``),
and what it deletes is emptied first (``files.discard``: nothing in Drive's trash).
"""

import contextlib
import errno
import hashlib
import json
import os
import stat
import zlib

import numpy as np

from ..sound.audio import INFO_FIELDS, MAX_FILE_BYTES, AudioInfo
from ..sound.stereo import band_image_shape, coded, detail_codes_shape, from_codes, image_shape
from ..errors import StoreError
from ..files import atomic_write_text, discard, open_for_writing
from .tempo import bpm_from_name

#: Bump when the layout of records or index changes: older stores are rebuilt.
VERSION = 4  # 4: images hold each channel's detail
FLOAT16_MAX = 65504.0
KEY_BYTES = 16
#: A record's parts, in order, each with its CRC-32 in the head after the key.
PARTS = ("S", "y", "image")
#: A record's head: its key, then the CRC-32 of each part.
HEAD_BYTES = KEY_BYTES + 4 * len(PARTS)


def settings_hash(settings):
    described = settings.to_dict()
    if settings.fit == "stretch":  # a loop stretched by another stretcher is another analysis
        from .tempo import stretcher

        described["stretcher"] = stretcher()
    return hashlib.blake2b(json.dumps(described, sort_keys=True).encode(), digest_size=8).hexdigest()


class LoopStore:
    """Analysed loops on disk, keyed by the content of their files.

    Parameters
    ----------
    cache : str or os.PathLike
        The cache folder; the store is ``cache/store-<hash>``.
    settings : AnalysisSettings
    log : callable or None
        Called with a line when the store is rebuilt.
    """

    META, INDEX, RECORDS, LOCK = "meta.json", "index.json", "records.bin", "lock"

    def __init__(self, cache, settings, *, log=print):
        self._fd = None
        self.settings = settings
        self.folder = os.path.join(os.fspath(cache), f"store-{settings_hash(settings)}")
        self.n_mag = settings.n_bins * settings.n_frames
        self.sizes = {"S": 2 * self.n_mag, "y": 4 * settings.n_samples, "image": _image_bytes(settings)}
        self.record = HEAD_BYTES + sum(self.sizes.values())
        os.makedirs(self.folder, exist_ok=True)  # OSError: the caller works without a store
        self._check_meta(log)
        self._read_index()

    # -- format --------------------------------------------------------------------------

    def _meta(self):
        return {"version": VERSION, "settings": self.settings.to_dict(), "record_bytes": self.record}

    def _check_meta(self, log):
        """Rebuild a store of another version or other settings (saying so); name this one."""
        path = os.path.join(self.folder, self.META)
        with self.locked():  # two processes opening a new store at once write it once
            try:
                with open(path, encoding="utf-8") as f:
                    found = json.load(f)
            except FileNotFoundError:
                found = None
            except (OSError, ValueError):
                found = {"version": "unreadable"}
            if found == self._meta():
                return
            if found is not None:
                why = (f"was written by store version {found.get('version')!r}, this is {VERSION}"
                       if found.get("version") != VERSION else "was written with other settings")
                if log:
                    log(f"the analysis store {self.folder} {why}: rebuilding it")
                for name in (self.INDEX, self.RECORDS):
                    discard(os.path.join(self.folder, name), root=self.folder)
            atomic_write_text(path, json.dumps(self._meta()), root=self.folder)

    def _read_index(self):
        self.files, self.entries, self.n_slots = self._index_on_disk()
        self._learnt = {}  # path facts hashed by this process, merged into the index at commit
        self._damaged = set()  # keys whose record did not read back: analysed and written anew

    def _index_on_disk(self):
        try:
            with open(os.path.join(self.folder, self.INDEX), encoding="utf-8") as f:
                index = json.load(f)
            return dict(index["files"]), dict(index["entries"]), int(index["n_slots"])
        except (OSError, ValueError, KeyError, TypeError):
            return {}, {}, 0

    @contextlib.contextmanager
    def locked(self):
        """Hold the store's write lock (other writers wait; readers never do)."""
        try:
            import fcntl
        except ImportError:  # not on POSIX: one writer at a time is up to the user
            yield
            return
        fd = open_for_writing(os.path.join(self.folder, self.LOCK), os.O_WRONLY | os.O_CREAT | os.O_APPEND, root=self.folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # -- keys ----------------------------------------------------------------------------

    def key(self, path):
        """Content key of the file at ``path`` (a hash of its bytes), or None if unreadable.

        The index remembers each path's size and modification time, so an unchanged file
        is not read again to hash it (as git does).
        """
        try:
            st = os.stat(path)
            real = os.path.realpath(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None  # a FIFO or device would be read forever; the reader says why it is skipped
        known = self.files.get(real)
        if known and known[:2] == [st.st_size, st.st_mtime_ns]:
            return known[2]
        digest = hashlib.blake2b(digest_size=KEY_BYTES)
        try:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return None
        key = self._with_named_tempo(digest.hexdigest(), path)
        self.files[real] = self._learnt[real] = [st.st_size, st.st_mtime_ns, key]
        return key

    def _with_named_tempo(self, key, path):
        """``key`` mixed with the tempo the file's name states, when loops are fitted to the
        bar: the name is part of the analysis, so a file renamed to another BPM is analysed
        again."""
        if self.settings.fit != "stretch":
            return key

        bpm = bpm_from_name(path)
        if bpm is None:
            return key
        return hashlib.blake2b(f"{key}|bpm={bpm:g}".encode(), digest_size=KEY_BYTES).hexdigest()

    def info(self, key, path):
        """The AudioInfo stored under ``key`` (for the file at ``path``), or None if absent.

        A record whose key does not read back (damaged, or cut short) counts as absent.
        """
        entry = self.entries.get(key)
        if entry is None:
            return None
        try:
            intact = os.pread(self._open(), KEY_BYTES, entry["slot"] * self.record) == bytes.fromhex(key)
        except (OSError, ValueError):
            intact = False
        if not intact:
            del self.entries[key]
            self._damaged.add(key)
            return None
        m = entry["info"]
        return AudioInfo(path, **{k: m.get(k) for k in INFO_FIELDS if k != "notes"}, notes=list(m["notes"]))

    # -- writing -------------------------------------------------------------------------

    def write(self, items):
        """Add analysed loops and name them in the index, all or none.

        Parameters
        ----------
        items : list of (key, AudioInfo, y, S, image)
            ``y`` float [shape=(n_samples,)], ``S`` float [shape=(n_bins, n_frames)], ``image``
            float [shape=stereo.image_shape(settings)] or None (a mono loop).

        Raises
        ------
        StoreError
            The disk is full (or the store cannot be written): what was added before stays.
        """
        if not items:
            return
        with self.locked():
            self._merge()
            used = {e["slot"] for e in self.entries.values()}
            free = iter(sorted(set(range(self.n_slots)) - used))
            next_slot, added = self.n_slots, {}
            try:
                fd = open_for_writing(os.path.join(self.folder, self.RECORDS), os.O_RDWR | os.O_CREAT, root=self.folder)
                try:
                    for key, info, y, S, image in items:
                        if key in self.entries or key in added:
                            continue
                        slot = next(free, None)
                        if slot is None:
                            slot, next_slot = next_slot, next_slot + 1
                        _pwrite_all(fd, self._pack(key, y, S, image), slot * self.record)
                        added[key] = {"slot": slot, "info": {k: getattr(info, k) for k in INFO_FIELDS}}
                    os.fsync(fd)  # the records are on disk before the index names them
                finally:
                    os.close(fd)
            except OSError as exc:
                raise self._write_error(exc) from exc
            self.entries.update(added)
            self._damaged -= set(added)
            self.n_slots = next_slot
            self._write_index()

    def _merge(self):
        """Take the index on disk (another process may have changed it), plus what this one learnt."""
        self.files, self.entries, self.n_slots = self._index_on_disk()
        self.files.update(self._learnt)
        for key in self._damaged:
            self.entries.pop(key, None)

    def _pack(self, key, y, S, image):
        image = np.zeros(image_shape(self.settings), np.float32) if image is None else image
        parts = [np.asarray(S, np.float32).astype(np.float16).tobytes(), np.asarray(y, np.float32).tobytes(),
                 _image_record(image, self.settings)]
        return b"".join([bytes.fromhex(key), *map(_crc, parts), *parts])

    def commit(self, folders=(), seen_paths=()):
        """Write the index: the file facts learnt while hashing, less what is gone.

        Paths below ``folders`` that are not in ``seen_paths`` are forgotten (deleted or
        renamed files), then every entry that no path names any more: deleted and changed
        files drop out of the store and their records are reused.

        Returns
        -------
        gone : int
            How many records were freed.
        """
        with self.locked():
            self._merge()
            roots = [os.path.realpath(f) + os.sep for f in folders]
            seen = {os.path.realpath(p) for p in seen_paths}
            for p in [p for p in self.files if p not in seen and any(p.startswith(r) for r in roots)]:
                del self.files[p]
            named = {v[2] for v in self.files.values()}
            stale = [k for k in self.entries if k not in named]
            for k in stale:
                del self.entries[k]
            self._write_index()
            self._learnt = {}
        return len(stale)

    def _write_index(self):
        try:
            atomic_write_text(os.path.join(self.folder, self.INDEX),
                              json.dumps({"version": VERSION, "files": self.files, "entries": self.entries, "n_slots": self.n_slots}),
                              root=self.folder)
        except OSError as exc:  # the old index stays in place: the store holds what it held
            raise self._write_error(exc) from exc

    def _write_error(self, exc):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreError(
                f"the disk holding the analysis store {self.folder} is full: free some space or pass another "
                f"cache folder (load_folder(..., cache=FOLDER) or MORPHLIB_CACHE_DIR); the store keeps what it held"
            )
        return StoreError(f"cannot write the analysis store {self.folder}: {exc}")

    # -- reading -------------------------------------------------------------------------

    def _open(self):
        if self._fd is None:
            self._fd = os.open(os.path.join(self.folder, self.RECORDS), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        return self._fd

    def _read(self, key, part):
        """The bytes of ``part`` (one of ``PARTS``) of ``key``'s record, read with its head in
        one ``pread`` and checked against its key and checksum."""
        slot = self.entries[key]["slot"]
        k = PARTS.index(part)
        start = HEAD_BYTES + sum(self.sizes[p] for p in PARTS[:k])
        size = start + self.sizes[part]
        record = os.pread(self._open(), size, slot * self.record)
        if record[:KEY_BYTES] != bytes.fromhex(key) or len(record) != size:
            raise StoreError(f"the analysis store {self.folder} was changed by another process while in use: load the folder again")
        body = record[start:]
        if _crc(body) != record[KEY_BYTES + 4 * k : KEY_BYTES + 4 * k + 4]:
            self._forget(key, slot)
            raise StoreError(f"a record in the analysis store {self.folder} is damaged (its checksum does not match): "
                             "load the folder again, which analyses that loop anew")
        return body

    def _forget(self, key, slot):
        """Blank a damaged record's key on disk, so that the next load analyses its loop anew."""
        with contextlib.suppress(OSError), self.locked():
            fd = open_for_writing(os.path.join(self.folder, self.RECORDS), os.O_RDWR, root=self.folder)
            try:
                if os.pread(fd, KEY_BYTES, slot * self.record) == bytes.fromhex(key):
                    _pwrite_all(fd, bytes(KEY_BYTES), slot * self.record)
            finally:
                os.close(fd)

    def magnitude(self, key, out=None):
        """|STFT| stored under ``key`` as float32 [shape=(n_bins, n_frames)]; into ``out``
        (float32 or float16, the stored values as they are) where given."""
        S = np.frombuffer(self._read(key, "S"), np.float16).reshape(self.settings.shape)
        if out is None:
            return S.astype(np.float32)
        out[...] = S
        return out

    def signal(self, key):
        """The fitted signal stored under ``key``: float32 [shape=(n_samples,)]."""
        return np.frombuffer(self._read(key, "y"), np.float32).copy()

    def image(self, key):
        """The stereo image stored under ``key`` (``sound.stereo.image_of``), None for a mono loop."""
        if not self.entries[key]["info"].get("stereo"):
            return None
        return _image_from_record(self._read(key, "image"), self.settings)

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()


def _crc(data):
    return zlib.crc32(data).to_bytes(4, "little")


def _pwrite_all(fd, data, offset):
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _image_parts(settings):
    """(name, dtype, shape) of an image's parts in a record, as ``stereo.coded`` keeps them."""
    frames = (2, settings.n_frames)
    return (("bands", np.float16, band_image_shape(settings)), ("codes", np.uint8, detail_codes_shape(settings)),
            ("low", np.float32, frames), ("step", np.float32, frames))


def _image_bytes(settings):
    return sum(np.dtype(dtype).itemsize * int(np.prod(shape)) for _, dtype, shape in _image_parts(settings))


def _image_record(image, settings):
    parts = coded(image, settings)
    return b"".join(np.asarray(part).astype(dtype).tobytes() for part, (_, dtype, _shape) in zip(parts, _image_parts(settings)))


def _image_from_record(data, settings):
    parts, at = [], 0
    for _, dtype, shape in _image_parts(settings):
        n = np.dtype(dtype).itemsize * int(np.prod(shape))
        parts.append(np.frombuffer(data[at : at + n], dtype).reshape(shape))
        at += n
    return from_codes(*parts, settings)


class StoredArray:
    """Loops' magnitudes (or signals) in a store, read on demand like a float32 array.

    Indexing with an int, a slice or a list of ints reads those loops; ``np.asarray``
    reads them all. ``shape``, ``dtype``, ``len`` and ``nbytes`` (of the float32
    array it stands for) need no reading.

    Parameters
    ----------
    store : LoopStore
    keys : list of str
        One content key per loop, in order.
    part : {"S", "y"}
        Magnitudes [shape=(n, n_bins, n_frames)] or signals [shape=(n, n_samples)].
    channel : bool
        Add a trailing axis of 1 (the tutorial's ``x_train`` layout).
    """

    dtype = np.dtype(np.float32)

    def __init__(self, store, keys, part="S", *, channel=False):
        self.store, self.keys, self.part, self.channel = store, list(keys), part, channel
        s = store.settings
        self.shape = (len(self.keys), *(s.shape if part == "S" else (s.n_samples,)), *((1,) if channel else ()))

    ndim = property(lambda self: len(self.shape))
    nbytes = property(lambda self: int(np.prod(self.shape)) * 4)
    size = property(lambda self: int(np.prod(self.shape)))

    def __len__(self):
        return self.shape[0]

    def _one(self, i, out=None):
        key = self.keys[i]
        if out is not None and self.channel:
            out = out[..., 0]
        if self.part == "S":
            one = self.store.magnitude(key, out)
        else:
            one = self.store.signal(key)
            if out is not None:
                out[...] = one
        return one[..., np.newaxis] if self.channel and out is None else one

    def with_channel(self):
        """The same loops with a trailing axis of 1."""
        return StoredArray(self.store, self.keys, self.part, channel=True)

    def read(self, indices, *, dtype=np.float32):
        """The loops at ``indices``, in that order [shape=(len(indices), ...)].

        ``dtype=np.float16``: the magnitudes as stored, for a reader that converts them
        itself (training's stream does so in its graph, cheaper than NumPy's conversion).
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        out = np.empty((len(indices), *self.shape[1:]), dtype)
        for k, i in enumerate(indices):
            self._one(int(i), out[k])
        return out

    def __getitem__(self, item):
        if isinstance(item, tuple):  # the first index picks loops, the rest apply to what was read
            if not item or item[0] is Ellipsis:
                return np.asarray(self)[item]
            loops = self[item[0]]
            return loops[item[1:]] if isinstance(item[0], (int, np.integer)) else loops[(slice(None), *item[1:])]
        if isinstance(item, (int, np.integer)):
            n = len(self)
            if not -n <= item < n:
                raise IndexError(f"index {item} is out of range for {n} loops")
            return self._one(int(item) % n)
        if isinstance(item, slice):
            return self.read(range(*item.indices(len(self))))
        item = np.asarray(item)
        if item.dtype == bool:
            item = np.flatnonzero(item)
        return self.read(item)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        a = self.read(range(len(self)))
        return a if dtype is None else a.astype(dtype)

    def reshape(self, *shape):
        return np.asarray(self).reshape(*shape)

    def __repr__(self):
        return f"<StoredArray {self.part} {self.shape} float32 in {self.store.folder}>"


class StoredImages:
    """Loops' stereo images in a store, each read when asked for (``LoopStore.image``), so
    that a library larger than memory keeps its images on disk with its magnitudes.

    Parameters
    ----------
    store : LoopStore
    keys : list of str
        One content key per loop, in order.
    """

    def __init__(self, store, keys):
        self.store, self.keys = store, list(keys)

    def __len__(self):
        return len(self.keys)

    def __getitem__(self, i):
        """Loop ``i``'s image [shape=stereo.image_shape(settings)], or None for a mono loop."""
        return self.store.image(self.keys[i])

    def __iter__(self):
        for key in self.keys:
            yield self.store.image(key)


def chunks(S, size=64):
    """``S`` (an array or a StoredArray) as float32 arrays of at most ``size`` loops."""
    for i in range(0, len(S), size):
        yield np.asarray(S[i : i + size], np.float32)


def is_stored(S):
    return isinstance(S, StoredArray)

