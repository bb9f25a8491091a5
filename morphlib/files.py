"""Writing files that a kill cannot leave half-written, and that leave nothing in a trash.

On Google Drive (as Colab mounts it) a deleted or replaced file moves to Drive's trash and
keeps counting against the quota. So a file that morphlib must delete is emptied first
(:func:`discard`), and files that are rewritten again and again are rewritten in place
(:func:`write_in_place`), whose old content then takes no space anywhere.
"""

import errno
import os

#: Errors that mean the disk or the user's quota is full.
FULL_ERRNOS = frozenset(e for e in (getattr(errno, "ENOSPC", None), getattr(errno, "EDQUOT", None)) if e is not None)


#: Errors that mean the folder's file system went away: Colab's Drive mount drops now and
#: then ("Transport endpoint is not connected", colabtools #3441, #5877), or answers EIO.
UNREACHABLE_ERRNOS = frozenset(getattr(errno, name) for name in ("ENOTCONN", "EIO", "ESTALE") if hasattr(errno, name))


def is_full(exc):
    """Whether ``exc`` says the disk (or a quota) is full."""
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


def is_unreachable(exc, folder=None):
    """Whether ``exc`` says the file system of ``folder`` cannot be reached (a dropped mount);
    a missing file counts when ``folder`` itself has gone (an unmounted Drive)."""
    if not isinstance(exc, OSError):
        return False
    if exc.errno in UNREACHABLE_ERRNOS:
        return True
    return exc.errno == errno.ENOENT and folder is not None and not os.path.isdir(folder)


def part_name(path, suffix=""):
    """The temporary name ``path`` is written under before it is renamed: ``.NAME.partSUFFIX``."""
    folder, base = os.path.split(os.fspath(path))
    return os.path.join(folder, f".{base}.part{suffix}")


def atomic_write_text(path, text):
    """Write ``text`` to ``path`` through a temporary file and a rename.

    Returns
    -------
    n_bytes : int
        Bytes written.
    """
    tmp = part_name(path)
    data = text.encode("utf-8")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return len(data)


def write_in_place(path, chunks):
    """Overwrite ``path`` (same file, no new one) with the byte strings or arrays in ``chunks``.

    Not atomic: a reader must be able to tell a torn file (morphlib's checkpoints keep a
    checksum beside it).

    Returns
    -------
    n_bytes : int
    """
    n = 0
    with open(path, "r+b" if os.path.exists(path) else "wb") as f:
        for chunk in chunks:
            view = memoryview(chunk).cast("B")
            f.write(view)
            n += view.nbytes
        f.truncate()
        f.flush()
        os.fsync(f.fileno())
    return n


def discard(path):
    """Delete a file this process wrote, emptying it first so that no trash keeps its bytes.

    A missing file is fine.
    """
    try:
        with open(path, "r+b") as f:
            f.truncate(0)
    except FileNotFoundError:
        return
    except OSError:
        pass  # unreadable: remove it all the same
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def replace_emptying(tmp, path):
    """Rename ``tmp`` over ``path``, emptying the old ``path`` first (see :func:`discard`).

    A kill between the two steps leaves ``path`` empty and ``tmp`` complete; the reader of
    ``path`` recovers with :func:`recover_replaced`.
    """
    if os.path.exists(path):
        with open(path, "r+b") as f:
            f.truncate(0)
    os.replace(tmp, path)


def recover_replaced(tmp, path, is_complete):
    """Finish a ``replace_emptying(tmp, path)`` that a kill interrupted.

    When ``path`` is missing or empty and ``tmp`` passes ``is_complete``, ``tmp`` takes
    its place. Returns True when it did.
    """
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return False
    if os.path.exists(tmp) and is_complete(tmp):
        os.replace(tmp, path)
        return True
    return False
