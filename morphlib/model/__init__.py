"""The model: the VAE and its layers, how it is trained (recipes) and run (backend, devices),
the model folder on disk, and ``MorphModel``, a trained model in use (encode, decode, blend)."""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, modules=("article", "backend", "devices", "folder", "latentfit", "layers", "morphmodel",
                                                "recipes", "vae", "weightsfile"))
