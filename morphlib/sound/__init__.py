"""Sound: reading, checking and writing audio, the STFT and its inverse (Griffin-Lim, PGHI),
the hits of a morph, and figures of what a listener hears.

The bottom of the line (like librosa's ``core``): analysis, models and morphs all use it,
and it imports nothing of morphlib but the foundations (errors, config, files).
"""

import importlib

_MODULES = ('audio', 'audiometrics', 'hits', 'phase', 'spectral')


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_MODULES])
