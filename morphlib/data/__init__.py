"""Data: a folder of loops made ready for a model: demo loops, tempo and bars, the analysed
set (``LoopSet``, ``load_folder``) and the on-disk store that lets a library larger than
memory stream."""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, modules=('dataset', 'store', 'synth', 'tempo'))
