"""Morphing: morphs between two loops or on the XY pad, sweeps over time, and evaluation of
reconstructions and mid-morphs."""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, modules=('evaluation', 'morphs', 'sweeps'))
