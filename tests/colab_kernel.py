"""An IPython extension that makes a kernel deliver widget messages the way Google Colab does.

Colab's front end never shows a widget update that the kernel sent from a background thread
(googlecolab/colabtools #3373, open since 2023): the new state appears only when a later
cell sends it. Since every comm message of a kernel carries the header of the front-end
message being handled as its parent, a message sent from another thread, or after the
kernel finished handling and went idle, belongs to no request the front end is waiting on.
This extension makes a local kernel (ipykernel 6 or 7) behave so: it silently drops every
comm message (``comm_open``, ``comm_msg``, ``comm_close``) sent from a thread other than
the main one, or sent while the kernel handles no front-end message. Tests then run the
morph panel in a real front end against it, where JupyterLab and the classic Notebook
would deliver such messages and hide the fault.

Switched on by ``MORPHLIB_COLAB_KERNEL=1`` in the kernel's environment, and loaded as an
extension (``ipython_kernel_config.py``: ``c.IPKernelApp.extensions = ["tests.colab_kernel"]``,
with the checkout on ``PYTHONPATH``). Each dropped message is appended as one JSON line to
``$MORPHLIB_COLAB_DROPS`` when that is set, so that a test can say what was lost.

Deliberately independent of morphlib: it judges morphlib from outside.
"""

import json
import os
import threading

COMM_MESSAGES = {"comm_open", "comm_msg", "comm_close"}


def enabled():
    return os.environ.get("MORPHLIB_COLAB_KERNEL", "").strip().lower() in {"1", "true", "yes", "on"}


class ColabDelivery:
    """Wraps one kernel: counts its handlers and drops comm messages sent outside them."""

    def __init__(self, kernel, log_path=None):
        self.kernel = kernel
        self.log_path = log_path
        self.depth = 0
        self.dropped = 0
        self._hook(kernel)

    def _hook(self, kernel):
        pre, post, send = kernel.pre_handler_hook, kernel.post_handler_hook, kernel.session.send

        def pre_handler_hook():
            if threading.current_thread() is threading.main_thread():
                self.depth += 1
            pre()

        def post_handler_hook():
            try:
                post()
            finally:
                if threading.current_thread() is threading.main_thread():
                    self.depth = max(0, self.depth - 1)

        def session_send(stream, msg_or_type, content=None, *args, **kwargs):
            msg_type = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get("header", {}).get("msg_type")
            if msg_type in COMM_MESSAGES and not self.delivers():
                self._drop(msg_type, msg_or_type if content is None else content)
                return None
            return send(stream, msg_or_type, content, *args, **kwargs)

        kernel.pre_handler_hook, kernel.post_handler_hook = pre_handler_hook, post_handler_hook
        kernel.session.send = session_send

    def delivers(self):
        """What Colab shows: messages from the main thread while a front-end message is handled."""
        return threading.current_thread() is threading.main_thread() and self.depth > 0

    def _drop(self, msg_type, content):
        self.dropped += 1
        if not self.log_path:
            return
        data = content.get("data", {}) if isinstance(content, dict) else {}
        state = data.get("state") if isinstance(data, dict) else None
        record = {
            "msg_type": msg_type,
            "thread": threading.current_thread().name,
            "handling": self.depth > 0,
            "method": data.get("method") if isinstance(data, dict) else None,
            "keys": sorted(state) if isinstance(state, dict) else None,
        }
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def load_ipython_extension(ipython):
    if os.environ.get("MORPHLIB_FAKE_COLAB") == "1":
        import google.colab  # noqa: F401  (tests/fake_colab; Colab's own kernel starts with it imported)
    kernel = getattr(ipython, "kernel", None)
    if not enabled() or kernel is None or getattr(kernel, "_colab_delivery", None) is not None:
        return
    # Loaded while the kernel starts, outside any handler: the count starts at zero.
    kernel._colab_delivery = ColabDelivery(kernel, os.environ.get("MORPHLIB_COLAB_DROPS"))
