#!/usr/bin/env python3
"""Independent reference implementation of docs/SPEC.md ("the arithmetic contract").

Written from SPEC.md alone (plus the numpy documentation), to cross-check the golden model.
Only the Python standard library and numpy are used.  Comments cite SPEC section numbers.

Subcommands (all tensors are .npy files):
  acc    --kind conv|fc|slbf|penni --input X.npy --out OUT.npy [--stride S] [--padding P]
         [--bits K] [--coef-bits B] [--scale-group G] [--weight-scale WS.npy]
         (--weights W.npy | --bank BANK.npy --index IDX.npy | --basis BASIS.npy --coef COEF.npy)
         -> raw signed dot products, int32 [O, H_out, W_out] (fc: [O, 1, 1])      (SPEC 2, 3)
  encode --input X.npy --bits K --block N --mode raw|sparse|dct|auto|golomb
         --segment S [--step S] [--keep M] [--eg E] [--check crc8] --out STREAM.bin   (SPEC 8)
  decode --stream STREAM.bin --shape C H W --bits K --block N --mode ...
         --segment S [--step S] [--keep M] [--eg E] [--check crc8] --out REC.npy      (SPEC 8)
  bound  --block N --step S --bits K   -> prints the integer dct error bound        (SPEC 8.7)

Errors (bad inputs, streams that end early, ...) print one line to stderr and exit with status 1.
"""

import argparse
import ast
import math
import sys
from fractions import Fraction

import numpy as np


class SpecError(Exception):
    """An input that the SPEC declares an error (or that this tool cannot accept)."""


# ---------------------------------------------------------------------------------------------
# .npy input (SPEC 1: versions 1.0, 2.0, 3.0; C order only, Fortran order is rejected)
# ---------------------------------------------------------------------------------------------

def _npy_header(path):
    """Parse the .npy header ourselves so that Fortran order and odd versions are rejected."""
    with open(path, "rb") as f:
        magic = f.read(6)
        if magic != b"\x93NUMPY":
            raise SpecError(f"{path}: not a .npy file")
        ver = f.read(2)
        if len(ver) != 2:
            raise SpecError(f"{path}: truncated .npy header")
        major, minor = ver[0], ver[1]
        if (major, minor) not in ((1, 0), (2, 0), (3, 0)):
            raise SpecError(f"{path}: unsupported .npy version {major}.{minor}")
        nlen = 2 if major == 1 else 4
        raw = f.read(nlen)
        if len(raw) != nlen:
            raise SpecError(f"{path}: truncated .npy header")
        hlen = int.from_bytes(raw, "little")
        text = f.read(hlen)
        if len(text) != hlen:
            raise SpecError(f"{path}: truncated .npy header")
    enc = "utf-8" if major == 3 else "latin1"
    try:
        hdr = ast.literal_eval(text.decode(enc))
    except (ValueError, SyntaxError) as exc:
        raise SpecError(f"{path}: malformed .npy header ({exc})")
    if not isinstance(hdr, dict) or "fortran_order" not in hdr:
        raise SpecError(f"{path}: malformed .npy header")
    return hdr


def load_npy(path):
    hdr = _npy_header(path)
    if hdr["fortran_order"]:
        raise SpecError(f"{path}: Fortran-order .npy files are rejected (SPEC 1)")
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises various types for broken files
        raise SpecError(f"{path}: cannot load ({exc})")
    return np.ascontiguousarray(arr)


def require_dtype(arr, dtype, what):
    if arr.dtype != np.dtype(dtype):
        raise SpecError(f"{what}: dtype must be {np.dtype(dtype).name}, got {arr.dtype.name}")


def require_finite(arr, what):
    # SPEC 2.1: a NaN or infinite weight is an input error.
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"{what}: contains NaN or infinite values")


# ---------------------------------------------------------------------------------------------
# Activations (SPEC 1, 2.3, 7)
# ---------------------------------------------------------------------------------------------

def check_bits(k):
    if not 1 <= k <= 8:
        raise SpecError(f"bits must be in 1..8, got {k}")


def validate_activations(x, k, what="input"):
    """int8 with values -1/+1 for k = 1; uint8 in [0, 2^k - 1] for k = 2..8 (SPEC 1, 7)."""
    check_bits(k)
    if x.ndim != 3:
        raise SpecError(f"{what}: activations must be [C, H, W], got shape {x.shape}")
    if k == 1:
        require_dtype(x, np.int8, what)
        if not np.all((x == 1) | (x == -1)):
            raise SpecError(f"{what}: binary activations must be -1 or +1")
    else:
        require_dtype(x, np.uint8, what)
        if x.size and int(x.max()) > (1 << k) - 1:
            raise SpecError(f"{what}: value {int(x.max())} does not fit in {k} bits")


