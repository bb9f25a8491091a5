"""Names a package hands on that load on first use, so that ``import morphlib`` stays quick.

Each subpackage's ``__init__`` gets its ``__getattr__`` and ``__dir__`` here::

    __getattr__, __dir__ = lazy(__name__, modules=("audio", "spectral"), names={"play": "plots"})
"""

import importlib
import sys


def lazy(package, *, modules=(), names=None):
    """``(__getattr__, __dir__)`` for ``package``: its ``modules`` as attributes, and ``names``
    (``{name: module}``) taken from those modules, each imported when first asked for."""
    names = dict(names or {})

    def __getattr__(name):
        if name in modules:
            return importlib.import_module(f".{name}", package)
        if name in names:
            return getattr(importlib.import_module(f".{names[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted([*vars(sys.modules[package]), *modules, *names])

    return __getattr__, __dir__
