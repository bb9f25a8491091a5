import os

import numpy as np
import pytest
import soundfile as sf

from morphlib.sound.audio import fit_length, prevent_clipping, read_audio, safe_filename, unique_path, write_wav
from morphlib.errors import AudioFileError, ParameterError

from .conftest import tone_burst


def _write(path, kind):
    """Write one test file of ``kind``; returns what read_audio should do with it."""
    y = tone_burst(4410, 44100)
    if kind.startswith("ok-"):
        subtype, channels, sr = {
            "ok-pcm16": ("PCM_16", 1, 44100),
            "ok-pcm24-stereo": ("PCM_24", 2, 48000),
            "ok-float-4ch": ("FLOAT", 4, 96000),
            "ok-u8": ("PCM_U8", 1, 22050),
            "ok-flac": ("PCM_16", 2, 44100),
        }[kind]
        data = np.stack([y] * channels, axis=1)
        sf.write(path, data, sr, subtype=subtype)
        return None
    if kind == "empty":
        open(path, "wb").close()
        return "empty file"
    if kind == "text":
        open(path, "w").write("not audio")
        return "not a readable audio file"
    if kind == "silent":
        sf.write(path, np.zeros(1000, np.float32), 22050)
        return "silent"
    if kind == "nan":
        bad = y.copy()
        bad[10] = np.nan
        sf.write(path, bad, 22050, subtype="FLOAT")
        return "NaN or infinite"
    if kind == "no-samples":
        sf.write(path, np.zeros(0, np.float32), 22050)
        return "no samples"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind, name",
    [
        ("ok-pcm16", "a.wav"),
        ("ok-pcm24-stereo", "b.WAV"),
        ("ok-float-4ch", "c.wav"),
        ("ok-u8", "d.wav"),
        ("ok-flac", "e.flac"),
        ("empty", "f.wav"),
        ("text", "g.wav"),
        ("silent", "h.wav"),
        ("nan", "i.wav"),
        ("no-samples", "j.wav"),
    ],
)
def test_read_audio(tmp_path, kind, name):
    path = str(tmp_path / name)
    expected_error = _write(path, kind)
    if expected_error:
        with pytest.raises(AudioFileError, match=expected_error) as info:
            read_audio(path, sr=22050)
        assert path in str(info.value)
        return
    y, info = read_audio(path, sr=22050)
    assert y.ndim == 1 and y.dtype == np.float32
    assert np.all(np.isfinite(y))
    assert abs(len(y) - round(info.duration * 22050)) <= 1
    if info.sr != 22050:
        assert any("resampled" in n for n in info.notes)
    if info.channels > 1:
        assert any("downmixed" in n for n in info.notes)


