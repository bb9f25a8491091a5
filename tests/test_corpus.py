"""A messy sample library, generated here: every usable file loads, every broken one is
skipped with its own reason, and training and evaluation run on the rest without NaN."""

import os
import struct

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings as hsettings, strategies as st

from morphlib.sound.audio import MAX_PEAK, prevent_clipping
from morphlib.config import AnalysisSettings
from morphlib.data.dataset import load_folder
from morphlib.errors import DataFolderError
from morphlib.morphing.evaluation import evaluate
from morphlib.sound.spectral import griffin_lim, magnitude
from morphlib.training.trainer import train

from .conftest import TINY, tone_burst

GOOD = [
    # name, sample rate, channels, subtype, length in model lengths
    ("pcm8 mono.wav", 8000, 1, "PCM_U8", 1.0),
    ("pcm16 stereo.wav", 44100, 2, "PCM_16", 1.0),
    ("pcm24 48k.WAV", 48000, 2, "PCM_24", 2.5),
    ("float32 96k.wav", 96000, 1, "FLOAT", 0.5),
    ("six channels.wav", 44100, 6, "PCM_16", 1.0),
    ("nested/deeper/short loop.flac", 44100, 2, "PCM_16", 0.3),
    ("ドラム ループ.wav", 22050, 1, "PCM_16", 1.2),
    ("Kaputnik Beat R.aiff", 44100, 2, "PCM_16", 1.0),
]


def _make_good(root, name, sr, channels, subtype, length, k):
    n = max(int(length * TINY.n_samples * sr / TINY.sr), 2 * TINY.n_fft * sr // TINY.sr)
    y = tone_burst(n, sr, freq=150 + 40 * k, seed=k)
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([y * (0.9 - 0.1 * c) for c in range(channels)], axis=1), sr, subtype=subtype)


def _wav_bytes(y, sr=TINY.sr):
    import io

    buf = io.BytesIO()
    sf.write(buf, y, sr, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _make_broken(root):
    good = _wav_bytes(tone_burst(TINY.n_samples, TINY.sr))
    (root / "zero bytes.wav").write_bytes(b"")
    (root / "text file.wav").write_text("this is not audio\n")
    (root / "truncated header.wav").write_bytes(good[:30])
    (root / "cut off.wav").write_bytes(good[: len(good) // 3])
    (root / "too few samples.wav").write_bytes(_wav_bytes(np.array([0.5, -0.5, 0.25], np.float32)))
    garbage = bytearray(good[:44]) + bytearray(np.random.default_rng(0).bytes(len(good) - 44))
    garbage[20:22] = struct.pack("<H", 3)  # format: IEEE float, so the garbage bits become floats
    garbage[34:36] = struct.pack("<H", 32)
    garbage[32:34] = struct.pack("<H", 4)
    garbage[28:32] = struct.pack("<I", TINY.sr * 4)
    (root / "garbage samples.wav").write_bytes(bytes(garbage))
    sf.write(root / "silence.wav", np.zeros(TINY.n_samples, np.float32), TINY.sr)
    nan = tone_burst(TINY.n_samples, TINY.sr)
    nan[[5, 50]] = [np.nan, np.inf]
    sf.write(root / "nan and inf.wav", nan, TINY.sr, subtype="FLOAT")
    (root / "folder.wav").mkdir()
    os.symlink(root / "loop b.wav", root / "loop a.wav")
    os.symlink(root / "loop a.wav", root / "loop b.wav")
    (root / "._pcm16 stereo.wav").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 80)


EXPECTED_SKIPS = {
    "zero bytes": "empty file",
    "text file": "not a readable audio file",
    "truncated header": "not a readable audio file",
    "cut off": "truncated",
    "too few samples": "too short",
    "garbage samples": "",  # NaN, infinite or out of range, whichever the random bits give
    "silence": "silent",
    "nan and inf": "NaN or infinite",
    "loop a": "link loop",
    "loop b": "link loop",
    "._pcm16 stereo": "macOS metadata",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample library")
    for k, spec in enumerate(GOOD):
        _make_good(root, *spec, k)
    _make_broken(root)
    return root


def test_every_usable_file_loads_and_every_broken_one_is_explained(corpus):
    loops = load_folder(corpus, TINY, progress=False)
    assert sorted(loops.names) == sorted(os.path.splitext(g[0])[0] for g in GOOD)
    reasons = {s.name: s.reason for s in loops.skipped}
    assert set(reasons) == set(EXPECTED_SKIPS)
    for name, expected in EXPECTED_SKIPS.items():
        assert expected in reasons[name], (name, reasons[name])
    assert any(w in reasons["garbage samples"] for w in ("NaN", "out of range")), reasons["garbage samples"]
    assert "folder.wav" not in reasons  # a folder is walked, not read as a file
    notes = {r["name"]: r["notes"] for r in loops.rows()}
    assert "cropped" in notes["pcm24 48k"] and "resampled 48000 Hz" in notes["pcm24 48k"]
    assert "padded" in notes["nested/deeper/short loop"]
    assert "folded 6 channels to stereo" in notes["six channels"]
    assert np.all(np.isfinite(loops.S)) and np.all(np.abs(loops.y) <= 1.0)


def test_training_and_evaluation_run_on_the_rest(corpus, tmp_path):
    loops = load_folder(corpus, TINY, progress=False)
    model = train(loops, tmp_path / "model with spaces", epochs=2, preset="tiny", progress=False, verbose=False)
    report = evaluate(model, loops).to_dict(loops)
    assert report["n_files"] == len(GOOD) and report["n_skipped"] == len(EXPECTED_SKIPS)
    numbers = [report["mse"], report["cosine_mean"], report["cosine_min"]]
    numbers += [v for f in report["files"] for v in f.values() if isinstance(v, float)]
    assert np.all(np.isfinite(numbers))


def test_drive_not_mounted_says_to_mount_it(monkeypatch):
    monkeypatch.setattr(os.path, "isdir", lambda p: False)
    with pytest.raises(DataFolderError, match="Google Drive, which is not mounted"):
        load_folder("/content/drive/MyDrive/My Drums", TINY)


@hsettings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=3 * TINY.n_samples),
    level=st.floats(min_value=1e-3, max_value=20.0),
    sr=st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000]),
)
def test_audio_to_spectrogram_to_audio(n, level, sr):
    settings = AnalysisSettings(sr=sr, n_fft=256, hop_length=64, n_frames=16)
    from morphlib.sound.audio import fit_length

    y = level * tone_burst(n, sr) / 0.5
    y, _ = fit_length(y, settings.n_samples)
    S = magnitude(y, settings)
    assert S.shape == settings.shape and np.all(np.isfinite(S)) and np.all(S >= 0)
    out = prevent_clipping(griffin_lim(S, settings, n_iter=2))
    assert out.shape == (settings.n_samples,)
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= MAX_PEAK
