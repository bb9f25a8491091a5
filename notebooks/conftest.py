"""Check chosen notebook cells against expected text kept in the cell's metadata.

The notebooks are committed without outputs, so nbval has no reference to compare.
A cell whose metadata holds ``"morphlib": {"expect": {"fast": TEXT, "full": TEXT}}``
gets TEXT as its reference output (for the current MORPHLIB_FAST mode) and is checked,
also under ``--nbval-lax``.
"""

import os

import nbformat


def _mode():
    return "fast" if os.environ.get("MORPHLIB_FAST", "").lower() in {"1", "true", "yes", "on"} else "full"


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        cell = getattr(item, "cell", None)
        expect = (cell or {}).get("metadata", {}).get("morphlib", {}).get("expect", {}) if cell else {}
        text = expect.get(_mode())
        if text is None:
            continue
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        cell.execution_count = 1
        item.options["check"] = True
