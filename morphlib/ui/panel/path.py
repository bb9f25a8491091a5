"""The α path (or the pad's grid) that the live player holds, so that a drag plays in the page.

When A and B are chosen the panel offers the player a path: the morphs at ``steps`` evenly
spaced values of α (the XY pad: a ``size`` × ``size`` grid of the four corners' blends,
9 × 9, whose 5 × 5 points come first and the rest refine it while the hand rests),
rendered at full quality. The page asks for it piece by piece; each request is answered
in its handler (the one way Colab delivers) with the next steps, coarse first (α = 0, 1,
½, ¼, ¾, ...) so that a drag soon has something near the hand, as 16-bit PCM in binary
buffers. While the hand drags, the player plays the nearest step it holds, with no
message to the kernel; where the hand stops, the exact morph replaces it.
"""

import dataclasses
import time

import numpy as np

from ...errors import ParameterError
from ...morphing.morphs import bilinear_weights
from ...sound.stereo import blend as blend_images

#: Steps of α in a live path (every 1/32, 0 and 1 included), the side of the pad's grid, and
#: the side of its coarse grid (its points every 1/4), which comes in first.
STEPS, GRID, COARSE_GRID = 33, 9, 5
#: The most audio a panel's page holds (Web Audio keeps 32-bit floats): 64 MB.
MAX_BYTES = 64 * 2**20
#: Time one request of the page may render for, in seconds (at least one step is rendered),
#: so that a released slider waits for at most this long behind the path.
CHUNK_S = 0.12


def coarse_first(points):
    """The order to render ``points`` in: the first, then each next the farthest from all before.

    Parameters
    ----------
    points : np.ndarray [shape=(n, d)]
        Where each step lies (α; or the pad's x, y).

    Returns
    -------
    order : list of int
        For an α path of 33 steps: 0, 32, 16, 8, 24, 4, 12, 20, 28, 2, ...
    """
    points = np.asarray(points, np.float64).reshape(len(points), -1)
    far = np.linalg.norm(points - points[0], axis=1)
    order = [0]
    while len(order) < len(points):
        k = int(np.argmax(far))  # the first of equals: ties go by index
        order.append(k)
        far = np.minimum(far, np.linalg.norm(points - points[k], axis=1))
        far[order] = -1.0
    return order


def ab_points(steps=STEPS):
    """α of each step: ``steps`` values from 0 to 1, shape (steps, 1)."""
    if not isinstance(steps, int) or isinstance(steps, bool) or not 2 <= steps <= 257:
        raise ParameterError(f"steps must be a whole number from 2 to 257, got {steps!r}")
    return np.linspace(0.0, 1.0, steps)[:, None]


def grid_points(size=GRID):
    """(x, y) of each point of a ``size`` × ``size`` grid, row by row from y = 0, shape (size², 2)."""
    if not isinstance(size, int) or isinstance(size, bool) or not 2 <= size <= 17:
        raise ParameterError(f"the pad's grid size must be a whole number from 2 to 17, got {size!r}")
    t = np.linspace(0.0, 1.0, size)
    y, x = np.meshgrid(t, t, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], 1)


def steps_within(n_samples, steps, *, max_bytes=MAX_BYTES):
    """The most steps (at most ``steps``) whose audio, as Web Audio holds it, fits ``max_bytes``
    (``n_samples`` of all channels: twice a loop's for stereo)."""
    fits = max_bytes // (4 * max(int(n_samples), 1))
    if fits < 2:
        raise ParameterError(f"a path of loops of {n_samples} samples does not fit {max_bytes} bytes")
    return int(min(steps, fits))


@dataclasses.dataclass
class Path:
    """One path of the player: what it blends, and which of its steps are sent.

    Parameters
    ----------
    key : str
        Names this path in the page; a new key drops the old path there.
    kind : {"ab", "xy"}
    points : np.ndarray [shape=(n, 1) or (n, 2)]
        α of each step, or (x, y) of each grid point.
    ends : np.ndarray [shape=(2 or 4, latent_dim)]
        The latent vectors of A and B (or of the corners a, b, c, d).
    method : {"linear", "spherical"}
    keep_hits : bool
    n_iter : int
    images : list
        The ends' stereo images (None for a mono end; empty: all mono), blended into each
        step's (``morphlib.sound.stereo``).
    """

    key: str
    kind: str
    points: np.ndarray
    ends: np.ndarray
    method: str
    keep_hits: bool
    n_iter: int
    images: list = dataclasses.field(default_factory=list)
    order: list = dataclasses.field(default=None)
    sent: int = 0

    def __post_init__(self):
        self.order = coarse_first(self.points)

    @property
    def size(self):
        """Steps of α, or the grid's side."""
        return len(self.points) if self.kind == "ab" else int(round(np.sqrt(len(self.points))))

    @property
    def coarse(self):
        """How many steps come first and make the coarse path: all of α's; the pad's 5 × 5."""
        if self.kind == "ab" or self.size != GRID:
            return len(self.points)
        return COARSE_GRID**2

    @property
    def done(self):
        return self.sent >= len(self.order)

    def weights(self, indices):
        """Each step's weights of the ends, shape (len(indices), 2 or 4)."""
        if self.kind == "ab":
            alpha = self.points[indices, 0]
            return np.stack([1 - alpha, alpha], 1)
        return np.concatenate([bilinear_weights(x, y) for x, y in self.points[indices]])

    def next_steps(self, model, *, seed=0, budget_s=None):
        """Render the next steps (coarse first) for about ``budget_s`` (default ``CHUNK_S``): a
        list of (index, point, y)."""
        budget_s = CHUNK_S if budget_s is None else budget_s
        out, start = [], time.perf_counter()
        while not self.done and (not out or time.perf_counter() - start < budget_s):
            k = self.order[self.sent]
            weights = self.weights([k])
            S = model.blend(self.ends, weights, method=self.method if self.kind == "ab" else "linear",
                            keep_hits=self.keep_hits)[0]
            image = blend_images(self.images, np.atleast_2d(weights)[0], settings=model.settings,
                                 levels=model.end_levels(self.ends)) if self.images else None
            out.append((k, [round(float(v), 4) for v in self.points[k]], model.to_audio(S, n_iter=self.n_iter, seed=seed, image=image)))
            self.sent += 1
        return out
