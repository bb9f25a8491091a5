import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from morphlib.data import dataset
from morphlib.data.dataset import load_folder
from morphlib.errors import ParameterError, StoreError
from morphlib.data.store import StoredArray

from .conftest import TINY, tone_burst, write_loops

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def store_folder(cache):
    (folder,) = [p for p in os.listdir(cache) if p.startswith("store-")]
    return os.path.join(cache, folder)


def index_of(cache):
    with open(os.path.join(store_folder(cache), "index.json")) as f:
        return json.load(f)


@pytest.fixture
def folder(tmp_path):
    write_loops(tmp_path / "data", 6)
    return tmp_path / "data", tmp_path / "cache"


def new_loops(folder, n, freq=1500.0):
    """``n`` loops unlike those of ``write_loops`` (the store keys loops by content)."""
    import soundfile as sf

    os.makedirs(folder, exist_ok=True)
    for k in range(n):
        sf.write(os.path.join(folder, f"New {k}.wav"), tone_burst(TINY.n_samples, TINY.sr, freq=freq + 300 * k), TINY.sr, subtype="PCM_16")


def exact(data):
    return load_folder(data, TINY, progress=False, cache=False)


def test_a_streamed_set_reads_like_an_array(folder):
    data, cache = folder
    ram = load_folder(data, TINY, progress=False, cache=cache)
    disk = load_folder(data, TINY, progress=False, cache=cache, in_memory=False)
    assert ram.in_memory and not disk.in_memory and isinstance(disk.S, StoredArray)
    assert disk.S.shape == ram.S.shape and disk.y.shape == ram.y.shape and disk.x.shape == ram.x.shape
    assert disk.S.nbytes == ram.S.nbytes and len(disk.S) == 6
    np.testing.assert_array_equal(np.asarray(disk.S), ram.S)
    np.testing.assert_array_equal(disk.S[2], ram.S[2])
    np.testing.assert_array_equal(disk.S[-1], ram.S[-1])
    np.testing.assert_array_equal(disk.S[[4, 1]], ram.S[[4, 1]])
    np.testing.assert_array_equal(disk.S[1:5:2], ram.S[1:5:2])
    np.testing.assert_array_equal(disk.S[3, :10], ram.S[3, :10])
    np.testing.assert_array_equal(disk.x[0], ram.x[0])
    np.testing.assert_array_equal(disk.y[5], ram.y[5])
    with pytest.raises(IndexError, match="6 loops"):
        disk.S[6]


