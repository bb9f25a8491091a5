"""Sound: reading, checking and writing audio, the STFT and its inverse (Griffin-Lim, PGHI),
the hits of a morph, and figures of what a listener hears.

The bottom of the line (like librosa's ``core``): analysis, models and morphs all use it,
and it imports nothing of morphlib but the foundations (errors, config, files).
"""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, modules=('audio', 'audiometrics', 'hits', 'phase', 'spectral', 'stereo'))
