"""Arrays kept in a few bits a value: each row coded evenly from its lowest to its highest
value (a model file's detail bank in 8 bits, ``layers.DetailBank``; the stereo details of
an image in 6, packed four to three bytes, ``sound.stereo.DETAIL_BITS``, as the store and a
model folder keep them). NumPy alone: a folder's files are read without Keras."""

import numpy as np

from .config import check_int
from .errors import ParameterError


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


#: Bits per code that ``pack_codes`` packs: those that fill three bytes exactly.
PACKED_BITS = (2, 3, 4, 6, 8)


def pack_codes(codes, bits):
    """``bits``-bit ``codes`` [shape=(..., m)] packed tight, three bytes to every
    ``24 // bits`` codes [shape=(..., 3 * ceil(m / (24 // bits)))]."""
    if bits not in PACKED_BITS:
        raise ParameterError(f"bits must be one of {PACKED_BITS} to pack codes, got {bits!r}")
    codes = np.asarray(codes, np.uint32)
    per = 24 // bits
    pad = -codes.shape[-1] % per
    codes = np.concatenate([codes, np.zeros((*codes.shape[:-1], pad), np.uint32)], axis=-1)
    groups = codes.reshape(*codes.shape[:-1], -1, per)
    word = np.bitwise_or.reduce(groups << (bits * np.arange(per, dtype=np.uint32)), axis=-1)
    return np.stack([(word >> shift) & 255 for shift in (0, 8, 16)], axis=-1).astype(np.uint8).reshape(*codes.shape[:-1], -1)


def unpack_codes(packed, bits, m):
    """``pack_codes``'s inverse: the first ``m`` codes of each row [shape=(..., m)], uint8."""
    packed = np.asarray(packed, np.uint32)
    per = 24 // bits
    triples = packed.reshape(*packed.shape[:-1], -1, 3)
    word = triples[..., 0] | (triples[..., 1] << 8) | (triples[..., 2] << 16)
    codes = (word[..., None] >> (bits * np.arange(per, dtype=np.uint32))) & (2**bits - 1)
    return codes.reshape(*packed.shape[:-1], -1)[..., :m].astype(np.uint8)


def packed_size(m, bits):
    """Bytes that ``pack_codes`` takes for ``m`` codes of ``bits`` bits."""
    return 3 * -(-m // (24 // bits))


def code_bins(x, *, bits=6):
    """Frames of bins [shape=(..., n_frames, n_bins)] in ``bits`` bits, each frame from its
    lowest to its highest value: ``(codes, low, step)``, codes packed (``pack_codes``)
    [shape=(..., n_frames, 3 * ceil(n_bins / (24 // bits)))]; low and step
    [shape=(..., n_frames)] float32."""
    x = np.asarray(x, np.float32)
    codes, low, step = quantise_rows(x.reshape(-1, x.shape[-1]), bits=bits)
    return pack_codes(codes.reshape(x.shape), bits), low.reshape(x.shape[:-1]), step.reshape(x.shape[:-1])


def decode_bins(codes, low, step, n_bins, *, bits=6):
    """``code_bins``'s values back, float32 [shape=(..., n_frames, n_bins)]."""
    codes = unpack_codes(codes, bits, n_bins)
    return np.asarray(low, np.float32)[..., None] + np.asarray(step, np.float32)[..., None] * codes.astype(np.float32)