def test_training_streams_the_stored_magnitudes_as_memory_holds_them(folder):
    from morphlib.training.pipeline import training_dataset

    data, cache = folder
    ram = load_folder(data, TINY, progress=False, cache=cache)
    disk = load_folder(data, TINY, progress=False, cache=cache, in_memory=False)
    assert disk.S.read([3, 0], dtype=np.float16).dtype == np.float16  # as stored: the stream converts them
    np.testing.assert_array_equal(disk.S.read([3, 0], dtype=np.float16).astype(np.float32), ram.S[[3, 0]])
    streamed, held = (list(training_dataset(loops.S, batch_size=4, seed=3)) for loops in (disk, ram))
    assert [b.dtype.name for b in streamed] == ["float32", "float32"]
    for a, b in zip(streamed, held, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_float16_keeps_every_magnitude_within_its_rounding(folder):
    data, cache = folder
    stored, ref = load_folder(data, TINY, progress=False, cache=cache).S, exact(data).S
    loud = ref > 1e-4 * ref.max()
    assert np.max(np.abs(stored - ref)[loud] / ref[loud]) <= 2**-11
    np.testing.assert_array_equal(load_folder(data, TINY, progress=False, cache=cache).y, exact(data).y)  # signals: float32


def test_deleted_and_changed_files_drop_out_and_free_their_records(folder):
    data, cache = folder
    load_folder(data, TINY, progress=False, cache=cache)
    assert len(index_of(cache)["entries"]) == 6
    os.remove(data / "Loop C.wav")
    loops = load_folder(data, TINY, progress=False, cache=cache)
    assert "Loop C" not in loops.names and len(index_of(cache)["entries"]) == 5
    new_loops(data / "more", 2)
    bigger = load_folder(data, TINY, progress=False, cache=cache)
    index = index_of(cache)
    assert len(bigger) == 7 and len(index["entries"]) == 7
    assert index["n_slots"] == 7  # C's record was reused
    np.testing.assert_allclose(bigger.S, exact(data).S, rtol=2**-11, atol=1e-7)


def test_a_record_reused_under_a_reader_is_an_error_not_a_misread(folder):
    data, cache = folder
    reader = load_folder(data, TINY, progress=False, cache=cache, in_memory=False)
    os.remove(data / "Loop A.wav")
    load_folder(data, TINY, progress=False, cache=cache)
    new_loops(data / "new", 1)  # takes A's record
    load_folder(data, TINY, progress=False, cache=cache)
    with pytest.raises(StoreError, match="changed by another process"):
        reader.S[0]
    np.testing.assert_array_equal(reader.S[1], load_folder(data, TINY, progress=False, cache=cache).S[0])


@pytest.mark.parametrize(
    "damage, message",
    [
        ({"version": 0}, "store version 0"),
        ({"settings": {"sr": 1}}, "other settings"),
        (None, None),  # records overwritten: each damaged record is analysed anew
    ],
)
def test_another_version_other_settings_or_damage_is_rebuilt_never_misread(folder, capsys, damage, message):
    data, cache = folder
    first = load_folder(data, TINY, progress=False, cache=cache)
    where = store_folder(cache)
    if damage is None:
        with open(os.path.join(where, "records.bin"), "r+b") as f:
            f.write(b"\0" * 64)  # the first record's key and more
    else:
        meta_path = os.path.join(where, "meta.json")
        with open(meta_path) as f:
            meta = json.load(f)
        meta.update(damage)
        with open(meta_path, "w") as f:
            json.dump(meta, f)
    again = load_folder(data, TINY, progress=False, cache=cache)
    np.testing.assert_array_equal(again.S, first.S)
    out = capsys.readouterr().out
    if message:
        assert message in out and "rebuilding" in out and where in out
    else:
        assert "rebuilding" not in out


def test_a_full_disk_is_a_clear_error_and_the_store_stays_usable(folder, monkeypatch):
    data, cache = folder
    monkeypatch.setattr(dataset, "WRITE_EVERY", 2)
    real, calls = os.pwrite, []

    def full_after_three(fd, data_, offset):
        calls.append(offset)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data_, offset)

    monkeypatch.setattr(os, "pwrite", full_after_three)
    with pytest.raises(StoreError, match="is full: free some space or pass another cache folder") as err:
        load_folder(data, TINY, progress=False, cache=cache)
    assert store_folder(cache) in str(err.value)
    assert len(index_of(cache)["entries"]) == 2  # the first group, whole
    monkeypatch.setattr(os, "pwrite", real)
    loops = load_folder(data, TINY, progress=False, cache=cache)
    np.testing.assert_allclose(loops.S, exact(data).S, rtol=2**-11, atol=1e-7)


KILLED = """
import os, signal, sys
sys.path.insert(0, {root!r})
from morphlib.data import dataset
from morphlib.data import store
from morphlib.config import AnalysisSettings
dataset.WRITE_EVERY = 1
real, n = store._pwrite_all, [0]
def dies_on_the_third(fd, data, offset):
    n[0] += 1
    if n[0] == 3:
        os.pwrite(fd, data[: len(data) // 2], offset)  # half a record, then killed
        os.kill(os.getpid(), signal.SIGKILL)
    real(fd, data, offset)
store._pwrite_all = dies_on_the_third
dataset.load_folder(sys.argv[1], AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=16), progress=False, cache=sys.argv[2])
"""


def test_a_kill_mid_write_leaves_no_half_entry(folder):
    data, cache = folder
    run = subprocess.run([sys.executable, "-c", KILLED.format(root=ROOT), str(data), str(cache)], capture_output=True)
    assert run.returncode == -9
    assert len(index_of(cache)["entries"]) == 2  # the two whole records; the half one is named nowhere
    loops = load_folder(data, TINY, progress=False, cache=cache)
    np.testing.assert_allclose(loops.S, exact(data).S, rtol=2**-11, atol=1e-7)
    assert len(index_of(cache)["entries"]) == 6


