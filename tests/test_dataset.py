import os

import numpy as np
import pytest
import soundfile as sf

from morphlib.data.dataset import find_audio_files, load_folder
from morphlib.errors import DataFolderError, UnknownSoundError

from .conftest import TINY, tone_burst, write_loops


def test_loads_a_folder_into_one_shape(tiny_folder):
    loops = load_folder(tiny_folder, TINY, progress=False)
    assert loops.S.shape == (6, TINY.n_bins, TINY.n_frames) and loops.S.dtype == np.float32
    assert loops.x.shape == (6, TINY.n_bins, TINY.n_frames, 1)
    assert loops.y.shape == (6, TINY.n_samples)
    assert loops.names == [f"Loop {c}" for c in "ABCDEF"]
    assert not loops.skipped
    assert "Loop A" in loops.table() and "index" in loops.table()


def test_mixed_folder_loads_the_good_and_reports_the_bad(tmp_path):
    write_loops(tmp_path / "sub" / "deeper", 2)
    sf.write(tmp_path / "Long ドラム.WAV", tone_burst(3 * TINY.n_samples * 6, 48000), 48000, subtype="PCM_24")
    sf.write(tmp_path / "short.flac", np.stack([tone_burst(400, TINY.sr)] * 2, 1), TINY.sr)
    (tmp_path / "zero.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("hello")
    sf.write(tmp_path / "quiet.wav", np.zeros(500, np.float32), TINY.sr)
    (tmp_path / "._Loop A.wav").write_bytes(b"\x00\x05\x16\x07" * 20)
    (tmp_path / "notes.txt").write_text("not audio, ignored")
    loops = load_folder(tmp_path, TINY, progress=False)
    assert loops.names == ["Long ドラム", "short", "sub/deeper/Loop A", "sub/deeper/Loop B"]
    reasons = {s.name: s.reason for s in loops.skipped}
    assert set(reasons) == {"zero", "text", "quiet", "._Loop A"}
    assert "empty" in reasons["zero"] and "silent" in reasons["quiet"] and "macOS" in reasons["._Loop A"]
    notes = {r["name"]: r["notes"] for r in loops.rows()}
    assert "cropped" in notes["Long ドラム"] and "resampled 48000" in notes["Long ドラム"]
    assert "padded" in notes["short"] and "two identical channels: loaded as mono" in notes["short"]
    assert np.all(np.isfinite(loops.S))


def test_order_is_stable_and_case_insensitive(tmp_path):
    for name in ["b.wav", "A.wav", "c.WAV"]:
        sf.write(tmp_path / name, tone_burst(800, TINY.sr), TINY.sr)
    assert [os.path.basename(p) for p in find_audio_files(tmp_path)] == ["A.wav", "b.wav", "c.WAV"]


def test_folder_link_loop_is_walked_once(tmp_path):
    write_loops(tmp_path / "real", 1)
    os.symlink(tmp_path, tmp_path / "real" / "up")
    assert len(find_audio_files(tmp_path)) == 1


@pytest.mark.parametrize(
    "key, expected",
    [(0, 0), (-1, 5), ("Loop C", 2), ("Loop C.wav", 2), ("loop c", 2), ("3", 3), (7, "out of range"), ("Lop Z", "did you mean"), ("zzz", "no loop named")],
)
def test_index_by_name_or_position(tiny_loops, key, expected):
    if isinstance(expected, int):
        assert tiny_loops.index(key) == expected
    else:
        with pytest.raises(UnknownSoundError, match=expected):
            tiny_loops.index(key)


def test_empty_or_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(DataFolderError, match="does not exist"):
        load_folder(tmp_path / "nope", TINY)
    with pytest.raises(DataFolderError, match=f"no usable loop in {tmp_path}.*no audio files"):
        load_folder(tmp_path, TINY)
    (tmp_path / "bad.wav").write_text("x")
    with pytest.raises(DataFolderError, match="skipped bad: not a readable audio file"):
        load_folder(tmp_path, TINY)


def test_cache_gives_the_same_loops_and_notices_changes(tmp_path, monkeypatch):
    from morphlib.data import dataset
    from morphlib.config import AnalysisSettings

    analysed = []
    real = dataset._load_one
    monkeypatch.setattr(dataset, "_load_one", lambda path, settings: analysed.append(os.path.basename(path)) or real(path, settings))
    data, cache = tmp_path / "data", tmp_path / "cache"
    paths = write_loops(data, 3)
    first = load_folder(data, TINY, progress=False, cache=cache)
    assert len(analysed) == 3
    again = load_folder(data, TINY, progress=False, cache=cache)
    np.testing.assert_array_equal(first.S, again.S)
    assert first.rows() == again.rows()
    assert len(analysed) == 3  # nothing analysed anew

    sf.write(paths[1], 0.5 * tone_burst(TINY.n_samples, TINY.sr, freq=900), TINY.sr, subtype="PCM_16")
    changed = load_folder(data, TINY, progress=False, cache=cache)
    assert analysed[3:] == ["Loop B.wav"]
    assert not np.allclose(changed.S[1], first.S[1]) and np.array_equal(changed.S[0], first.S[0])
    exact = load_folder(data, TINY, progress=False, cache=False).S
    np.testing.assert_allclose(changed.S, exact, rtol=2**-11, atol=1e-7)  # float16 in the store

    other = AnalysisSettings(sr=8000, n_fft=256, hop_length=32, n_frames=16)
    assert load_folder(data, other, progress=False, cache=cache).S.shape == (3, 129, 16)
    assert len(list(cache.glob("store-*"))) == 2  # one store per set of settings
