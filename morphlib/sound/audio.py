"""Reading, checking, fitting and writing audio."""

import dataclasses
import errno
import os
import re
import stat
import unicodedata
import hashlib
import struct

import numpy as np

from ..config import check_int
from ..errors import AudioFileError, ParameterError
from ..files import part_name, refuse_links
from .stereo import fold_to_stereo

#: File endings read (case-insensitive), all through libsndfile.
AUDIO_EXTENSIONS = (".wav", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".oga", ".mp3")

#: Peak level under which a file counts as silent: -80 dBFS.
SILENCE_PEAK = 1e-4

#: Peak above which float samples are taken for garbage rather than loud audio (+60 dBFS).
GARBAGE_PEAK = 1000.0

#: Highest peak written to a file, about -0.1 dBFS, so that 16-bit output never clips.
MAX_PEAK = 0.99

# Limits every file must pass before it is decoded. Loops come from the internet: a small
# file whose header claims hours of audio, an absurd rate or a FIFO named .wav must be a
# skip with its reason, never a load that ends, hangs or takes all memory. A loop
# library's longest loop is minutes, not hours.

#: Largest file read, in bytes (1 GiB).
MAX_FILE_BYTES = 1 << 30
#: Longest audio read, in seconds (10 minutes).
MAX_SECONDS = 600.0
#: Sample rates read, in Hz (inclusive).
SR_RANGE = (4000, 384000)
#: Most channels read (7.1 surround).
MAX_CHANNELS = 8
#: Most memory one file's decoded samples may take, in bytes (float32, all channels: 512 MiB).
MAX_DECODED_BYTES = 512 << 20


@dataclasses.dataclass
class AudioInfo:
    """What a file was, and what was done to make it fit.

    Attributes
    ----------
    path : str
    sr : int
        The file's own sample rate in Hz.
    channels : int
    duration : float
        The file's own duration in seconds.
    subtype : str
        libsndfile's name of the encoding, e.g. ``"PCM_16"``.
    notes : list of str
        What was done: resampling, downmixing, cropping, padding or stretching.
    bpm : float or None
        The loop's tempo in beats per minute (None: not found).
    bpm_source : {"name", "detected"} or None
        Where ``bpm`` came from: the file name, or the beat tracker with the duration.
    bars : float or None
        Bars of 4/4 at ``bpm`` that the fitted window holds (whole when stretched).
    stretch : float or None
        Output duration over input duration of the time-stretch (None: not stretched).
    stereo : bool
        Loaded as stereo: its mid is analysed, its side kept as a stereo image
        (``morphlib.sound.stereo``). False for mono files and for two identical channels.
    """

    path: str
    sr: int
    channels: int
    duration: float
    subtype: str
    notes: list = dataclasses.field(default_factory=list)
    bpm: float = None
    bpm_source: str = None
    bars: float = None
    stretch: float = None
    stereo: bool = False

#: AudioInfo's fields that describe the file and its fitting (all but ``path``).
INFO_FIELDS = ("sr", "channels", "duration", "subtype", "notes", "bpm", "bpm_source", "bars", "stretch", "stereo")


def read_audio(path, *, sr=22050, mono=True):
    """Read a file as float32 at ``sr``, or raise AudioFileError saying why not.

    Parameters
    ----------
    path : str or os.PathLike
    sr : int > 0
        Target sample rate in Hz.
    mono : bool
        True: the channels averaged into one. False: a file of two channels or more as
        stereo (surround folded down, ``stereo.fold_to_stereo``; the notes say so), a
        mono file as mono (as librosa's ``load(mono=False)``).

    Returns
    -------
    y : np.ndarray [shape=(n,) or (2, n), dtype=float32]
        Resampled to ``sr``.
    info : AudioInfo

    Raises
    ------
    AudioFileError
        Not a regular file (a FIFO, device or folder); empty, unreadable or undecodable
        file; beyond the limits checked before decoding (``check_file``,
        ``check_header``); a WAV cut off before the end its header promises; no samples;
        NaN or Inf samples; samples far out of range (garbage); silence (peak below
        -80 dBFS).
    """
    import soundfile as sf

    path = os.fspath(path)
    check_file(path)
    try:
        with sf.SoundFile(path) as f:
            file_sr, channels, subtype = f.samplerate, f.channels, f.subtype
            check_header(path, sr=file_sr, channels=channels, frames=f.frames)
            data = f.read(frames=f.frames, dtype="float32", always_2d=True)
    except OSError as exc:
        raise AudioFileError(path, _os_reason(exc)) from None
    except MemoryError:
        raise AudioFileError(path, "needs more memory to decode than this machine has free") from None
    except (sf.LibsndfileError, RuntimeError, ValueError, EOFError, OverflowError) as exc:
        raise AudioFileError(path, f"not a readable audio file ({_short(exc)})") from None
    info = AudioInfo(path, int(file_sr), int(channels), len(data) / file_sr, str(subtype))
    if len(data) == 0:
        raise AudioFileError(path, "the file holds no samples")
    missing = _wav_bytes_missing(path)
    if missing:
        raise AudioFileError(path, f"truncated: the WAV header promises {missing} more bytes of samples than the file holds")
    if not np.all(np.isfinite(data)):
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise AudioFileError(path, f"{bad} samples are NaN or infinite")
    peak = float(np.max(np.abs(data)))
    if peak > GARBAGE_PEAK:
        raise AudioFileError(path, f"samples out of range (peak {peak:.3g}, full scale is 1): not valid audio")
    data = _channels_as_asked(data, mono, info)
    if np.max(np.abs(data)) < SILENCE_PEAK:
        raise AudioFileError(path, "silent (peak below -80 dBFS)")
    if file_sr != sr:
        data = resample(data, orig_sr=file_sr, target_sr=sr)
        info.notes.append(f"resampled {file_sr} Hz to {sr} Hz")
    return np.ascontiguousarray(data, dtype=np.float32), info


