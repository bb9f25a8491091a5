import errno
import os

import numpy as np
import pytest

from morphlib.files import discard, is_full, part_name, recover_replaced, replace_emptying, write_in_place


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


def test_replace_emptying_and_recovery_after_a_kill_between_its_steps(tmp_path):
    path, tmp = tmp_path / "model.keras", tmp_path / ".model.keras.part.keras"
    path.write_bytes(b"old")
    tmp.write_bytes(b"new")
    replace_emptying(tmp, path)
    assert path.read_bytes() == b"new" and not tmp.exists()
    # a kill after the old file was emptied, before the rename
    tmp.write_bytes(b"newer")
    path.write_bytes(b"")
    assert not recover_replaced(tmp, path, lambda p: False)  # an incomplete part file is never used
    assert recover_replaced(tmp, path, lambda p: True)
    assert path.read_bytes() == b"newer"
    tmp.write_bytes(b"half")
    assert not recover_replaced(tmp, path, lambda p: True)  # the file in place is complete: keep it
    assert path.read_bytes() == b"newer"


@pytest.mark.parametrize(
    "exc, full",
    [(OSError(errno.ENOSPC, "No space left on device"), True), (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
     (OSError(errno.EACCES, "Permission denied"), False), (ValueError("no"), False)],
)
def test_is_full(exc, full):
    assert is_full(exc) is full


def test_part_name():
    assert part_name(os.path.join("m", "model.keras"), ".keras") == os.path.join("m", ".model.keras.part.keras")
