"""Training: ``train`` (a model folder's run: plan, fit, checkpoints, the clock), new loops in
a minute (``add_loops``), the input pipeline, the optimizer, and the lease that keeps two runs
out of one folder."""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, modules=('budget', 'lease', 'newloops', 'optimizer', 'pipeline', 'trainer'))