def _channels_as_asked(data, mono, info):
    """Samples ``(n, channels)`` → ``(n,)``, or ``(2, n)`` for a file of several channels
    read with ``mono=False``; ``info.notes`` says what was done."""
    channels = data.shape[1]
    if channels == 1:
        return data[:, 0]
    if mono:
        info.notes.append(f"downmixed {channels} channels to mono")
        return data.mean(axis=1)
    if channels > 2:
        info.notes.append(f"folded {channels} channels to stereo")
    return fold_to_stereo(data)


def check_file(path):
    """Raise AudioFileError unless ``path`` is a regular file of 1 to ``MAX_FILE_BYTES`` bytes.

    A FIFO or a link to a device named ``.wav`` would make a reader wait forever or read
    without end; nothing of such a file is read.

    Returns
    -------
    size : int
        The file's size in bytes.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise AudioFileError(path, _os_reason(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioFileError(path, "a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise AudioFileError(path, "not a regular file (a FIFO, device or socket): only audio files are read")
    if st.st_size == 0:
        raise AudioFileError(path, "empty file (0 bytes)")
    if st.st_size > MAX_FILE_BYTES:
        raise AudioFileError(path, f"{st.st_size / 2**20:.0f} MiB, more than the {MAX_FILE_BYTES >> 20} MiB a loop may take: cut it into loops")
    return st.st_size


def check_header(path, *, sr, channels, frames):
    """Raise AudioFileError unless a file's header (its rate in Hz, channels and frames)
    lies within ``SR_RANGE``, ``MAX_CHANNELS``, ``MAX_SECONDS`` and ``MAX_DECODED_BYTES``."""
    low, high = SR_RANGE
    if not low <= sr <= high:
        raise AudioFileError(path, f"sample rate {sr} Hz is outside {low}-{high} Hz: a damaged header, or not audio")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFileError(path, f"{channels} channels, outside 1-{MAX_CHANNELS}: a damaged header, or not audio")
    if frames < 0 or frames / sr > MAX_SECONDS:
        raise AudioFileError(path, f"its header claims {frames / sr:.0f} s of audio, more than the {MAX_SECONDS:.0f} s a loop may last: "
                                   "cut it into loops (or the header is damaged)")
    if frames * channels * 4 > MAX_DECODED_BYTES:
        raise AudioFileError(path, f"{frames * channels * 4 / 2**20:.0f} MiB decoded, more than the {MAX_DECODED_BYTES >> 20} MiB one file may take: "
                                   "cut it into loops")


def _wav_bytes_missing(path):
    """Bytes of sample data a RIFF/WAVE header promises beyond the end of the file (0 if none).

    libsndfile quietly reads what is there, so a cut-off download would otherwise load.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return 0
            size = os.fstat(f.fileno()).st_size
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return 0
                cid, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"data":
                    if length in (0, 0xFFFFFFFF):  # streaming writers leave the size open
                        return 0
                    return max(0, f.tell() + length - size)
                f.seek(length + (length & 1), os.SEEK_CUR)
    except OSError:
        return 0


def _os_reason(exc):
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: the file cannot be read (check its permissions)"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop: the link never reaches a file"
    if exc.errno == errno.ENOENT:
        return "file not found (a broken link, or it was removed)"
    if exc.errno == errno.EISDIR:
        return "a folder, not a file"
    return f"cannot be read ({exc.strerror or exc})"


def _short(exc):
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def resample(y, *, orig_sr, target_sr):
    """Resample a signal (soxr, high quality).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
    orig_sr, target_sr : int > 0
        Sample rates in Hz.

    Returns
    -------
    y : np.ndarray [shape=(..., round(n * target_sr / orig_sr)), dtype=float32]
    """
    import soxr

    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:  # soxr takes (n, channels)
        return np.ascontiguousarray(soxr.resample(y.T, orig_sr, target_sr, quality="HQ").T)
    return soxr.resample(y, orig_sr, target_sr, quality="HQ")


def fit_length(y, n_samples):
    """Crop or zero-pad ``y`` at the end to exactly ``n_samples``.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n)]
    n_samples : int > 0

    Returns
    -------
    y : np.ndarray [shape=(..., n_samples)]
    note : str or None
        ``"cropped 4.00 s to 3.41 s"``-style description, None when unchanged.
    """
    n = y.shape[-1]
    if n == n_samples:
        return y, None
    if n > n_samples:
        return y[..., :n_samples], f"cropped {n} to {n_samples} samples"
    return np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n_samples - n)]), f"padded {n} to {n_samples} samples with silence"


