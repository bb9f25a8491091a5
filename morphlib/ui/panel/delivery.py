"""How the panel's messages reach the page: sent inside the handler of a front-end message.

A widget message (a trait change sent to the browser) reaches every front end when the
kernel sends it while it handles a message from that front end — a slider move, a pad
drag, a click, a request of the live player — on the thread that handles it. Google Colab
drops the others: those sent from a background thread (googlecolab/colabtools #3373) or
after the kernel went idle. So the panel renders in the handler of the message that
caused the render and never in a thread of its own. In Colab (ipykernel 6) every handler
runs on the kernel's main thread; JupyterLab 4.6 with ipykernel 7 sends widget messages
over a kernel subshell, whose handlers run on that subshell's thread. A fast drag still
renders only the newest value: Jupyter's widget front ends (Colab's included) keep one
update per widget in flight and send only the newest value once the kernel has handled
the previous one.

This module says whether such a handler is running on the current thread
(:func:`in_handler`) and offers a strict mode (:func:`strict`, or
``MORPHLIB_STRICT_WIDGETS=1`` before a panel is made) in which a widget message sent
outside one raises :class:`~morphlib.errors.WidgetDeliveryError` instead of being lost in
Colab. Inside a kernel the kernel's own handlers count (its ``pre_handler_hook`` and
``post_handler_hook``, which ipykernel 6 and 7 call around every handler, subshells
included); without a kernel, :func:`handling` marks a block as one (what a test's
stand-in for the front end does).
"""

import contextlib
import os
import threading

from ...errors import WidgetDeliveryError

_handling = threading.local()  # .depth: front-end messages being handled on this thread
_watched = set()
_strict = {"on": False, "original": None}


def _depth():
    return getattr(_handling, "depth", 0)


def _enter():
    _handling.depth = _depth() + 1


def _leave():
    _handling.depth = max(0, _depth() - 1)


@contextlib.contextmanager
def handling():
    """Run the block as the handling of one front-end message on this thread.

    The kernel does this itself around each handler once :func:`watch_kernel` has seen it;
    tests use it to stand in for the front end.
    """
    _enter()
    try:
        yield
    finally:
        _leave()


def in_handler():
    """True while the current thread handles a front-end message."""
    return _depth() > 0


def running_kernel():
    """The IPython kernel this process runs, or None (a script, a test)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return getattr(get_ipython(), "kernel", None)


def watch_kernel(kernel=None, *, handling_now=None):
    """Count ``kernel``'s message handlers as handling (idempotent).

    Parameters
    ----------
    kernel : ipykernel.kernelbase.Kernel or None
        Default the running kernel; nothing happens without one.
    handling_now : bool or None
        Whether this thread is running a handler at this moment. Default True: kernel code
        runs only inside a handler (a cell is the handler of an ``execute_request``).
    """
    kernel = kernel or running_kernel()
    if kernel is None or id(kernel) in _watched:
        return kernel
    before, after = kernel.pre_handler_hook, kernel.post_handler_hook

    def pre_handler_hook():
        _enter()
        before()  # ipykernel sets SIGINT's handler here (and only tries, off the main thread)

    def post_handler_hook():
        try:
            after()
        finally:
            _leave()

    kernel.pre_handler_hook, kernel.post_handler_hook = pre_handler_hook, post_handler_hook
    _watched.add(id(kernel))
    if handling_now is None or handling_now:
        _enter()  # the handler running now ends through the wrapped hook
    return kernel


def strict(on=True):
    """Make every widget message sent outside a handler raise ``WidgetDeliveryError``.

    Patches ``ipywidgets.Widget._send``, which every trait update and custom message of
    ipywidgets 7 and 8 (and anywidget) goes through, and ``notify_change`` for a widget
    without a kernel, which ipywidgets 7 does not send at all (so that tests without a
    kernel are as strict as a kernel would be). ``strict(False)`` undoes it.
    """
    import ipywidgets

    if on and not _strict["on"]:
        send, notify = ipywidgets.Widget._send, ipywidgets.Widget.notify_change

        def _send(widget, msg, buffers=None):
            check_delivery(widget, msg)
            return send(widget, msg, buffers)

        def notify_change(widget, change):
            name = change["name"]
            if _without_kernel(widget) and name in widget.keys and widget._should_send_property(name, getattr(widget, name)):
                check_delivery(widget, {"method": "update", "state": {name: None}})
            return notify(widget, change)

        _strict.update(on=True, original=(send, notify))
        ipywidgets.Widget._send, ipywidgets.Widget.notify_change = _send, notify_change
        watch_kernel()
    elif not on and _strict["on"]:
        ipywidgets.Widget._send, ipywidgets.Widget.notify_change = _strict["original"]
        _strict.update(on=False, original=None)


def _without_kernel(widget):
    comm = getattr(widget, "comm", None)
    return comm is None or getattr(comm, "kernel", True) is None


def strict_from_env():
    """Turn on :func:`strict` when ``MORPHLIB_STRICT_WIDGETS`` is set to 1/true/yes/on."""
    if os.environ.get("MORPHLIB_STRICT_WIDGETS", "").strip().lower() in {"1", "true", "yes", "on"}:
        strict()


def check_delivery(widget, msg):
    """Raise ``WidgetDeliveryError`` unless ``msg`` is being sent from inside a handler."""
    if in_handler():
        return
    keys = sorted((msg.get("state") or {}).keys()) if isinstance(msg, dict) else []
    what = f"{msg.get('method', 'a message')} of {', '.join(keys) or 'no state'}" if isinstance(msg, dict) else "a message"
    where = f"from the thread {threading.current_thread().name!r} while it handled no front-end message"
    raise WidgetDeliveryError(
        f"{type(widget).__name__} sent {what} {where}: Google Colab drops such messages. Send it from the "
        "handler of the front-end message that caused it (a control's observer, a click, a custom message)"
    )