def default_bits(x):
    # Not in the SPEC: when --bits is omitted for `acc`, int8 means binary and uint8 means 8-bit.
    if x.dtype == np.int8:
        return 1
    if x.dtype == np.uint8:
        return 8
    raise SpecError(f"input: dtype must be int8 (binary) or uint8 (k-bit), got {x.dtype.name}")


# ---------------------------------------------------------------------------------------------
# Binarisation and the dot product (SPEC 2)
# ---------------------------------------------------------------------------------------------

def binarise(w, what):
    """SPEC 2.1: b = +1 if w >= 0 else -1; -0.0 >= 0 is true, so sign(-0.0) = +1."""
    require_finite(w, what)
    return np.where(w >= 0, 1, -1).astype(np.int64)


def out_size(n, K, S, p):
    """SPEC 2.4: floor((n + 2p - K) / S) + 1, must be >= 1."""
    if S < 1:
        raise SpecError(f"stride must be >= 1, got {S}")
    if p < 0:
        raise SpecError(f"padding must be >= 0, got {p}")
    size = (n + 2 * p - K) // S + 1  # Python // is floor division, also for negatives
    if size < 1:
        raise SpecError(f"output size {size} < 1 (input {n}, kernel {K}, stride {S}, padding {p})")
    return size


def window(Ap, ky, kx, S, Hout, Wout):
    """The activations read by tap (ky, kx) for every output pixel (SPEC 2.4).

    `Ap` is the input surrounded by p zeros on each side, so padded index = input index + p, and
    input row y*S - p + ky is padded row y*S + ky.  A zero activation times a +-1 weight is 0, so a
    tap in the padding contributes exactly 0, i.e. it is not counted (SPEC 2.2: invalid taps
    contribute 0, they are neither +1 nor -1).
    """
    return Ap[:, ky: ky + S * (Hout - 1) + 1: S, kx: kx + S * (Wout - 1) + 1: S]


def pad_input(A, p):
    C, H, W = A.shape
    Ap = np.zeros((C, H + 2 * p, W + 2 * p), dtype=np.int64)
    Ap[:, p:p + H, p:p + W] = A
    return Ap


def binary_conv(A, B, S, p):
    """SPEC 3.1: dot[o,y,x] = sum_{c,ky,kx valid} B[o,c,ky,kx] * A[c, y*S-p+ky, x*S-p+kx].

    A: int64 [C, H, W] (activation integers, +-1 or 0..2^k-1); B: int64 +-1 [O, C, K, K].
    Computed straightforwardly: for each tap, a (O x C) by (C x pixels) integer product.
    """
    C, H, W = A.shape
    O, Cb, K, K2 = B.shape
    assert Cb == C and K == K2
    Hout, Wout = out_size(H, K, S, p), out_size(W, K, S, p)
    Ap = pad_input(A, p)
    dot = np.zeros((O, Hout, Wout), dtype=np.int64)
    for ky in range(K):
        for kx in range(K):
            win = window(Ap, ky, kx, S, Hout, Wout)                 # [C, Hout, Wout]
            dot += np.tensordot(B[:, :, ky, kx], win, axes=(1, 0))  # int64, exact
    return dot


def check_square(shape, what):
    if shape[-1] != shape[-2]:
        raise SpecError(f"{what}: kernels must be square (SPEC 1), got {shape[-2]}x{shape[-1]}")


# ---------------------------------------------------------------------------------------------
# Layers (SPEC 3)
# ---------------------------------------------------------------------------------------------

def acc_conv(A, w, S, p):
    """SPEC 3.1 with the binarised conv weights of SPEC 2.1."""
    require_dtype(w, np.float32, "weights")
    if w.ndim != 4:
        raise SpecError(f"weights: conv weights must be [O, I, K, K], got shape {w.shape}")
    check_square(w.shape, "weights")
    if w.shape[1] != A.shape[0]:
        raise SpecError(f"weights: I = {w.shape[1]} but the input has C = {A.shape[0]}")
    return binary_conv(A, binarise(w, "weights"), S, p)


def acc_fc(A, w):
    """SPEC 3.2: dot[o] = sum_i B[o,i] * a[i], a = input flattened in CHW order; output [O,1,1]."""
    require_dtype(w, np.float32, "weights")
    if w.ndim != 2:
        raise SpecError(f"weights: fc weights must be [O, I], got shape {w.shape}")
    C, H, W = A.shape
    a = A.reshape(C * H * W)  # C order reshape: i = (c*H + y)*W + x  (SPEC 1)
    if w.shape[1] != a.size:
        raise SpecError(f"weights: I = {w.shape[1]} but the flattened input has {a.size} values")
    B = binarise(w, "weights")
    dot = B @ a  # int64
    return dot.reshape(-1, 1, 1)


