"""A model folder held by the run that writes it, so that two runs never silently share one.

Two Colab tabs, or a laptop and Colab on one Drive, can start ``train`` into the same
folder; both would run to the end and the folder would hold whichever wrote last. So a run
that writes a model folder first takes its lease, ``lease.json``: which machine, which
process, since when, and how long it may stay silent. A second run finds it and stops with
one line naming the first.

The holder's heartbeat is its newest checkpoint (written every ``checkpoint_every``
seconds anyway), so the lease itself is written once per run and removed at the end. A
lease whose holder has written nothing for two checkpoint intervals (``stale_after``),
or whose process is gone on this machine, was left by a run that died: it is taken over,
saying so.
"""

import json
import os
import socket
import time
import uuid

from ..errors import ModelFolderError
from ..files import atomic_write_text, discard, open_for_writing
from ..model.folder import read_state
from ..progress import format_duration

LEASE = "lease.json"


class FolderLease:
    """Hold ``model_dir`` while a run writes it (a context manager).

    Parameters
    ----------
    model_dir : str or os.PathLike
    stale_after : float > 0
        Seconds without a checkpoint after which this run counts as dead to others:
        two checkpoint intervals.
    say : callable
        Told when a dead run's lease is taken over.
    """

    def __init__(self, model_dir, *, stale_after, say=print):
        self.model_dir = os.fspath(model_dir)
        self.path = os.path.join(self.model_dir, LEASE)
        self.stale_after = float(stale_after)
        self.say = say
        self.record = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time(),
                       "stale_after": self.stale_after, "token": uuid.uuid4().hex}

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def acquire(self):
        """Take the lease, or raise ModelFolderError naming the run that holds it."""
        os.makedirs(self.model_dir, exist_ok=True)
        text = json.dumps(self.record)
        try:
            fd = open_for_writing(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, root=self.model_dir)
        except FileExistsError:
            held = self._held()
            if held is not None:
                why = self._dead(held)
                if why is None:
                    raise ModelFolderError(self._refusal(held)) from None
                self.say(f"{self.model_dir}: {why}; taking the folder over")
            atomic_write_text(self.path, text, root=self.model_dir)
            return
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)

    def release(self):
        """Give the lease back (only this run's own: one taken over by another run stays)."""
        held = self._held()
        if held is not None and held.get("token") == self.record["token"]:
            discard(self.path, root=self.model_dir)

    def _held(self):
        """The lease on disk, or None when there is none; an unreadable one is anonymous."""
        try:
            with open(self.path, encoding="utf-8") as f:
                held = json.load(f)
            return held if isinstance(held, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def _dead(self, held):
        """Why the holder of ``held`` counts as dead, or None while it may be alive."""
        if held.get("host") == self.record["host"] and isinstance(held.get("pid"), int):
            if held["pid"] == self.record["pid"]:
                return "this process held it already"
            if not _alive(held["pid"]):
                return f"the run that held it (process {held['pid']} on this machine) has ended without giving it back"
        silent = time.time() - self._heartbeat(held)
        limit = float(held.get("stale_after") or self.stale_after)
        if silent > limit:
            return (f"the run that held it ({_who(held)}) has written no checkpoint for {format_duration(silent)}, "
                    f"more than two checkpoint intervals ({format_duration(limit)})")
        return None

    def _heartbeat(self, held):
        """When the holder last showed life: its lease's start, or the folder's newest checkpoint."""
        beats = [float(held.get("since") or 0.0)]
        try:
            state = read_state(self.model_dir)
        except ModelFolderError:
            state = None
        if state and state.get("saved_at"):
            beats.append(float(state["saved_at"]))
        if not held:  # unreadable: its file's time is all there is
            beats.append(os.path.getmtime(self.path))
        return max(beats)

    def _refusal(self, held):
        since = held.get("since")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "an unknown time"
        return (f"{self.model_dir} is being written by another run ({_who(held)}, since {when}): wait for it to end, "
                f"or train into another folder (a run that died is taken over {format_duration(float(held.get('stale_after') or self.stale_after))} "
                f"after its last checkpoint)")


def _who(held):
    return f"host {held.get('host', '?')}, process {held.get('pid', '?')}"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