def test_several_processes_load_and_write_the_same_store(folder):
    data, cache = folder
    new_loops(data / "b", 5)
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {ROOT!r})
        from morphlib.data.dataset import load_folder
        from morphlib.config import AnalysisSettings
        loops = load_folder(sys.argv[1], AnalysisSettings(sr=8000, n_fft=256, hop_length=64, n_frames=16), progress=False, cache=sys.argv[2], in_memory=False)
        print(len(loops), loops.in_memory, float(sum(loops.S[i].sum() for i in range(len(loops)))))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(data), str(cache)], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1] and outs[0][:2] == ["11", "False"]  # both read the store (none fell back to memory)
    assert len(index_of(cache)["entries"]) == 11
    np.testing.assert_allclose(load_folder(data, TINY, progress=False, cache=cache).S, exact(data).S, rtol=2**-11, atol=1e-7)


def test_parallel_analysis_gives_the_same_loops_and_skips(folder, monkeypatch):
    data, cache = folder
    (data / "broken.wav").write_bytes(b"RIFF not really")
    monkeypatch.setattr(dataset, "PARALLEL_ABOVE", 2)
    parallel = load_folder(data, TINY, progress=False, cache=cache, workers=2)
    serial = load_folder(data, TINY, progress=False, cache=False)
    assert parallel.names == serial.names and [s.name for s in parallel.skipped] == ["broken"]
    np.testing.assert_allclose(parallel.S, serial.S, rtol=2**-11, atol=1e-7)


def test_the_first_file_that_loads_is_analysed_here_before_the_workers_start(folder, monkeypatch):
    # so that numba compiles and caches librosa's code once (numba issue 10128)
    data, _ = folder
    (data / "0 broken.wav").write_bytes(b"RIFF not really")  # sorted first: skipped, so the next one is tried here too
    monkeypatch.setattr(dataset, "PARALLEL_ABOVE", 2)
    given = []
    monkeypatch.setattr(dataset, "_analysed_in_workers", lambda paths, settings, *a: given.extend(paths) or map(dataset._analyse_one, paths, [settings] * len(paths)))
    loops = load_folder(data, TINY, progress=False, cache=False, workers=2)
    files = sorted(dataset.find_audio_files(str(data)))
    assert os.path.basename(files[0]) == "0 broken.wav" and given == files[2:]
    assert [s.name for s in loops.skipped] == ["0 broken"] and len(loops) == len(files) - 1


def test_training_streamed_from_the_store_follows_training_from_memory(folder, tmp_path):
    from morphlib.morphing.evaluation import evaluate
    from morphlib.training.trainer import train

    data, cache = folder
    ram = load_folder(data, TINY, progress=False, cache=cache)
    disk = load_folder(data, TINY, progress=False, cache=cache, in_memory=False)
    runs = [train(s, str(tmp_path / name), epochs=3, preset="tiny", progress=False, verbose=False, seed=3) for s, name in ((ram, "ram"), (disk, "disk"))]
    np.testing.assert_allclose([r["loss"] for r in runs[0].history], [r["loss"] for r in runs[1].history], rtol=1e-5)
    a, b = evaluate(runs[0], ram, audio=False, progress=False), evaluate(runs[1], disk, audio=False, progress=False)
    assert a.mse == pytest.approx(b.mse, rel=1e-5)
    np.testing.assert_allclose(runs[1].encode(disk.S), runs[1].encode(ram.S), rtol=1e-5, atol=1e-6)


def test_a_big_set_is_not_held_in_memory_unless_asked(folder, monkeypatch):
    data, cache = folder
    monkeypatch.setenv("MORPHLIB_IN_MEMORY_MB", "0.01")
    assert not load_folder(data, TINY, progress=False, cache=cache).in_memory
    assert load_folder(data, TINY, progress=False, cache=cache, in_memory=True).in_memory
    monkeypatch.setenv("MORPHLIB_IN_MEMORY_MB", "lots")
    with pytest.raises(ParameterError, match="'lots'"):
        load_folder(data, TINY, progress=False, cache=cache)


