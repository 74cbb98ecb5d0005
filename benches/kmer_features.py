"""Vectorised DNA featurisers shared by the scikit-learn baseline scripts.

Everything here works on a whole batch of sequences at once with numpy (no
Python loop over positions), so that the baseline's throughput numbers are a
fair comparison with genovec:

* ``kmer_frequencies``: overlapping k-mer counts divided by the number of
  valid k-mers in the sequence. A k-mer window that contains anything other
  than A/C/G/T (case-insensitive) is skipped.
* ``composition``: GC content and the Z-curve (x, y, z), each divided by the
  number of A/C/G/T bases in the sequence.

k-mers are indexed in base 4 with A=0, C=1, G=2, T=3, first base most
significant (so "AAAA" is column 0 and "TTTT" column 255 for k=4).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp

# Byte -> base code lookup table: A/C/G/T (either case) -> 0..3, anything else -> 4.
_INVALID = 4
_LUT = np.full(256, _INVALID, dtype=np.uint8)
for _code, _base in enumerate(b"ACGT"):
    _LUT[_base] = _code
    _LUT[ord(chr(_base).lower())] = _code


def encode(seqs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``seqs`` into one code array.

    Returns ``(codes, offsets)``: ``codes`` is uint8 (0..3 for ACGT, 4 for
    anything else) and sequence ``i`` occupies ``codes[offsets[i]:offsets[i+1]]``.
    """
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    raw = np.frombuffer("".join(seqs).encode("ascii", errors="replace"), dtype=np.uint8)
    return _LUT[raw], offsets


def _kmer_keys(codes: np.ndarray, offsets: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row id and k-mer index of every valid k-mer window, in position order."""
    n_seq = len(offsets) - 1
    total = len(codes)
    n_win = total - k + 1
    if n_win <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    # Base-4 rolling index; invalid bases contribute 0 here and are masked below.
    digits = np.where(codes == _INVALID, 0, codes).astype(np.int64)
    idx = np.zeros(n_win, dtype=np.int64)
    for j in range(k):
        idx *= 4
        idx += digits[j : j + n_win]
    # A window is valid when it contains no invalid base ...
    bad = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(codes == _INVALID, out=bad[1:])
    clean = (bad[k : k + n_win] - bad[:n_win]) == 0
    # ... and does not run past the end of its own sequence.
    row = np.repeat(np.arange(n_seq, dtype=np.int64), np.diff(offsets))[:n_win]
    inside = np.arange(k, n_win + k, dtype=np.int64) <= offsets[row + 1]
    keep = clean & inside
    return row[keep], idx[keep]


def kmer_frequencies(seqs: Sequence[str], k: int, sparse: bool = False):
    """k-mer frequency matrix of shape ``(len(seqs), 4**k)``.

    Each row sums to 1 (or is all zero when the sequence has no valid k-mer).
    ``sparse=True`` returns a float64 CSR matrix, which is much smaller and
    faster to fit on for short sequences and large k; otherwise a dense
    float64 array.
    """
    codes, offsets = encode(seqs)
    n_seq, n_feat = len(seqs), 4**k
    row, idx = _kmer_keys(codes, offsets, k)
    per_row = np.bincount(row, minlength=n_seq).astype(np.float64)
    scale = np.divide(1.0, per_row, out=np.zeros_like(per_row), where=per_row > 0)
    if sparse:
        keys, counts = np.unique(row * n_feat + idx, return_counts=True)
        r = keys // n_feat
        mat = sp.csr_matrix(
            (counts * scale[r], (r, keys % n_feat)), shape=(n_seq, n_feat), dtype=np.float64
        )
        return mat
    counts = np.bincount(row * n_feat + idx, minlength=n_seq * n_feat)
    return counts.reshape(n_seq, n_feat) * scale[:, None]


def composition(seqs: Sequence[str]) -> np.ndarray:
    """GC content and Z-curve per sequence, shape ``(len(seqs), 4)``.

    Columns: GC = (G+C)/n, x = ((A+G)-(C+T))/n, y = ((A+C)-(G+T))/n,
    z = ((A+T)-(G+C))/n, with n the number of A/C/G/T bases (all zero when n=0).
    Note that z = 1 - 2*GC by construction; both are kept as specified.
    """
    codes, offsets = encode(seqs)
    n_seq = len(seqs)
    row = np.repeat(np.arange(n_seq, dtype=np.int64), np.diff(offsets))
    counts = np.bincount(row * 5 + codes, minlength=n_seq * 5).reshape(n_seq, 5)
    a, c, g, t = (counts[:, i].astype(np.float64) for i in range(4))
    n = a + c + g + t
    inv = np.divide(1.0, n, out=np.zeros_like(n), where=n > 0)
    return np.column_stack(
        [
            (g + c) * inv,
            ((a + g) - (c + t)) * inv,
            ((a + c) - (g + t)) * inv,
            ((a + t) - (g + c)) * inv,
        ]
    )


def _self_test() -> None:
    """Check the vectorised featurisers against a plain Python reference."""
    from itertools import product

    seqs = ["ACGTACGTNNACGT", "acgtt", "NNN", "", "GGGCCCAT", "ACG"]
    for k in (1, 2, 3, 4):
        vocab = {"".join(p): i for i, p in enumerate(product("ACGT", repeat=k))}
        ref = np.zeros((len(seqs), 4**k))
        for r, s in enumerate(seqs):
            s = s.upper()
            kms = [s[i : i + k] for i in range(len(s) - k + 1) if set(s[i : i + k]) <= set("ACGT")]
            for km in kms:
                ref[r, vocab[km]] += 1.0 / len(kms)
        assert np.allclose(kmer_frequencies(seqs, k), ref), k
        assert np.allclose(kmer_frequencies(seqs, k, sparse=True).toarray(), ref), k
    comp = composition(["AACG", "NNNN", "GGCC"])
    assert np.allclose(comp[0], [0.5, 0.5, 0.5, 0.0])
    assert np.allclose(comp[1], 0.0)
    assert np.allclose(comp[2], [1.0, 0.0, 0.0, -1.0])
    print("kmer_features self-test ok")


if __name__ == "__main__":
    _self_test()