def test_unreadable_file_is_reported(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = tmp_path / "locked.wav"
    _write(str(path), "ok-pcm16")
    path.chmod(0)
    with pytest.raises(AudioFileError, match="permission"):
        read_audio(path)


def test_symlink_loop_is_reported(tmp_path):
    os.symlink(tmp_path / "b.wav", tmp_path / "a.wav")
    os.symlink(tmp_path / "a.wav", tmp_path / "b.wav")
    with pytest.raises(AudioFileError, match="link"):
        read_audio(tmp_path / "a.wav")


@pytest.mark.parametrize("n, target, note", [(10, 10, None), (12, 10, "cropped"), (7, 10, "padded")])
def test_fit_length(n, target, note):
    y, said = fit_length(np.ones(n, np.float32), target)
    assert len(y) == target
    assert (said is None) if note is None else (note in said)
    if n < target:
        assert np.all(y[n:] == 0)


@pytest.mark.parametrize("peak", [0.5, 0.99, 1.0, 3.0, np.inf])
def test_prevent_clipping(peak):
    y = np.array([0.1, -peak, 0.2], np.float32)
    out = prevent_clipping(y)
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 0.99
    if peak <= 0.99:
        np.testing.assert_array_equal(out, y)  # never scaled up


@pytest.mark.parametrize(
    "name, expected",
    [("Overkill J", "Overkill J"), ("a/b:c?", "a_b_c_"), ("CON", "_CON"), ("ドラム", "ドラム"), (" . ", "untitled"), ("x. ", "x")],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_write_wav_never_overwrites_by_accident(tmp_path):
    path = tmp_path / "out" / "m.wav"
    write_wav(path, np.full(100, 2.0), sr=22050)
    y, sr = sf.read(path)
    assert sr == 22050 and sf.info(path).subtype == "PCM_16"
    assert np.max(np.abs(y)) <= 0.99
    with pytest.raises(FileExistsError, match="m.wav"):
        write_wav(path, np.zeros(100), sr=22050)
    write_wav(path, np.zeros(100), sr=22050, overwrite=True)
    assert np.max(np.abs(sf.read(path)[0])) == 0
    assert unique_path(path).endswith("m (2).wav")
    with pytest.raises(ParameterError, match=r"stereo with shape \(2, n\)"):
        write_wav(tmp_path / "s.wav", np.zeros((3, 10)), sr=22050)


def test_write_wav_writes_stereo_as_left_and_right_and_resamples_both(tmp_path):
    left, right = tone_burst(2205, 22050), 0.5 * tone_burst(2205, 22050)
    path = write_wav(tmp_path / "st.wav", np.stack([left, right]), sr=22050, export_sr=44100)
    y, sr = sf.read(path, always_2d=True)
    assert sr == 44100 and y.shape == (4410, 2)
    assert np.sum(y[:, 1] ** 2) == pytest.approx(0.25 * np.sum(y[:, 0] ** 2), rel=0.02)


def test_long_names_fit_255_bytes_keep_their_suffix_and_stay_distinct(tmp_path):
    long_a, long_b = "ドラム" * 50 + " one", "ドラム" * 50 + " two"  # 150 Japanese characters: 450 bytes each
    names = {safe_filename(n, suffix=f" linear a={a:.2f}.wav") for n in (long_a, long_b) for a in (0, 0.25, 0.5, 0.75, 1)}
    assert len(names) == 10
    for name in names:
        assert len(name.encode("utf-8")) <= 240 and name.endswith(".wav") and " linear a=" in name
        write_wav(unique_path(tmp_path / name), np.zeros(100), sr=8000)  # no ENAMETOOLONG, with " (2)" room too
        write_wav(unique_path(tmp_path / name), np.zeros(100), sr=8000)
    assert len(os.listdir(tmp_path)) == 20
    assert safe_filename("short", suffix=" a=0.50.wav") == "short a=0.50.wav"  # untouched when it fits


def test_write_wav_never_writes_through_a_link(tmp_path):
    from morphlib.errors import LinkRefusedError

    victim = tmp_path / "precious.txt"
    victim.write_text("the user's work")
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / ".m.wav.part").symlink_to(victim)
    with pytest.raises(LinkRefusedError, match=r"\.m\.wav\.part is a link"):
        write_wav(tmp_path / "exports" / "m.wav", np.zeros(10), sr=8000)
    assert victim.read_text() == "the user's work"


@pytest.mark.parametrize("export_sr", [44100, 48000])
def test_write_wav_exports_at_the_projects_rate(tmp_path, export_sr):
    sr = 22050
    t = np.arange(sr) / sr
    y = 0.5 * np.sin(2 * np.pi * 1000 * t).astype(np.float32)  # 1 kHz for one second
    path = write_wav(tmp_path / "m.wav", y, sr=sr, export_sr=export_sr)
    out, file_sr = sf.read(path)
    assert file_sr == export_sr and abs(len(out) - export_sr) <= 1
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * export_sr / len(out) - 1000) < 2  # the tone is where it was
    assert np.max(np.abs(out)) <= 0.99 and np.max(np.abs(out)) > 0.45


def test_write_wav_refuses_an_export_rate_outside_its_range(tmp_path):
    with pytest.raises(ParameterError, match="export_sr must be between 8000 and 192000, got 1"):
        write_wav(tmp_path / "m.wav", np.zeros(10), sr=8000, export_sr=1)
    assert not (tmp_path / "m.wav").exists()
