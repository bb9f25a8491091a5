"""Arrays kept in a few bits a value: each row coded evenly from its lowest to its highest
value (a model file's detail bank in 8 bits, ``layers.DetailBank``; the stereo details of a
folder's images in 4, two to a byte, ``folder.IMAGES``). No Keras: a folder's files are read
with NumPy alone."""

import numpy as np

from ..config import check_int


def quantise_rows(x, *, bits=8):
    """``bits``-bit codes for each row of ``x``, evenly spaced from its lowest to its highest value.

    Parameters
    ----------
    x : np.ndarray [shape=(n, m)]
    bits : int in [1, 8]
        8 in a model file; fewer measure what a coarser bank would cost
        (``benchmarks/bank_bits.py``).

    Returns
    -------
    codes : np.ndarray [shape=(n, m), dtype=uint8]
    low, step : np.ndarray [shape=(n, 1), dtype=float32]
        ``x ≈ low + step * codes``, off by at most ``step / 2``.
    """
    levels = 2 ** check_int("bits", bits, low=1, high=8) - 1
    x = np.asarray(x, np.float32)
    low = x.min(axis=1, keepdims=True)
    step = (x.max(axis=1, keepdims=True) - low) / float(levels)
    safe = np.where(step > 0, step, 1.0)
    codes = np.clip(np.rint((x - low) / safe), 0, levels).astype(np.uint8)
    return codes, low, step.astype(np.float32)


def dequantise_rows(codes, low, step):
    """The values that ``quantise_rows`` coded, float32."""
    return low.astype(np.float32) + step.astype(np.float32) * codes.astype(np.float32)


def pack_nibbles(codes):
    """4-bit ``codes`` [shape=(..., m), values 0 to 15] two to a byte [shape=(..., ceil(m / 2))]."""
    codes = np.asarray(codes, np.uint8)
    if codes.shape[-1] % 2:
        codes = np.concatenate([codes, np.zeros((*codes.shape[:-1], 1), np.uint8)], axis=-1)
    return (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8)


def unpack_nibbles(packed, m):
    """``pack_nibbles``'s inverse: the first ``m`` codes of each row [shape=(..., m)]."""
    packed = np.asarray(packed, np.uint8)
    out = np.empty((*packed.shape[:-1], 2 * packed.shape[-1]), np.uint8)
    out[..., 0::2], out[..., 1::2] = packed & 15, packed >> 4
    return out[..., :m]