@pytest.mark.parametrize("page, expected", [(1, ["Loop A", "Loop B"]), (3, ["Loop E", "Loop F"]), (4, None), (0, None)])
def test_the_loop_table_pages(folder, page, expected):
    data, cache = folder
    loops = load_folder(data, TINY, progress=False, cache=cache, in_memory=False)
    if expected is None:
        with pytest.raises(ParameterError, match=f"page {page} does not exist: the table has pages 1 to 3"):
            loops.table(page, per_page=2)
        return
    text = loops.table(page, per_page=2)
    assert text.startswith(f"page {page} of 3") and all(name in text for name in expected)
    assert sum(f"Loop {c}" in text for c in "ABCDEF") == 2


def test_the_loop_table_widget_searches_and_turns_pages(folder):
    from morphlib.ui.notebook import loop_table
    from tests.frontend import FrontEnd

    data, cache, page = *folder, FrontEnd()  # strict delivery: every change comes from the page
    box = page.run(loop_table, load_folder(data, TINY, progress=False, cache=cache), per_page=4)
    assert box.where.value == "page 1 of 2" and "Loop D" in box.rows.value and "Loop E" not in box.rows.value
    page.click(box.forward)
    assert box.where.value == "page 2 of 2" and "Loop E" in box.rows.value
    page.set(box.search, value="loop f")
    assert box.where.value == "page 1 of 1" and "Loop F" in box.rows.value and "Loop A" not in box.rows.value


def _slot_of(cache, name_part):
    index = index_of(cache)
    key = next(v[2] for p, v in index["files"].items() if name_part in p)
    return index["entries"][key]["slot"]


@pytest.mark.parametrize("part", ["S", "y"])
def test_a_damaged_record_body_is_an_error_then_analysed_anew_never_misread(folder, part):
    from morphlib.data.store import HEAD_BYTES

    data, cache = folder
    streamed = load_folder(data, TINY, progress=False, cache=cache, in_memory=False)
    where = store_folder(cache)
    record = streamed.S.store.record
    slot = _slot_of(cache, "Loop C")
    i = streamed.names.index("Loop C")
    before = np.asarray(streamed.S[i]), np.asarray(streamed.y[i])
    offset = slot * record + HEAD_BYTES + (100 if part == "S" else 2 * TINY.n_bins * TINY.n_frames + 100)
    with open(os.path.join(where, "records.bin"), "r+b") as f:  # one flipped byte: the key still matches
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(StoreError, match="is damaged"):
        (streamed.S if part == "S" else streamed.y)[i]
    again = load_folder(data, TINY, progress=False, cache=cache, in_memory=False)
    np.testing.assert_array_equal(np.asarray(again.S[i]), before[0])
    np.testing.assert_array_equal(np.asarray(again.y[i]), before[1])


def test_each_record_is_read_in_one_read(folder, monkeypatch):
    import morphlib.data.store as store

    data, cache = folder
    streamed = load_folder(data, TINY, progress=False, cache=cache, in_memory=False)
    calls = []
    real = os.pread
    monkeypatch.setattr(store.os, "pread", lambda *a: (calls.append(a[1:]), real(*a))[1])
    streamed.S[2]
    streamed.y[3]
    assert len(calls) == 2


def test_the_store_writes_through_no_link_and_empties_what_it_removes(folder, tmp_path, monkeypatch):
    from morphlib.errors import LinkRefusedError

    data, cache = folder
    load_folder(data, TINY, progress=False, cache=cache)
    where = store_folder(cache)
    victim = tmp_path / "precious.bin"
    victim.write_bytes(b"the user's work")
    records = os.path.join(where, "records.bin")
    os.replace(records, tmp_path / "old-records.bin")
    os.symlink(victim, records)
    new_loops(data / "new", 1)
    with pytest.raises(LinkRefusedError, match="records.bin is a link"):
        load_folder(data, TINY, progress=False, cache=cache)
    assert victim.read_bytes() == b"the user's work"
    os.remove(records)
    os.replace(tmp_path / "old-records.bin", records)
    sizes = []
    real_remove = os.remove
    monkeypatch.setattr(os, "remove", lambda p: (sizes.append(os.path.getsize(p)), real_remove(p)))
    meta_path = os.path.join(where, "meta.json")
    with open(meta_path) as f:
        meta = json.load(f)
    with open(meta_path, "w") as f:
        json.dump({**meta, "version": 0}, f)
    load_folder(data, TINY, progress=False, cache=cache)  # another version: rebuilt
    assert sizes and set(sizes) == {0}  # the old index and records were emptied before removal
