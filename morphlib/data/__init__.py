"""Data: a folder of loops made ready for a model: demo loops, tempo and bars, the analysed
set (``LoopSet``, ``load_folder``) and the on-disk store that lets a library larger than
memory stream."""

import importlib

_MODULES = ('dataset', 'store', 'synth', 'tempo')


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_MODULES])
