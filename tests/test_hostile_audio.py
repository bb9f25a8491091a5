"""Loops from the internet: checked before they are decoded, and each bad one a skip with its reason."""

import contextlib
import io
import os
import shutil
import signal
import struct
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from morphlib.sound.audio import MAX_DECODED_BYTES, read_audio
from morphlib.data.dataset import _analyse_one, load_folder
from morphlib.errors import AudioFileError

from .conftest import TINY, tone_burst, write_loops


@contextlib.contextmanager
def no_longer_than(seconds):
    """Fail instead of hanging (the bug this guards against was a load that never ended)."""
    def alarm(*_):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _flac_bytes(seconds=0.2, sr=8000):
    buf = io.BytesIO()
    sf.write(buf, tone_burst(int(seconds * sr), sr), sr, format="FLAC")
    return bytearray(buf.getvalue())


def _wav_bytes(seconds=0.2, sr=8000):
    buf = io.BytesIO()
    sf.write(buf, tone_burst(int(seconds * sr), sr), sr, format="WAV", subtype="PCM_16")
    return bytearray(buf.getvalue())


def _claiming_frames(data, frames):
    """A FLAC whose STREAMINFO claims ``frames`` samples (its 36-bit total)."""
    at = 8 + 10  # "fLaC", the block header, then 10 bytes of block and frame sizes
    word = int.from_bytes(data[at:at + 8], "big")
    word = (word & ~((1 << 36) - 1)) | (frames & ((1 << 36) - 1))
    data[at:at + 8] = word.to_bytes(8, "big")
    return data


def _rate(data, sr):
    """A WAV whose header says ``sr`` Hz."""
    data[24:28] = struct.pack("<I", sr)
    data[28:32] = struct.pack("<I", sr * 2)
    return data


@pytest.fixture
def folder_with(tmp_path):
    def make(name, body=None, *, link_to=None, fifo=False):
        folder = tmp_path / "loops"
        write_loops(folder, 3)
        path = folder / name
        if fifo:
            os.mkfifo(path)
        elif link_to:
            path.symlink_to(link_to)
        else:
            path.write_bytes(bytes(body))
        return folder, path
    return make


@pytest.mark.parametrize("case, words", [
    ("fifo", "not a regular file"),
    ("dev zero", "not a regular file"),
    ("huge flac", "its header claims"),
    ("1 Hz wav", "sample rate 1 Hz is outside"),
])
@pytest.mark.parametrize("cache", [True, False])
def test_a_hostile_file_is_one_skip_and_the_rest_load(folder_with, tmp_path, case, words, cache):
    if case == "fifo":
        folder, bad = folder_with("Trap.wav", fifo=True)
    elif case == "dev zero":
        folder, bad = folder_with("Zero.wav", link_to="/dev/zero")
    elif case == "huge flac":
        folder, bad = folder_with("Huge.flac", _claiming_frames(_flac_bytes(), 1 << 36))
    else:
        folder, bad = folder_with("Slow.wav", _rate(_wav_bytes(), 1))
    with no_longer_than(60):
        loops = load_folder(str(folder), TINY, progress=False, cache=str(tmp_path / "cache") if cache else False)
    assert len(loops) == 3
    (skip,) = loops.skipped
    assert skip.path == str(bad) and words in skip.reason


def test_a_failing_stretcher_or_memory_error_is_a_skip(tmp_path, monkeypatch):
    import morphlib.data.dataset as dataset

    write_loops(tmp_path / "loops", 3)
    real = dataset._fit_to_window

    def fail_on_b(y, path, info, settings):
        if "Loop B" in path:
            raise MemoryError()
        if "Loop C" in path:
            raise RuntimeError("rubberband: failed to process")
        return real(y, path, info, settings)

    monkeypatch.setattr(dataset, "_fit_to_window", fail_on_b)
    loops = load_folder(str(tmp_path / "loops"), TINY, progress=False, cache=False)
    assert loops.names == ["Loop A"]
    reasons = sorted(s.reason for s in loops.skipped)
    assert reasons == ["could not be analysed (RuntimeError: rubberband: failed to process)",
                       "needs more memory to analyse than this machine has free"]


_VALID = {".wav": bytes(_wav_bytes()), ".flac": bytes(_flac_bytes())}


@st.composite
def mangled_audio(draw):
    """Random bytes, a truncated file, or a file with bytes of its header overwritten."""
    ext = draw(st.sampled_from(sorted(_VALID)))
    kind = draw(st.sampled_from(["random", "truncated", "header"]))
    base = bytearray(_VALID[ext])
    if kind == "random":
        return ext, draw(st.binary(min_size=1, max_size=2048))
    if kind == "truncated":
        return ext, bytes(base[: draw(st.integers(1, len(base) - 1))])
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, 63))
        base[at] = draw(st.integers(0, 255))
    return ext, bytes(base)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mangled_audio())
def test_fuzzed_files_never_crash_hang_or_exceed_the_memory_limit(tmp_path, sample):
    ext, data = sample
    path = str(tmp_path / f"fuzz{ext}")
    with open(path, "wb") as f:
        f.write(data)
    tracemalloc.start()
    try:
        with no_longer_than(20):
            try:
                y, info = read_audio(path, sr=TINY.sr)
                assert y.ndim == 1 and np.all(np.isfinite(y))
            except AudioFileError as exc:
                assert exc.path == path and exc.reason
            out = _analyse_one(path, TINY)
            assert isinstance(out, str) or len(out) == 4
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= MAX_DECODED_BYTES + (32 << 20)


def test_a_file_over_the_decoded_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "Long.flac"
    path.write_bytes(bytes(_claiming_frames(_flac_bytes(sr=192000, seconds=0.05), 192000 * 599)))
    # 599 s at 192 kHz is within the duration limit; with 8 channels it is 3.4 GiB of float32
    data = bytearray(path.read_bytes())
    word = int.from_bytes(data[18:26], "big")
    data[18:26] = ((word & ~(0b111 << 41)) | (7 << 41)).to_bytes(8, "big")  # channels - 1 = 7
    path.write_bytes(bytes(data))
    with pytest.raises(AudioFileError, match="MiB decoded, more than"):
        read_audio(str(path), sr=TINY.sr)


def test_a_broken_symlink_and_a_folder_named_wav_are_skips(tmp_path):
    folder = tmp_path / "loops"
    write_loops(folder, 2)
    (folder / "Gone.wav").symlink_to(tmp_path / "nowhere.wav")
    (folder / "Dir.wav").mkdir()
    shutil.copy(folder / "Loop A.wav", folder / "Dir.wav" / "Inner.wav")
    loops = load_folder(str(folder), TINY, progress=False, cache=False)
    assert len(loops) == 3
    assert [s.name for s in loops.skipped] == ["Gone"]