def acc_slbf(A, bank, index, S, p):
    """SPEC 3.4: bank responses T(i, j) of every slice i and bank filter j, then gather-and-add."""
    require_dtype(bank, np.float32, "bank")
    if bank.ndim != 4:
        raise SpecError(f"bank: must be [n, d, K, K], got shape {bank.shape}")
    check_square(bank.shape, "bank")
    if index.ndim != 2:
        raise SpecError(f"index: must be [O, m], got shape {index.shape}")
    if not np.issubdtype(index.dtype, np.integer):
        raise SpecError(f"index: must have an integer dtype, got {index.dtype.name}")
    n, d, K, _ = bank.shape
    O, m = index.shape
    C = A.shape[0]
    if m < 1 or C % m != 0:
        raise SpecError(f"slbf: I = {C} is not a multiple of m = {m}")
    if C // m != d:
        raise SpecError(f"slbf: d = I / m = {C // m} but the bank has d = {d}")
    idx = [[int(v) for v in row] for row in index.tolist()]  # exact for every integer dtype
    for o in range(O):
        for i in range(m):
            if not 0 <= idx[o][i] < n:
                raise SpecError(f"index[{o}, {i}] = {idx[o][i]} is not in [0, {n})")
    Bk = binarise(bank, "bank")  # [n, d, K, K]
    # T[i][j] = sum_{c<d, ky, kx valid} Bk[j,c,ky,kx] * A[i*d + c, ...]
    T = [binary_conv(A[i * d:(i + 1) * d], Bk, S, p) for i in range(m)]  # each [n, Hout, Wout]
    Hout, Wout = T[0].shape[1], T[0].shape[2]
    dot = np.zeros((O, Hout, Wout), dtype=np.int64)
    for o in range(O):
        for i in range(m):
            dot[o] += T[i][idx[o][i]]
    return dot


def round_half_away(x):
    """SPEC notation: round(v) rounds half away from zero; exact on float64 arrays.

    |x| - floor(|x|) is computed exactly in floating point, so no double rounding happens
    (unlike floor(|x| + 0.5), which is wrong for 0.49999999999999994).
    """
    a = np.abs(x)
    f = np.floor(a)
    r = f + (a - f >= 0.5)
    return np.where(x < 0, -r, r)


