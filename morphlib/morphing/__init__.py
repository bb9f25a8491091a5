"""Morphing: morphs between two loops or on the XY pad, sweeps over time, and evaluation of
reconstructions and mid-morphs."""

import importlib

_MODULES = ('evaluation', 'morphs', 'sweeps')


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_MODULES])
