"""Training: ``train`` (a model folder's run: plan, fit, checkpoints, the clock), new loops in
a minute (``add_loops``), the input pipeline, the optimizer, and the lease that keeps two runs
out of one folder."""

import importlib

_MODULES = ('budget', 'lease', 'newloops', 'optimizer', 'pipeline', 'trainer')


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_MODULES])
