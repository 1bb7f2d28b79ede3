#!/usr/bin/env python3
"""Lossless coding against ZVC, with the SPEC 8.3 record structure: sizes of candidate lossless
codings of activation tensors, counted (not encoded) with numpy, against zero-value compression
(ZVC) rounded up to bytes once per tensor. docs/CODEC.md, "Lossless coding against ZVC", quotes it.

    python3 tools/codec/lossless_vs_zvc.py testdata/real [--bits 8] [--channels C] [--block 8] [--segment 8]

Inputs: .npy files or folders of them, uint8 `[C, H, W]` or a batch `[N, C, H, W]` (golden's
--dump-layers); other dtypes (int32 accumulators, never coded) are skipped. `--channels C` keeps
the first C channels; `--bits k` is the tensors' bits per value (every value below 2^k). Records are one per (row, segment of S channels), blocks N channels from each segment's
first channel, and every record is padded to a byte, as SPEC 8.3 has it.

The candidates (per block of n values with nnz non-zero; k bits per value):
- sparse: n mask bits + k per non-zero value (the codec's sparse mode; ZVC in records);
- raw: k per value;
- block flag: 1 bit per block choosing the cheaper of sparse and raw;
- block header: 2 bits per block, zero (nothing) / sparse / raw (auto without dct);
- record flag: 1 bit per record choosing the cheaper of all-sparse and all-raw;
- sparse, 1 short: sparse with the value 1 in k-1 bits (a truncated binary code of the
  2^k - 1 non-zero values: never longer than ZVC per value, shorter on every 1).
Prints a table: total bytes, total against ZVC, and tensors above (more bytes) and below ZVC.
Every error is one line, `lossless_vs_zvc: error: ...`, exit status 1.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

PROG = "lossless_vs_zvc"


class Error(Exception):
    pass


def tensors(paths, bits, channels):
    """(name, int64 [C, H, W]) for every uint8 tensor in the paths."""
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(p.glob("*.npy"))
        elif p.is_file():
            files.append(p)
        else:
            raise Error(f"{p}: no such file or folder")
    out = []
    for f in files:
        try:
            a = np.load(f)
        except Exception as e:  # numpy raises several kinds for a bad file
            raise Error(f"{f}: not a readable .npy file ({e})")
        if a.dtype != np.uint8:
            continue
        if a.ndim == 3:
            a = a[None]
        if a.ndim != 4:
            raise Error(f"{f}: shape {a.shape}: expected [C, H, W] or [N, C, H, W]")
        a = a.astype(np.int64)
        if a.size and a.max() >= 1 << bits:
            raise Error(f"{f}: value {a.max()} does not fit --bits {bits}")
        if channels is not None:
            if channels > a.shape[1]:
                raise Error(f"{f}: --channels {channels}: the tensor has {a.shape[1]}")
            a = a[:, :channels]
        for i, t in enumerate(a):
            out.append((f"{f.stem}[{i}]" if len(a) > 1 else f.stem, t))
    if not out:
        raise Error("no uint8 tensors in " + ", ".join(paths))
    return out


def block_starts(c, n, s):
    """First channel of every block (N from each segment's first channel) and of every segment."""
    starts = [b for s0 in range(0, c, s) for b in range(s0, min(s0 + s, c), n)]
    seg_first_block = [i for i, b in enumerate(starts) if b % s == 0]
    return np.array(starts), np.array(seg_first_block)


def sizes(t, k, n, s):
    """Bytes of ZVC and of each candidate for one tensor."""
    c, h, w = t.shape
    starts, seg_blocks = block_starts(c, n, s)
    nb = np.diff(np.append(starts, c))[:, None, None]            # values per block
    nnz = np.add.reduceat((t != 0).astype(np.int64), starts, axis=0)  # [blocks, H, W]
    ones = np.add.reduceat((t == 1).astype(np.int64), starts, axis=0)
    sparse = nb + k * nnz
    raw = np.broadcast_to(nb * k, sparse.shape)
    block = {
        "sparse": sparse,
        "raw": raw,
        "block flag": 1 + np.minimum(sparse, raw),
        "block header": 2 + np.where(nnz == 0, 0, np.minimum(sparse, raw)),
        "sparse, 1 short": sparse - ones,
    }

    def records(bits):  # [segments, H]: the record's bits, over its blocks and pixels
        return np.add.reduceat(bits, seg_blocks, axis=0).sum(axis=2)

    def padded(rec_bits):
        return int(((rec_bits + 7) // 8).sum())

    out = {name: padded(records(b)) for name, b in block.items()}
    out["record flag"] = padded(1 + np.minimum(records(sparse), records(raw)))
    zvc = (t.size + k * int((t != 0).sum()) + 7) // 8
    return zvc, out


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--channels", type=int)
    ap.add_argument("--block", type=int, default=8)
    ap.add_argument("--segment", type=int, default=8)
    a = ap.parse_args()
    try:
        if not 2 <= a.bits <= 8:
            raise Error(f"--bits {a.bits}: expected 2..8 (1-bit tensors are stored raw)")
        if a.block not in (4, 8, 16):
            raise Error(f"--block {a.block}: expected 4, 8 or 16")
        if a.segment < 1 or (a.channels is not None and a.channels < 1):
            raise Error("--segment and --channels: expected at least 1")
        ts = tensors(a.paths, a.bits, a.channels)
        total_zvc, totals, above, below = 0, {}, {}, {}
        for _, t in ts:
            zvc, out = sizes(t, a.bits, a.block, a.segment)
            total_zvc += zvc
            for name, b in out.items():
                totals[name] = totals.get(name, 0) + b
                above[name] = above.get(name, 0) + (b > zvc)
                below[name] = below.get(name, 0) + (b < zvc)
    except Error as e:
        sys.exit(f"{PROG}: error: {e}")
    print(f"{len(ts)} tensors, {a.bits}-bit values, N = {a.block}, S = {a.segment}; ZVC {total_zvc} B")
    print(f"{'coding':<16} {'bytes':>10} {'vs ZVC':>8} {'above ZVC':>10} {'below ZVC':>10}")
    for name, b in totals.items():
        print(f"{name:<16} {b:>10} {100 * (b - total_zvc) / total_zvc:>+7.2f}% {above[name]:>10} {below[name]:>10}")


if __name__ == "__main__":
    main()