def scale_groups(O, G):
    """SPEC 5.1: group g holds filters [g*G, min((g+1)*G, O)); 1 <= G <= O."""
    if not 1 <= G <= O:
        raise SpecError(f"scale group G = {G} must satisfy 1 <= G <= O = {O}")
    return [(g * G, min((g + 1) * G, O)) for g in range((O + G - 1) // G)]


def penni_cq(basis, coef, coef_bits, G, ws=None):
    """SPEC 3.5: the binary basis Bb and the integer coefficients cq[o, c, j]; with per-filter
    weight scales ws[o] (SPEC 5.1), e[o, c, j] = (coef[o, c, j] * beta_j) * ws[o]."""
    d, K, _ = basis.shape
    O, I, _ = coef.shape
    if coef_bits < 2:
        raise SpecError(f"coef-bits must be >= 2 (Q = 2^(coef_bits-1) - 1 >= 1), got {coef_bits}")
    Q = (1 << (coef_bits - 1)) - 1
    Bb = binarise(basis, "basis")
    # beta_j = mean(|basis[j]|) in float64, |.| summed sequentially in (ky, kx) order (SPEC 5.1).
    beta = np.zeros(d, dtype=np.float64)
    for j in range(d):
        s = 0.0
        for ky in range(K):
            for kx in range(K):
                s += abs(float(basis[j, ky, kx]))
        beta[j] = s / (K * K)
    # e[o,c,j] = coef[o,c,j] * beta_j (float64).
    e = coef.astype(np.float64) * beta[np.newaxis, np.newaxis, :]
    if ws is not None:
        e = e * ws.astype(np.float64)[:, np.newaxis, np.newaxis]
    cq = np.zeros((O, I, d), dtype=np.int64)
    for lo, hi in scale_groups(O, G):
        mx = float(np.max(np.abs(e[lo:hi]))) if e[lo:hi].size else 0.0
        sc = 1.0 if mx == 0.0 else mx / Q  # sc_g = max|e| / Q, or 1 if the maximum is 0
        q = np.clip(round_half_away(e[lo:hi] / sc), -Q, Q)
        cq[lo:hi] = q.astype(np.int64)
    # coef = 0 gives e = 0 and so cq = 0: pruned coefficients stay pruned.
    assert np.all(cq[coef == 0] == 0)
    return Bb, cq


def acc_penni(A, basis, coef, S, p, coef_bits, G, ws=None):
    """SPEC 3.5: stage 1 depthwise binary basis convolution, stage 2 sparse 1x1 with cq."""
    require_dtype(basis, np.float32, "basis")
    require_dtype(coef, np.float32, "coef")
    if basis.ndim != 3:
        raise SpecError(f"basis: must be [d, K, K], got shape {basis.shape}")
    check_square(basis.shape, "basis")
    if coef.ndim != 3:
        raise SpecError(f"coef: must be [O, I, d], got shape {coef.shape}")
    require_finite(coef, "coef")
    d, K, _ = basis.shape
    O, I, dc = coef.shape
    C, H, W = A.shape
    if I != C:
        raise SpecError(f"coef: I = {I} but the input has C = {C}")
    if dc != d:
        raise SpecError(f"coef: d = {dc} but the basis has d = {d}")
    if coef_bits is None or G is None:
        raise SpecError("penni needs --coef-bits and --scale-group")
    if ws is not None:
        if ws.dtype not in (np.float32, np.float64) or ws.shape != (O,):
            raise SpecError(f"weight-scale: must be float32 or float64 [O] = [{O}], got {ws.dtype} {ws.shape}")
        require_finite(ws, "weight-scale")
        if np.any(ws < 0):
            raise SpecError("weight-scale: must be >= 0")
    Bb, cq = penni_cq(basis, coef, coef_bits, G, ws)
    # Stage 1: P[c, j][y, x] = sum_{ky,kx valid} Bb[j,ky,kx] * A[c, y*S-p+ky, x*S-p+kx]
    Hout, Wout = out_size(H, K, S, p), out_size(W, K, S, p)
    Ap = pad_input(A, p)
    P = np.zeros((C, d, Hout, Wout), dtype=np.int64)
    for ky in range(K):
        for kx in range(K):
            win = window(Ap, ky, kx, S, Hout, Wout)  # [C, Hout, Wout]
            P += win[:, np.newaxis, :, :] * Bb[np.newaxis, :, ky, kx, np.newaxis, np.newaxis]
    # Stage 2: dot[o] = sum_{c, j with cq != 0} cq[o,c,j] * P[c,j]  (cq = 0 terms add 0)
    dot = np.tensordot(cq, P, axes=([1, 2], [0, 1]))  # [O, Hout, Wout], int64 exact
    return dot


def cmd_acc(args):
    x = load_npy(args.input)
    k = args.bits if args.bits is not None else default_bits(x)
    validate_activations(x, k)
    A = x.astype(np.int64)
    S = 1 if args.stride is None else args.stride
    p = 0 if args.padding is None else args.padding
    have_w = args.weights is not None
    have_slbf = args.bank is not None or args.index is not None
    have_penni = args.basis is not None or args.coef is not None
    if args.weight_scale is not None and args.kind != "penni":
        # A weight scale multiplies a filter's real output, not its binary dot product; only
        # penni's coefficient quantisation sees it (SPEC 5.1).
        raise SpecError("--weight-scale is for --kind penni only")
    if args.kind in ("conv", "fc"):
        if not have_w or have_slbf or have_penni:
            raise SpecError(f"--kind {args.kind} needs --weights (and nothing else)")
        w = load_npy(args.weights)
        if args.kind == "conv":
            dot = acc_conv(A, w, S, p)
        else:
            if (args.stride not in (None, 1)) or (args.padding not in (None, 0)):
                raise SpecError("fc has no stride or padding (SPEC 3.2)")
            dot = acc_fc(A, w)
    elif args.kind == "slbf":
        if args.bank is None or args.index is None or have_w or have_penni:
            raise SpecError("--kind slbf needs --bank and --index (and nothing else)")
        dot = acc_slbf(A, load_npy(args.bank), load_npy(args.index), S, p)
    else:  # penni
        if args.basis is None or args.coef is None or have_w or have_slbf:
            raise SpecError("--kind penni needs --basis and --coef (and nothing else)")
        dot = acc_penni(A, load_npy(args.basis), load_npy(args.coef), S, p,
                        args.coef_bits, args.scale_group,
                        None if args.weight_scale is None else load_npy(args.weight_scale))
    lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    if dot.size and (int(dot.min()) < lo or int(dot.max()) > hi):
        raise SpecError("accumulator value does not fit in int32")
    np.save(args.out, dot.astype(np.int32))


# ---------------------------------------------------------------------------------------------
# DCT-CM codec (SPEC 8)
# ---------------------------------------------------------------------------------------------

# SPEC 8.5 table V, index 0..16.
V_TABLE = [64, 90, 89, 87, 83, 80, 75, 70, 64, 57, 50, 43, 36, 25, 18, 9, 0]

# SPEC 8.5, the N = 8 matrix as printed; used ONLY to self-check the generated matrix.
PRINTED_T8 = """
    64  64  64  64  64  64  64  64
    89  75  50  18 -18 -50 -75 -89
    83  36 -36 -83 -83 -36  36  83
    75 -18 -89 -50  50  89  18 -75
    64 -64 -64  64  64 -64 -64  64
    50 -89  18  75 -75 -18  89 -50
    36 -83  83 -36 -36  83 -83  36
    18 -50  75 -89  89 -75  50 -18
"""


def dct_matrix(N):
    """SPEC 8.5: T[0][i] = 64; for j >= 1, a = ((2i+1) * j * (16/N)) mod 64 and
    T[j][i] = V[a] (a <= 16), -V[32-a] (16 < a <= 32), -V[a-32] (32 < a <= 48), V[64-a] (a > 48)."""
    if N not in (4, 8, 16):
        raise SpecError(f"block N must be 4, 8 or 16, got {N}")
    T = [[0] * N for _ in range(N)]
    for i in range(N):
        T[0][i] = 64
    for j in range(1, N):
        for i in range(N):
            a = ((2 * i + 1) * j * (16 // N)) % 64
            if a <= 16:
                T[j][i] = V_TABLE[a]
            elif a <= 32:
                T[j][i] = -V_TABLE[32 - a]
            elif a <= 48:
                T[j][i] = -V_TABLE[a - 32]
            else:
                T[j][i] = V_TABLE[64 - a]
    return T


def _self_check_t8():
    printed = [[int(t) for t in line.split()] for line in PRINTED_T8.strip().splitlines()]
    assert dct_matrix(8) == printed, "generated 8-point DCT matrix differs from SPEC 8.5"


_self_check_t8()


class CodecParams:
    """SPEC 8.1 parameters, validated."""

    def __init__(self, k, N, mode, step, keep, eg, segment, check="none"):
        check_bits(k)
        if check not in ("none", "crc8"):
            raise SpecError(f"record check must be none or crc8, got {check}")
        self.check = check
        if N not in (4, 8, 16):
            raise SpecError(f"block N must be 4, 8 or 16, got {N}")
        if segment < 1:
            raise SpecError(f"segment must be at least 1 channel, got {segment}")
        self.S = segment
        if mode not in ("raw", "sparse", "dct", "auto", "golomb"):
            raise SpecError(f"unknown mode {mode}")
        if k == 1:
            # SPEC 8.1: k = 1: raw only (auto means raw).
            if mode == "auto":
                mode = "raw"
            if mode != "raw":
                raise SpecError(f"mode {mode} is not allowed for k = 1 (raw only, SPEC 8.1)")
        self.k, self.N, self.mode = k, N, mode
        self.keep = N if keep is None else keep
        self.eg = 2 if eg is None else eg
        self.step = step
        self.t = None
        if mode in ("dct", "auto", "golomb"):
            if step is None:
                raise SpecError(f"mode {mode} needs --step (SPEC 8.1 gives no default)")
            self.t = check_step(step)
            if not 1 <= self.keep <= N:
                raise SpecError(f"keep must be in 1..{N}, got {self.keep}")
            if not 0 <= self.eg <= 7:
                raise SpecError(f"eg must be in 0..7, got {self.eg}")
            self.T = dct_matrix(N)
            self.r = 6 + (N.bit_length() - 1)  # r = 6 + log2(N)


def check_step(step):
    """SPEC 8.1: step = 2^t, 1..128; returns t."""
    if step < 1 or step > 128 or step & (step - 1):
        raise SpecError(f"step must be a power of two in 1..128, got {step}")
    return step.bit_length() - 1


class BitWriter:
    """SPEC 8.2: bits packed MSB first, multi-bit fields most significant bit first."""

    def __init__(self):
        self.bits = []

    def put(self, value, nbits):
        assert 0 <= value < (1 << nbits) or nbits == 0
        for s in range(nbits - 1, -1, -1):
            self.bits.append((value >> s) & 1)

    def pad_to_byte(self):
        while len(self.bits) % 8:
            self.bits.append(0)

    def to_bytes(self):
        assert len(self.bits) % 8 == 0
        out = bytearray()
        for i in range(0, len(self.bits), 8):
            byte = 0
            for j in range(8):  # bit 8i + j of the stream is bit 7 - j of byte i
                byte |= self.bits[i + j] << (7 - j)
            out.append(byte)
        return bytes(out)


class BitReader:
    def __init__(self, data):
        self.data = data
        self.pos = 0  # bit position
        self.where = ""

    def get(self, nbits):
        value = 0
        for _ in range(nbits):
            if self.pos >= 8 * len(self.data):
                raise SpecError(f"stream ends early (at bit {self.pos}, {self.where})")
            byte = self.data[self.pos >> 3]
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def skip_row_padding(self):
        # SPEC 8.2/8.3: unused bits at the end of a row are 0.
        while self.pos % 8:
            if self.get(1) != 0:
                raise SpecError(f"non-zero padding bit at the end of a row ({self.where})")


def eg_length(u, e):
    """Length of the Exp-Golomb code of order e of u (SPEC 8.5): (L - 1 - e) + L."""
    L = (u + (1 << e)).bit_length()
    return (L - 1 - e) + L


def eg_put(bw, u, e):
    """SPEC 8.5: w = u + 2^e, L = bit length of w; L - 1 - e zero bits, then w in L bits."""
    w = u + (1 << e)
    L = w.bit_length()
    bw.put(0, L - 1 - e)
    bw.put(w, L)


def eg_get(br, e):
    zeros = 0
    while br.get(1) == 0:
        zeros += 1
    # we consumed the leading 1 of w; w has L = zeros + 1 + e bits
    L = zeros + 1 + e
    w = (1 << (L - 1)) | br.get(L - 1)
    return w - (1 << e)


def to_code(v, k):
    """Value -> k-bit code: for k = 1 the bit of SPEC 2.1 (1 = +1, 0 = -1), else the value."""
    if k == 1:
        return 1 if v == 1 else 0
    return v


def from_code(c, k):
    if k == 1:
        return 1 if c == 1 else -1
    return c


def dct_forward(v, P):
    """SPEC 8.5 steps 1-3: extend by repetition, forward transform, quantise. Returns Xq[0..N)."""
    N, n = P.N, len(v)
    ext = list(v) + [v[n - 1]] * (N - n)
    half = (P.step // 2) if P.step > 1 else 0
    Xq = [0] * N
    for j in range(N):
        X = (sum(P.T[j][i] * ext[i] for i in range(N)) + 32) >> 6  # >> is floor, also for < 0
        if j < P.keep:
            mag = (abs(X) + half) >> P.t
            Xq[j] = -mag if X < 0 else mag
    return Xq


def dct_inverse(Xq, n, P):
    """SPEC 8.5 decoding: X' = Xq * step; v'[i] = clamp((sum_j T[j][i] X'[j] + 2^(r-1)) >> r)."""
    Xp = [x * P.step for x in Xq]
    top = (1 << P.k) - 1
    out = []
    for i in range(n):
        s = sum(P.T[j][i] * Xp[j] for j in range(P.N))
        out.append(min(max((s + (1 << (P.r - 1))) >> P.r, 0), top))
    return out


def dct_cost(Xq, P):
    """Payload bits of a dct block: keep mask bits + (EG code + sign bit) per non-zero Xq."""
    return P.keep + sum(eg_length(abs(x) - 1, P.eg) + 1 for x in Xq[:P.keep] if x != 0)


def golomb_quantise(x, P):
    """SPEC 8.8: q = (v + h) >> t with h = step/2, and h = 0 for step = 1."""
    h = P.step // 2 if P.step > 1 else 0
    return (x + h) >> P.t


def put_block(bw, v, P):
    """One block of SPEC 8.4 (plus 8.6 for auto). v: list of activation values."""
    k, n = P.k, len(v)
    mode = P.mode
    Xq = None
    if mode == "auto":
        # SPEC 8.6: shortest payload; ties go to the first of zero, sparse, raw, dct.
        nnz = sum(1 for x in v if x != 0)
        Xq = dct_forward(v, P)
        candidates = []
        if nnz == 0:
            candidates.append((0, "zero"))
        candidates.append((n + k * nnz, "sparse"))
        candidates.append((n * k, "raw"))
        candidates.append((dct_cost(Xq, P), "dct"))
        best = min(c[0] for c in candidates)
        mode = next(name for cost, name in candidates if cost == best)
        bw.put({"zero": 0, "sparse": 1, "raw": 2, "dct": 3}[mode], 2)
    if mode == "zero":
        return
    if mode == "sparse":
        for x in v:
            bw.put(1 if x != 0 else 0, 1)
        for x in v:
            if x != 0:
                bw.put(to_code(x, k), k)
    elif mode == "raw":
        for x in v:
            bw.put(to_code(x, k), k)
    elif mode == "golomb":  # SPEC 8.8
        q = [golomb_quantise(x, P) for x in v]
        for qi in q:
            bw.put(1 if qi != 0 else 0, 1)
        for qi in q:
            if qi != 0:
                eg_put(bw, qi - 1, P.eg)  # q > 0: no sign bit
    else:  # dct
        if Xq is None:
            Xq = dct_forward(v, P)
        for j in range(P.keep):
            bw.put(1 if Xq[j] != 0 else 0, 1)
        for j in range(P.keep):
            if Xq[j] != 0:
                eg_put(bw, abs(Xq[j]) - 1, P.eg)
                bw.put(1 if Xq[j] < 0 else 0, 1)  # sign bit, 1 = negative


def get_block(br, n, P):
    k = P.k
    mode = P.mode
    if mode == "auto":
        mode = ["zero", "sparse", "raw", "dct"][br.get(2)]
    if mode == "zero":
        return [0] * n
    if mode == "sparse":
        mask = [br.get(1) for _ in range(n)]
        return [from_code(br.get(k), k) if mask[i] else 0 for i in range(n)]
    if mode == "raw":
        return [from_code(br.get(k), k) for _ in range(n)]
    if mode == "golomb":  # SPEC 8.8
        mask = [br.get(1) for _ in range(n)]
        top = (1 << k) - 1
        qmax = golomb_quantise(top, P)  # the largest q any k-bit value gives
        out = []
        for i in range(n):
            q = 0
            if mask[i]:
                q = eg_get(br, P.eg) + 1
                if q > qmax:
                    raise SpecError(f"golomb value {q} > {qmax} ({br.where})")
            out.append(min(q << P.t, top))
        return out
    # dct
    mask = [br.get(1) for _ in range(P.keep)]
    Xq = [0] * P.N
    for j in range(P.keep):
        if mask[j]:
            mag = eg_get(br, P.eg) + 1
            Xq[j] = -mag if br.get(1) else mag
    return dct_inverse(Xq, n, P)


def records(C, S, N):
    """SPEC 8.3: the segments [s*S, min((s+1)*S, C)), each as its list of blocks (ch0, n): N
    channels from the segment's start, the last block short at the segment's end."""
    out = []
    for s0 in range(0, C, S):
        s1 = min(s0 + S, C)
        out.append([(c0, min(N, s1 - c0)) for c0 in range(s0, s1, N)])
    return out


def crc8_bits(bits):
    """SPEC 8.9: the CRC-8 of a record's bits by polynomial long division: the message with
    8 zero bits appended, its first 8 bits inverted (the register's start 0xFF), divided by
    x^8 + x^2 + x + 1; the remainder's 8 bits, most significant first."""
    m = list(bits) + [0] * 8
    for i in range(8):
        m[i] ^= 1
    g = [1, 0, 0, 0, 0, 0, 1, 1, 1]
    for i in range(len(m) - 8):
        if m[i]:
            for j in range(9):
                m[i + j] ^= g[j]
    return int("".join(map(str, m[-8:])), 2)


def encode(x, P):
    """SPEC 8.3: rows; in each row one record per segment (pixels, then the segment's blocks),
    each record padded to a byte."""
    C, H, W = x.shape
    xs = x.tolist()
    bw = BitWriter()
    for y in range(H):
        for blocks in records(C, P.S, P.N):
            start = len(bw.bits)
            for xx in range(W):
                for c0, n in blocks:
                    put_block(bw, [xs[c0 + i][y][xx] for i in range(n)], P)
            bw.pad_to_byte()
            if P.check == "crc8":
                bw.put(crc8_bits(bw.bits[start:]), 8)
    return bw.to_bytes()


def decode(data, shape, P):
    C, H, W = shape
    rec = np.zeros((C, H, W), dtype=np.int64)
    br = BitReader(data)
    for y in range(H):
        for s, blocks in enumerate(records(C, P.S, P.N)):
            start = br.pos
            for xx in range(W):
                for c0, n in blocks:
                    br.where = f"row {y}, pixel {xx}, block at channel {c0}"
                    vals = get_block(br, n, P)
                    for i in range(n):
                        rec[c0 + i, y, xx] = vals[i]
            br.where = f"end of row {y}, segment {s}"
            br.skip_row_padding()
            if P.check == "crc8":
                got = br.get(8)
                body = [(data[i >> 3] >> (7 - (i & 7))) & 1 for i in range(start, br.pos - 8)]
                if got != crc8_bits(body):
                    raise SpecError(f"record check byte {got:#04x} does not match ({br.where})")
    if br.pos != 8 * len(data):
        raise SpecError(f"stream has {len(data) - br.pos // 8} trailing bytes after {H} rows")
    return rec.astype(np.int8 if P.k == 1 else np.uint8)


def dct_error_bound(N, step, k):
    """SPEC 8.7, computed exactly with rationals:
    floor(A * max_i sum_j |Pm[i][j] - delta_ij| + (1 + step)/2 * Tsum / (64 N) + 1/2)."""
    check_bits(k)
    check_step(step)
    T = dct_matrix(N)
    A = (1 << k) - 1
    dev = Fraction(0)
    for i in range(N):
        row = Fraction(0)
        for j in range(N):
            pm = Fraction(sum(T[r][i] * T[r][j] for r in range(N)), 64 * 64 * N)
            row += abs(pm - (1 if i == j else 0))
        dev = max(dev, row)
    tsum = max(sum(abs(T[j][i]) for j in range(N)) for i in range(N))
    value = A * dev + Fraction(1 + step, 2) * Fraction(tsum, 64 * N) + Fraction(1, 2)
    return math.floor(value)


def cmd_encode(args):
    P = CodecParams(args.bits, args.block, args.mode, args.step, args.keep, args.eg, args.segment, args.check)
    x = load_npy(args.input)
    validate_activations(x, args.bits)
    data = encode(x, P)
    with open(args.out, "wb") as f:
        f.write(data)


def cmd_decode(args):
    P = CodecParams(args.bits, args.block, args.mode, args.step, args.keep, args.eg, args.segment, args.check)
    C, H, W = args.shape
    if C < 1 or H < 1 or W < 1:
        raise SpecError(f"shape must be positive, got {args.shape}")
    with open(args.stream, "rb") as f:
        data = f.read()
    np.save(args.out, decode(data, (C, H, W), P))


def cmd_bound(args):
    print(dct_error_bound(args.block, args.step, args.bits))


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def build_parser():
    ap = argparse.ArgumentParser(description="Independent reference of docs/SPEC.md")
    sub = ap.add_subparsers(dest="cmd", required=True)

    a = sub.add_parser("acc", help="raw signed dot products of a layer (SPEC 2, 3)")
    a.add_argument("--kind", required=True, choices=["conv", "fc", "slbf", "penni"])
    a.add_argument("--input", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--stride", type=int, default=None, help="default 1")
    a.add_argument("--padding", type=int, default=None, help="default 0")
    a.add_argument("--bits", type=int, default=None,
                   help="activation bits 1..8 (default: 1 for int8 input, 8 for uint8)")
    a.add_argument("--coef-bits", type=int, default=None, help="penni only")
    a.add_argument("--scale-group", type=int, default=None, help="penni only")
    a.add_argument("--weights")
    a.add_argument("--bank")
    a.add_argument("--index")
    a.add_argument("--basis")
    a.add_argument("--coef")
    a.add_argument("--weight-scale", help="penni only: per-filter weight scales ws[o] (SPEC 5.1)")
    a.set_defaults(func=cmd_acc)

    def codec_args(p):
        p.add_argument("--bits", type=int, required=True)
        p.add_argument("--block", type=int, required=True)
        p.add_argument("--mode", required=True, choices=["raw", "sparse", "dct", "auto", "golomb"])
        p.add_argument("--step", type=int, default=None, help="required for dct/auto/golomb")
        p.add_argument("--keep", type=int, default=None, help="default N")
        p.add_argument("--eg", type=int, default=None, help="default 2")
        p.add_argument("--segment", type=int, required=True, help="channels per record (SPEC 8.3)")
        p.add_argument("--check", default="none", choices=["none", "crc8"], help="record check (SPEC 8.9)")

    e = sub.add_parser("encode", help="DCT-CM bitstream (SPEC 8)")
    e.add_argument("--input", required=True)
    e.add_argument("--out", required=True)
    codec_args(e)
    e.set_defaults(func=cmd_encode)

    d = sub.add_parser("decode", help="reconstruct a tensor from a DCT-CM bitstream (SPEC 8)")
    d.add_argument("--stream", required=True)
    d.add_argument("--shape", type=int, nargs=3, required=True, metavar=("C", "H", "W"))
    d.add_argument("--out", required=True)
    codec_args(d)
    d.set_defaults(func=cmd_decode)

    b = sub.add_parser("bound", help="integer dct error bound (SPEC 8.7)")
    b.add_argument("--block", type=int, required=True)
    b.add_argument("--step", type=int, required=True)
    b.add_argument("--bits", type=int, required=True)
    b.set_defaults(func=cmd_bound)
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except SpecError as exc:
        print(f"spec_ref: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"spec_ref: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
