"""Stand-ins for a notebook's front end, to drive widgets as a page does.

``FrontEnd`` works in this process: each call is handled as the kernel handles one message
from the page (``morphlib.ui.panel.delivery.handling``), so that strict mode can tell a
message sent in a handler from one sent outside. ``KernelFrontEnd`` talks to a real kernel
through jupyter_client with the messages of the Jupyter widget protocol, and collects what
the kernel sends back.
"""

import contextlib
import os
import time

from morphlib.ui.panel.delivery import handling

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def option_index(widget, label):
    """The index of ``label`` among a selection widget's options (what the page sends)."""
    labels = [o[0] if isinstance(o, (tuple, list)) else str(o) for o in widget.options]
    return labels.index(label)


class FrontEnd:
    """The page, in this process: control moves, clicks and custom messages, each handled as
    the kernel handles a message (ipywidgets 7 and 8 alike)."""

    def run(self, fn, *args, **kwargs):
        """Run ``fn`` as a cell runs: inside the handler of an execute request."""
        with handling():
            return fn(*args, **kwargs)

    def set(self, widget, **state):
        """The page changed ``widget``'s synced traits (a drag, a key press, a pick)."""
        with handling():
            widget.set_state(state)

    def choose(self, widget, label):
        """Pick ``label`` in a Dropdown or ToggleButtons (the page sends its index)."""
        self.set(widget, index=option_index(widget, label))

    def send(self, widget, content, buffers=()):
        """A custom message from the widget's front-end code."""
        with handling():
            widget._handle_custom_msg(content, list(buffers))

    def click(self, button):
        self.send(button, {"event": "click"})


class KernelFrontEnd:
    """A front end of a real kernel: runs cells and sends comm messages, keeping what comes back.

    Parameters
    ----------
    env : dict
        The kernel's environment (added to this process's).
    extensions : list of str
        IPython extensions the kernel loads at start (``--ext``).
    """

    def __init__(self, *, env=None, extensions=(), cwd=REPO):
        from jupyter_client import KernelManager

        self.km = KernelManager(kernel_name="python3")  # this Python's ipykernel
        kernel_env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])),
                      **(env or {})}
        self.km.start_kernel(extra_arguments=[f"--ext={e}" for e in extensions], env=kernel_env, cwd=cwd)
        self.kc = self.km.blocking_client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def close(self):
        with contextlib.suppress(Exception):
            self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def execute(self, code, timeout=300):
        """Run a cell; return (stdout, the iopub messages it caused). Fails on an error."""
        out, messages = [], []

        def keep(msg):
            messages.append(msg)
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=keep, allow_stdin=False)
        if reply["content"]["status"] != "ok":
            raise AssertionError("cell failed: " + code[:200] + "\n" + "\n".join(reply["content"].get("traceback", [])))
        return "".join(out), messages

    def comm_send(self, comm_id, data, timeout=120):
        """Send a comm message as the page does; return the iopub messages its handling caused."""
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.kc.shell_channel.send(msg)
        return self._until_idle(msg["header"]["msg_id"], timeout)

    def update(self, comm_id, **state):
        """A control moved in the page: ``update`` of its synced traits."""
        return self.comm_send(comm_id, {"method": "update", "state": state, "buffer_paths": []})

    def custom(self, comm_id, content):
        return self.comm_send(comm_id, {"method": "custom", "content": content})

    def _until_idle(self, msg_id, timeout):
        messages, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return messages
            messages.append(msg)
        raise AssertionError(f"the kernel did not finish handling {msg_id} within {timeout} s")

    def drain(self, seconds):
        """Every iopub message that arrives within ``seconds`` (late ones, from threads)."""
        messages, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                messages.append(self.kc.get_iopub_msg(timeout=max(0.05, deadline - time.monotonic())))
            except Exception:  # queue.Empty
                break
        return messages


def updates_of(messages, comm_id):
    """The state each ``comm_msg`` update (or echo) to ``comm_id`` carried; a trait sent as a
    binary buffer (audio, a picture) appears with the value ``b"<buffer>"``."""
    found = []
    for m in messages:
        data = m["content"].get("data", {}) if m["msg_type"] == "comm_msg" else {}
        if m["content"].get("comm_id") == comm_id and data.get("method") in ("update", "echo_update"):
            found.append({**data.get("state", {}), **{path[0]: b"<buffer>" for path in data.get("buffer_paths", [])}})
    return found
