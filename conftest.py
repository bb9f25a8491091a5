"""Test-wide settings: fast mode, strict widget delivery, and a scratch folder for the
notebooks' data and models.

The notebooks read ``MORPHLIB_DATA_DIR``, ``MORPHLIB_MODEL_DIR`` and
``MORPHLIB_EXPORT_DIR``; pointing them at a fresh folder makes every test run start from
the same demo loops, and keeps the checkout's own ``data/`` and ``models/`` untouched.
"""

import os
import tempfile

os.environ.setdefault("MORPHLIB_FAST", "1")
# Every morph panel in the suite (and in the kernels it starts) raises on a widget message
# that Colab would drop (morphlib.ui.panel.delivery).
os.environ.setdefault("MORPHLIB_STRICT_WIDGETS", "1")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One scratch folder per test process: pytest-xdist's workers inherit the first one's
# variables, and two notebooks making the same demo loops at once would collide.
_process = os.environ.get("PYTEST_XDIST_WORKER", "main")
_ours = "MORPHLIB_SCRATCH_OF" in os.environ  # a scratch folder this conftest made, not the user's folders
if "MORPHLIB_DATA_DIR" not in os.environ or _ours and os.environ["MORPHLIB_SCRATCH_OF"] != _process:
    _scratch = tempfile.mkdtemp(prefix="morphlib-notebooks-")
    os.environ["MORPHLIB_SCRATCH_OF"] = _process
    os.environ["MORPHLIB_DATA_DIR"] = os.path.join(_scratch, "data")
    os.environ["MORPHLIB_MODEL_DIR"] = os.path.join(_scratch, "model")
    os.environ["MORPHLIB_EXPORT_DIR"] = os.path.join(_scratch, "exports")
    if _ours or "MORPHLIB_CACHE_DIR" not in os.environ:
        os.environ["MORPHLIB_CACHE_DIR"] = os.path.join(_scratch, "cache")
    # numba's compiled code too (librosa's): two processes compiling the same function into
    # one cache can leave it crashing the next reader (numba issue 10128), and the workers,
    # the kernels they start and the Colab tier's venv would share site-packages' caches.
    if _ours or "NUMBA_CACHE_DIR" not in os.environ:
        os.environ["NUMBA_CACHE_DIR"] = os.path.join(_scratch, "numba")
