#!/usr/bin/env python3
"""Turn the MNIST test set and the two TFC models into the project's testdata/mnist files.

From the repository root (needs only numpy):

    python3 tools/mnist/make_testdata.py --src /work/shared/data/mnist --out testdata/mnist

Reads, from --src: t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, TFC_1W1A.onnx,
TFC_1W2A.onnx, LICENSE-TFC.txt and MD5SUMS. Writes, to --out:

- t10k-images.npy    uint8 [10000, 1, 28, 28] (N, C, H, W), the raw pixels, C order;
- t10k-labels.npy    uint8 [10000];
- heldout-images.npy uint8 [2000, 1, 28, 28]: t10k images 8000..9999, the ones that
  tools/train_cnv.py never trains on;
- heldout-labels.npy uint8 [2000];
- TFC_1W1A.onnx, TFC_1W2A.onnx, LICENSE-TFC.txt, byte for byte.

Checks, before writing anything: every source file's md5 against MD5SUMS, the md5 of the
decompressed image file (the well-known 2646ac647ad5339dbf082846283269ea), the IDX headers, and
the per-digit label counts. The same inputs give the same bytes (np.save is deterministic).
Every error is one line, `make_testdata: error: ...`, exit status 1.
"""

import argparse
import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np

# The decompressed t10k image file's md5, as published with MNIST mirrors: it pins the pixels
# independently of how the .gz happened to be compressed.
RAW_IMAGES_MD5 = "2646ac647ad5339dbf082846283269ea"
# How many of each digit 0..9 the MNIST test set holds (a cheap check that labels are intact).
LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# Images [0, SPLIT) train the project's conv network; [SPLIT, 10000) are held out for reporting.
SPLIT = 8000
COPIED = ["TFC_1W1A.onnx", "TFC_1W2A.onnx", "LICENSE-TFC.txt"]


class Fail(Exception):
    pass


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def read_md5sums(path: Path) -> dict:
    # `md5sum` output: "<hex>  <name>" per line.
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(None, 1)
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


def checked_bytes(src: Path, name: str, sums: dict) -> bytes:
    if name not in sums:
        raise Fail(f"{name} is not listed in {src / 'MD5SUMS'}")
    data = (src / name).read_bytes()
    if md5(data) != sums[name]:
        raise Fail(f"{name}: md5 {md5(data)}, MD5SUMS says {sums[name]}")
    return data


def parse_idx(raw: bytes, magic: int, dims: int) -> np.ndarray:
    # IDX: a big-endian u32 magic (0x0000 0x08=ubyte, then the number of dims), one big-endian u32
    # per dimension, then the data in C order.
    header = np.frombuffer(raw, dtype=">u4", count=1 + dims)
    if int(header[0]) != magic:
        raise Fail(f"IDX magic {int(header[0]):#x}, expected {magic:#x}")
    shape = tuple(int(d) for d in header[1:])
    offset = 4 * (1 + dims)
    if len(raw) - offset != int(np.prod(shape)):
        raise Fail(f"IDX payload is {len(raw) - offset} bytes, the header says {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", type=Path, required=True, help="the source folder (read only)")
    ap.add_argument("--out", type=Path, required=True, help="where to write (created if needed)")
    args = ap.parse_args()

    sums = read_md5sums(args.src / "MD5SUMS")
    img_raw = gzip.decompress(checked_bytes(args.src, "t10k-images-idx3-ubyte.gz", sums))
    if md5(img_raw) != RAW_IMAGES_MD5:
        raise Fail(f"decompressed images md5 {md5(img_raw)}, expected {RAW_IMAGES_MD5}")
    lab_raw = gzip.decompress(checked_bytes(args.src, "t10k-labels-idx1-ubyte.gz", sums))
    images = parse_idx(img_raw, 0x00000803, 3)
    labels = parse_idx(lab_raw, 0x00000801, 1)
    if images.shape != (10000, 28, 28) or labels.shape != (10000,):
        raise Fail(f"unexpected shapes {images.shape}, {labels.shape}")
    counts = np.bincount(labels, minlength=10).tolist()
    if counts != LABEL_COUNTS:
        raise Fail(f"label counts {counts}, expected {LABEL_COUNTS}")
    copies = {name: checked_bytes(args.src, name, sums) for name in COPIED}

    # Add the channel axis so that the arrays are already in the networks' NCHW layout.
    images = np.ascontiguousarray(images.reshape(10000, 1, 28, 28))
    labels = np.ascontiguousarray(labels)
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "t10k-images.npy", images)
    np.save(args.out / "t10k-labels.npy", labels)
    np.save(args.out / "heldout-images.npy", np.ascontiguousarray(images[SPLIT:]))
    np.save(args.out / "heldout-labels.npy", np.ascontiguousarray(labels[SPLIT:]))
    for name, data in copies.items():
        (args.out / name).write_bytes(data)
    print(f"make_testdata: wrote {args.out}: 10000 images ({SPLIT} train / {10000 - SPLIT} held out), "
          f"label counts {counts}, {len(copies)} files copied")


if __name__ == "__main__":
    try:
        main()
    except (Fail, OSError, ValueError) as e:
        print(f"make_testdata: error: {e}", file=sys.stderr)
        sys.exit(1)