def prevent_clipping(y, *, peak=MAX_PEAK):
    """Scale ``y`` down so that its peak is at most ``peak``; never scale up.

    Parameters
    ----------
    y : np.ndarray
    peak : float in (0, 1]

    Returns
    -------
    y : np.ndarray [dtype=float32]
        Finite, with ``max(abs(y)) <= peak``.
    """
    y = np.nan_to_num(np.asarray(y, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(np.max(np.abs(y))) if y.size else 0.0
    if top > peak:
        # float32 rounding can land a hair above peak: clip the last ulp too
        y = np.clip(y * np.float32(peak / top), -peak, peak)
    return y


_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


#: Longest file name written, in bytes of UTF-8: file systems allow 255, and room is kept for
#: ``unique_path``'s " (N)" and ``write_wav``'s temporary ".NAME.part".
MAX_NAME_BYTES = 240


def safe_filename(name, *, suffix="", default="untitled", max_bytes=MAX_NAME_BYTES):
    """A file name that is valid on Windows, macOS and Linux, at most ``max_bytes`` long.

    Keeps letters of every script (Japanese names stay), replaces characters that
    some system forbids, and avoids Windows' reserved names. A name too long for the
    file system is cut at a character boundary, never inside ``suffix``, and marked with
    a short hash of the whole name, so that two long names stay two files.

    Parameters
    ----------
    name : str
        What the file holds, e.g. ``"Overkill J to Kaputnik Beat R"``.
    suffix : str
        Kept whole at the end, e.g. ``" linear a=0.25.wav"``.
    default : str
        Used when nothing is left of ``name``.
    max_bytes : int
        Length limit of the result in bytes of UTF-8.
    """
    name, suffix = _filtered(name), _filtered(suffix, strip=False)
    if not name:
        name = default
    if name.split(".")[0].upper() in _RESERVED:
        name = "_" + name
    if len((name + suffix).encode("utf-8")) <= max_bytes:
        return name + suffix
    mark = " ~" + hashlib.blake2b(name.encode("utf-8"), digest_size=4).hexdigest()
    room = max_bytes - len((mark + suffix).encode("utf-8"))
    if room < 1:
        raise ParameterError(f"suffix {suffix!r} leaves no room for a name within {max_bytes} bytes")
    cut = name.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip(". ")
    return cut + mark + suffix


def _filtered(text, *, strip=True):
    text = unicodedata.normalize("NFC", str(text))
    text = re.sub(r'[<>:"/\\|?*\x00-\x1f\x7f]', "_", text)
    return text.strip().rstrip(". ") if strip else text


def unique_path(path):
    """``path`` itself when free, else ``stem (2).ext``, ``stem (3).ext``, ...

    Parameters
    ----------
    path : str or os.PathLike
    """
    path = os.fspath(path)
    if not os.path.lexists(path):
        return path
    stem, ext = os.path.splitext(path)
    k = 2
    while os.path.lexists(f"{stem} ({k}){ext}"):
        k += 1
    return f"{stem} ({k}){ext}"


#: Sample rates a file may be exported at, in Hz (a project's: 44.1 or 48 kHz, and others).
EXPORT_SR_RANGE = (8000, 192000)


def write_wav(path, y, *, sr, overwrite=False, export_sr=None):
    """Write a 16-bit WAV file (mono or stereo), never clipping and never overwriting by accident.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write. The folder is created if missing.
    y : np.ndarray [shape=(n,) or (2, n)]
        Signal, mono or left and right; scaled down if its peak exceeds ``MAX_PEAK``.
    sr : int > 0
        Sample rate in Hz.
    overwrite : bool
        Replace an existing file. When False and ``path`` exists, a FileExistsError
        names it.
    export_sr : int in ``EXPORT_SR_RANGE`` or None
        The file's sample rate in Hz (a project's, e.g. 44100 or 48000), resampled from
        ``sr`` with soxr's high quality; None: ``sr``.

    Returns
    -------
    path : str
        The path written.
    """
    import soundfile as sf

    path = os.fspath(path)
    y = np.asarray(y)
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[0] == 2)):
        raise ParameterError(f"y must be mono with shape (n,) or stereo with shape (2, n), got shape {y.shape}")
    if export_sr is not None:
        export_sr = check_int("export_sr", export_sr, low=EXPORT_SR_RANGE[0], high=EXPORT_SR_RANGE[1])
        if export_sr != sr:
            y, sr = resample(prevent_clipping(y), orig_sr=sr, target_sr=export_sr), export_sr
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(
            f"{path} already exists; choose another name, or pass overwrite=True (--overwrite)"
        )
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = part_name(path)
    refuse_links(tmp)
    refuse_links(path)
    sf.write(tmp, prevent_clipping(y).T, int(sr), subtype="PCM_16", format="WAV")
    os.replace(tmp, path)
    return path
