"""Strict widget delivery (morphlib.ui.panel.delivery): a widget message sent where Colab would
drop it raises; one sent while a front-end message is handled on that thread goes out."""

import threading

import pytest

pytest.importorskip("ipywidgets")

from morphlib.errors import WidgetDeliveryError  # noqa: E402
from morphlib.ui.panel import delivery  # noqa: E402


@pytest.fixture
def slider():
    import ipywidgets

    with delivery.handling():  # made in a cell, as a user makes it
        return ipywidgets.FloatSlider()


def _in_thread(fn):
    errors = []

    def run():
        try:
            fn()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=run, name="render-thread")
    thread.start()
    thread.join()
    return errors


@pytest.mark.parametrize(
    "where, raises",
    [
        ("in a handler", None),
        ("outside any handler", "FloatSlider sent update of value from the thread 'MainThread' while it handled no front-end message"),
        ("in a thread started by a handler", "FloatSlider sent update of value from the thread 'render-thread'"),
    ],
)
def test_strict_mode_allows_only_messages_sent_in_a_handler(slider, where, raises):
    delivery.strict()
    set_value = lambda: setattr(slider, "value", slider.value + 1)  # noqa: E731
    if where == "in a handler":
        with delivery.handling():
            set_value()
        return
    if where == "outside any handler":
        with pytest.raises(WidgetDeliveryError, match=raises):
            set_value()
        return
    with delivery.handling():
        errors = _in_thread(set_value)
    assert len(errors) == 1 and isinstance(errors[0], WidgetDeliveryError) and raises in str(errors[0])


def test_custom_messages_are_checked_too(slider):
    delivery.strict()
    with pytest.raises(WidgetDeliveryError, match="FloatSlider sent custom"):
        slider.send({"type": "hello"})


def test_handling_counts_per_thread_and_nests():
    assert not delivery.in_handler()
    with delivery.handling():
        with delivery.handling():
            assert delivery.in_handler()
        assert delivery.in_handler() and _in_thread(lambda: _assert(not delivery.in_handler())) == []
    assert not delivery.in_handler()


def _assert(condition):
    assert condition


class FakeKernel:
    """The two hooks ipykernel 6 and 7 call around every message handler."""

    def __init__(self):
        self.calls = []

    def pre_handler_hook(self):
        self.calls.append("pre")

    def post_handler_hook(self):
        self.calls.append("post")


def test_a_watched_kernels_handlers_count_as_handling_on_their_own_thread():
    kernel = FakeKernel()
    delivery.watch_kernel(kernel, handling_now=False)
    assert delivery.watch_kernel(kernel) is kernel  # watched once
    kernel.pre_handler_hook()
    assert delivery.in_handler() and _in_thread(lambda: _assert(not delivery.in_handler())) == []
    kernel.post_handler_hook()
    assert not delivery.in_handler() and kernel.calls == ["pre", "post"]

    def subshell():  # a subshell's handler runs on its own thread (ipykernel 7)
        kernel.pre_handler_hook()
        assert delivery.in_handler()
        kernel.post_handler_hook()
        assert not delivery.in_handler()

    assert _in_thread(subshell) == [] and not delivery.in_handler()


def test_watching_from_inside_a_cell_counts_the_cell_running_now():
    kernel = FakeKernel()
    delivery.watch_kernel(kernel)  # called by a cell: the cell is a handler that ends through the hook
    assert delivery.in_handler()
    kernel.post_handler_hook()
    assert not delivery.in_handler()
