"""Latest value wins: render only the newest request, in a background thread.

A slider dragged across its range sends dozens of values a second; rendering each in turn
would queue stale work and block the kernel. :class:`LatestWins` keeps only the newest
request while a render runs, so a fast drag costs one render per render time, the
renders always catch up with the hand, and the kernel stays free to take new values.
"""

import threading


class LatestWins:
    """Calls ``render(state)`` in a background thread, always for the newest ``state``.

    Parameters
    ----------
    render : callable
        ``render(state)``; what it raises is kept (``error``) and re-raised by ``wait``.
    on_error : callable or None
        ``on_error(exc)``, called in the thread when a render fails (to show it).

    Attributes
    ----------
    renders : int
        Renders done so far.
    """

    def __init__(self, render, *, on_error=None):
        self._render = render
        self._on_error = on_error
        self._cv = threading.Condition()
        self._pending = None
        self._requested = self._done = 0
        self._thread = None
        self.renders = 0
        self.error = None

    def request(self, state):
        """Ask for ``state`` to be rendered; a request not yet started is replaced."""
        with self._cv:
            self._pending = state
            self._requested += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="morphlib-render", daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def _loop(self):
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._pending is not None)
                state, self._pending, ticket = self._pending, None, self._requested
            try:
                self._render(state)
                self.error = None
            except Exception as exc:  # noqa: BLE001  (kept and re-raised by wait)
                self.error = exc
                if self._on_error is not None:
                    self._on_error(exc)
            with self._cv:
                self.renders += 1
                self._done = ticket
                self._cv.notify_all()

    def wait(self, timeout=None):
        """Block until the newest request is rendered; re-raise a render's error.

        Returns
        -------
        done : bool
            False when ``timeout`` (seconds) ran out first.
        """
        with self._cv:
            done = self._cv.wait_for(lambda: self._done >= self._requested, timeout)
        if self.error is not None:
            raise self.error
        return done
