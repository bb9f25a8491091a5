"""The model: the VAE and its layers, how it is trained (recipes) and run (backend, devices),
the model folder on disk, and ``MorphModel``, a trained model in use (encode, decode, blend)."""

import importlib

_MODULES = ('article', 'backend', 'devices', 'folder', 'latentfit', 'layers', 'morphmodel', 'recipes', 'vae', 'weightsfile')


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_MODULES])
