"""Writing files that a kill cannot leave half-written, and that leave nothing in a trash.

On Google Drive (as Colab mounts it) a deleted or replaced file moves to Drive's trash and
keeps counting against the quota. So a file that morphlib must delete is emptied first
(:func:`discard`), and files that are rewritten again and again are rewritten in place
(:func:`write_in_place`), whose old content then takes no space anywhere.

Folders that morphlib writes into may come from someone else (a model folder unpacked
from a zip, a synced Drive folder). A link in one of them could send a write anywhere, so
every writer here opens its file without following a link (``O_NOFOLLOW``) and checks
the folders between the root it was given and the file: a link is refused with
:class:`~morphlib.errors.LinkRefusedError` naming it, and nothing is written.
"""

import errno
import os
import stat

from .errors import LinkRefusedError

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


def old_name(path):
    """The name the file at ``path`` is moved to while a new one takes its place: ``.NAME.old``."""
    folder, base = os.path.split(os.fspath(path))
    return os.path.join(folder, f".{base}.old")


def refuse_links(path, *, root=None):
    """Raise LinkRefusedError when ``path`` or a folder between ``root`` and it is a link.

    Parameters
    ----------
    path : str or os.PathLike
        A file to be written, removed or renamed.
    root : str or os.PathLike or None
        The folder the caller was given (a model folder, a store, an export folder): it
        may itself be a link (the user's choice); everything below it may not. Default:
        the folder holding ``path``.
    """
    path = os.path.abspath(os.fspath(path))
    root = os.path.abspath(os.fspath(root)) if root is not None else os.path.dirname(path)
    rel = os.path.relpath(path, root)
    if rel.startswith(os.pardir):
        raise LinkRefusedError(path, f"lies outside {root}")
    here = root
    for part in ([] if rel == os.curdir else rel.split(os.sep)):
        here = os.path.join(here, part)
        try:
            if stat.S_ISLNK(os.lstat(here).st_mode):
                raise LinkRefusedError(here, f"is a link (to {os.readlink(here)})")
        except FileNotFoundError:
            return


def open_for_writing(path, flags, *, root=None, mode=0o644):
    """``os.open(path, flags)`` that follows no link (see :func:`refuse_links`); returns the fd."""
    refuse_links(path, root=root)
    try:
        return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link put in place after the check
            raise LinkRefusedError(path, "is a link") from None
        raise


def _write_all(fd, chunks):
    n = 0
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        while view:
            k = os.write(fd, view)
            view, n = view[k:], n + k
    return n


def atomic_write_text(path, text, *, root=None):
    """Write ``text`` to ``path`` (UTF-8) through a temporary file and a rename.

    Returns
    -------
    n_bytes : int
        Bytes written.
    """
    return atomic_write_bytes(path, text.encode("utf-8"), root=root)


def atomic_write_bytes(path, data, *, root=None):
    """Write ``data`` to ``path`` through a temporary file and a rename; returns its length."""
    tmp = part_name(path)
    fd = open_for_writing(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, root=root)
    try:
        _write_all(fd, [data])
        os.fsync(fd)
    finally:
        os.close(fd)
    refuse_links(path, root=root)
    os.replace(tmp, path)  # a rename replaces a link itself, never what it points to
    return len(data)


def write_in_place(path, chunks, *, root=None):
    """Overwrite ``path`` (same file, no new one) with the byte strings or arrays in ``chunks``.

    Not atomic: a reader must be able to tell a torn file (morphlib's checkpoints keep a
    checksum beside it).

    Returns
    -------
    n_bytes : int
    """
    fd = open_for_writing(path, os.O_WRONLY | os.O_CREAT, root=root)
    try:
        n = _write_all(fd, chunks)
        os.ftruncate(fd, n)
        os.fsync(fd)
    finally:
        os.close(fd)
    return n


def discard(path, *, root=None):
    """Delete a file, emptying it first so that no trash keeps its bytes.

    A missing file is fine. A link is removed itself (what it points to is never emptied).
    """
    path = os.fspath(path)
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            refuse_links(os.path.dirname(path) or os.curdir, root=root)
            os.remove(path)
            return
    except FileNotFoundError:
        return
    try:
        fd = open_for_writing(path, os.O_WRONLY, root=root)
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)
    except FileNotFoundError:
        return
    except LinkRefusedError:
        raise
    except OSError:
        pass  # unreadable: remove it all the same
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def replace_keeping_old(tmp, path, *, root=None):
    """Rename the complete file ``tmp`` over ``path``, atomically and leaving no trash.

    The old ``path`` is first moved aside (:func:`old_name`), the new one renamed in, and
    only then is the old one emptied and removed (:func:`discard`). At no moment is
    ``path`` an empty or half-written file; a kill between the steps leaves complete
    files that :func:`recover_replaced` puts back in order.
    """
    old = old_name(path)
    for p in (tmp, path, old):
        refuse_links(p, root=root)
    if os.path.exists(path):
        os.replace(path, old)
    os.replace(tmp, path)
    discard(old, root=root)


def recover_replaced(tmp, path, is_complete, *, root=None):
    """Finish a ``replace_keeping_old(tmp, path)`` that a kill interrupted.

    When ``path`` is missing or empty (an empty one was left by morphlib before 0.2,
    which emptied it before the rename), the complete ``tmp`` takes its place, else the
    complete old file moved aside. The old file is dropped once ``path`` is complete.
    Returns True when a file was put in place.
    """
    old = old_name(path)
    recovered = False
    if not (os.path.exists(path) and os.path.getsize(path) > 0):
        for candidate in (tmp, old):
            if os.path.exists(candidate) and is_complete(candidate):
                refuse_links(candidate, root=root)
                refuse_links(path, root=root)
                os.replace(candidate, path)
                recovered = True
                break
    if os.path.exists(path) and os.path.getsize(path) > 0:
        discard(old, root=root)
    return recovered
