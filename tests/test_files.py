import errno
import os

import numpy as np
import pytest

from morphlib.errors import LinkRefusedError
from morphlib.files import (atomic_write_text, discard, is_full, old_name, part_name, recover_replaced, refuse_links,
                            replace_keeping_old, write_in_place)


def test_write_in_place_keeps_the_file_and_its_inode(tmp_path):
    path = tmp_path / "slot.bin"
    assert write_in_place(path, [np.arange(1000, dtype=np.float32)]) == 4000
    inode = os.stat(path).st_ino
    assert write_in_place(path, [b"abc", np.zeros(2, np.int16)]) == 7
    assert os.stat(path).st_ino == inode  # rewritten, not replaced: nothing for a trash to keep
    assert path.read_bytes() == b"abc\0\0\0\0"


def test_discard_empties_before_removing(tmp_path, monkeypatch):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 10_000)
    sizes = []
    real_remove = os.remove
    monkeypatch.setattr(os, "remove", lambda p: (sizes.append(os.path.getsize(p)), real_remove(p)))
    discard(path)
    assert sizes == [0] and not path.exists()
    discard(path)  # already gone: fine


def test_replace_keeping_old_never_leaves_an_empty_file_and_recovers_after_a_kill(tmp_path, monkeypatch):
    path, tmp = tmp_path / "model.keras", tmp_path / ".model.keras.part.keras"
    path.write_bytes(b"old")
    tmp.write_bytes(b"new")
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (seen.append(path.read_bytes() if path.exists() else None), real_replace(a, b)))
    replace_keeping_old(tmp, path)
    monkeypatch.undo()
    assert b"" not in seen  # the old file was never emptied in place
    assert path.read_bytes() == b"new" and not tmp.exists() and not os.path.exists(old_name(path))
    # a kill after the old file was moved aside, before the new one was renamed in
    os.replace(path, old_name(path))
    tmp.write_bytes(b"newer")
    assert recover_replaced(tmp, path, lambda p: os.fspath(p) != os.fspath(tmp))
    assert path.read_bytes() == b"new" and not os.path.exists(old_name(path))  # the incomplete part was skipped
    os.replace(path, old_name(path))
    assert recover_replaced(tmp, path, lambda p: True)
    assert path.read_bytes() == b"newer"  # the newer, complete part wins over the old file
    assert not os.path.exists(old_name(path))
    tmp.write_bytes(b"half")
    assert not recover_replaced(tmp, path, lambda p: True)  # the file in place is complete: keep it
    assert path.read_bytes() == b"newer"


def test_an_empty_file_left_by_an_older_version_is_recovered_from_its_part(tmp_path):
    path, tmp = tmp_path / "model.keras", tmp_path / ".model.keras.part.keras"
    path.write_bytes(b"")
    tmp.write_bytes(b"complete")
    assert recover_replaced(tmp, path, lambda p: True)
    assert path.read_bytes() == b"complete"


@pytest.fixture
def outside(tmp_path):
    victim = tmp_path / "outside" / "precious.wav"
    victim.parent.mkdir()
    victim.write_bytes(b"the user's work")
    folder = tmp_path / "received"
    folder.mkdir()
    return folder, victim


@pytest.mark.parametrize("write", [
    lambda p, root: write_in_place(p, [b"x"], root=root),
    lambda p, root: atomic_write_text(p, "x", root=root),
    lambda p, root: discard(p, root=root),
])
def test_writes_never_follow_a_link_in_the_folder(outside, write):
    folder, victim = outside
    (folder / "slot-0.bin").symlink_to(victim)
    (folder / ".slot-0.bin.part").symlink_to(victim)
    try:
        write(str(folder / "slot-0.bin"), str(folder))
    except LinkRefusedError as exc:
        assert "slot-0.bin" in str(exc) and "link" in str(exc) and "\n" not in str(exc)
    assert victim.read_bytes() == b"the user's work"


def test_a_linked_subfolder_is_refused_naming_it(outside):
    folder, victim = outside
    (folder / "checkpoint").symlink_to(victim.parent)
    with pytest.raises(LinkRefusedError, match="checkpoint is a link"):
        write_in_place(str(folder / "checkpoint" / "precious.wav"), [b"x"], root=str(folder))
    assert victim.read_bytes() == b"the user's work"
    refuse_links(str(folder / "checkpoint"), root=str(folder / "checkpoint"))  # the root itself may be a link


def test_replace_keeping_old_refuses_a_link_in_place_of_the_old_file(outside):
    folder, victim = outside
    (folder / "model.keras").write_bytes(b"old")
    (folder / ".model.keras.old").symlink_to(victim)
    (folder / ".model.keras.part").write_bytes(b"new")
    with pytest.raises(LinkRefusedError, match=r"\.model\.keras\.old is a link"):
        replace_keeping_old(str(folder / ".model.keras.part"), str(folder / "model.keras"), root=str(folder))
    assert victim.read_bytes() == b"the user's work" and (folder / "model.keras").read_bytes() == b"old"


@pytest.mark.parametrize(
    "exc, full",
    [(OSError(errno.ENOSPC, "No space left on device"), True), (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
     (OSError(errno.EACCES, "Permission denied"), False), (ValueError("no"), False)],
)
def test_is_full(exc, full):
    assert is_full(exc) is full


def test_part_name():
    assert part_name(os.path.join("m", "model.keras"), ".keras") == os.path.join("m", ".model.keras.part.keras")
