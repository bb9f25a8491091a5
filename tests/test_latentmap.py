import numpy as np
import pytest

from morphlib.ui.panel.latentmap import latent_map, plot_latent_map


def test_the_map_keeps_the_two_directions_that_vary_most():
    rng = np.random.default_rng(0)
    z = np.zeros((50, 6))
    z[:, 2] = 5 * rng.standard_normal(50)  # most variance
    z[:, 4] = 2 * rng.standard_normal(50)
    z += 0.01 * rng.standard_normal(z.shape)
    lmap = latent_map(None, z=z, names=[f"loop {k}" for k in range(50)])
    assert abs(lmap.components[0, 2]) > 0.99 and abs(lmap.components[1, 4]) > 0.99
    assert lmap.explained[0] > lmap.explained[1] > 0.1 and lmap.explained.sum() <= 1
    np.testing.assert_allclose(lmap.project(z), lmap.xy, atol=1e-9)
    unit = lmap.unit(lmap.xy)
    assert unit.min() >= 0.05 - 1e-9 and unit.max() <= 0.95 + 1e-9
    assert lmap.axis_labels()[0].startswith("PC 1 (")


@pytest.mark.parametrize("z", [np.zeros((3, 4)), np.ones((1, 4))])
def test_a_map_of_identical_or_single_loops_is_still_drawn(z):
    lmap = latent_map(None, z=z, names=["x"] * len(z))
    assert lmap.xy.shape == (len(z), 2) and np.all(np.isfinite(lmap.unit(lmap.xy)))


def test_plot_latent_map_labels_axes_and_marks(tiny_model, tiny_loops):
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_latent_map(tiny_model, tiny_loops, marks={"A": 0, "B": 3})
    assert ax.get_xlabel().startswith("PC 1") and ax.get_ylabel().startswith("PC 2")
    texts = [t.get_text() for t in ax.texts]
    assert "Loop A" in texts and "A" in texts and "B" in texts
