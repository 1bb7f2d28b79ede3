#!/usr/bin/env python3
"""Self-test of spec_ref.py: runs the command-line program on small tensors.

Checks: hand-computed conv (stride 2, padding 1, k-bit and binary), fc and penni examples;
slbf == conv with stacked weights (SPEC 3.4); conv/penni against a naive per-tap loop with an
explicit validity test (SPEC 2.2); hand-computed bitstreams; raw/sparse/golomb-step-1 round
trips are exact; dct/auto reconstructions stay within the SPEC 8.7 bound, golomb ones within
step/2 (SPEC 8.8); truncated streams and too large golomb values are rejected;
timing of a 64-channel 16x16 3x3 layer.  Exits non-zero on the first failure.
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = os.path.join(HERE, "spec_ref.py")
sys.path.insert(0, HERE)
import spec_ref  # noqa: E402  (for the bound function and the DCT matrix only)

TMP = tempfile.mkdtemp(prefix="spec_ref_selftest_")
RNG = np.random.default_rng(12345)
COUNT = [0]


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def check(cond, msg):
    COUNT[0] += 1
    if not cond:
        fail(msg)


def path(name):
    return os.path.join(TMP, name)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args, expect_ok=True, proc=False):
    """Run the spec_ref command line: in a subprocess when proc is set, otherwise through
    spec_ref.main(argv) in this process (same argparse front end, much faster)."""
    argv = [str(a) for a in args]
    if proc:
        r = subprocess.run([sys.executable, PROG] + argv, capture_output=True, text=True)
    else:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = spec_ref.main(argv)
        r = Result(rc, out.getvalue(), err.getvalue())
    if expect_ok and r.returncode != 0:
        fail(f"spec_ref {' '.join(map(str, args))} failed: {r.stderr.strip()}")
    return r


def save(name, arr):
    p = path(name)
    np.save(p, arr)
    return p


def acc(kind, x, extra):
    xp = save("acc_in.npy", x)
    out = path("acc_out.npy")
    run("acc", "--kind", kind, "--input", xp, "--out", out, *extra)
    res = np.load(out)
    check(res.dtype == np.int32, "acc output must be int32")
    return res


# ------------------------------------------------------------------------------ naive model
def naive_conv(A, B, S, p):
    """Per output value, per tap, with the explicit validity test of SPEC 2.2."""
    C, H, W = A.shape
    O, _, K, _ = B.shape
    Ho, Wo = (H + 2 * p - K) // S + 1, (W + 2 * p - K) // S + 1
    out = np.zeros((O, Ho, Wo), dtype=np.int64)
    for o in range(O):
        for y in range(Ho):
            for x in range(Wo):
                s = 0
                for c in range(C):
                    for ky in range(K):
                        for kx in range(K):
                            iy, ix = y * S - p + ky, x * S - p + kx
                            if 0 <= iy < H and 0 <= ix < W:
                                s += int(B[o, c, ky, kx]) * int(A[c, iy, ix])
                out[o, y, x] = s
    return out


def sgn(w):
    return np.where(w >= 0, 1, -1)


def rand_act(shape, k, zero_frac=0.0):
    if k == 1:
        return RNG.choice(np.array([-1, 1], dtype=np.int8), size=shape)
    x = RNG.integers(0, 1 << k, size=shape).astype(np.uint8)
    if zero_frac:
        x[RNG.random(shape) < zero_frac] = 0
    return x


# ------------------------------------------------------------------------------ layers
def test_conv_hand():
    A = np.array([[[1, 2, 3, 0],
                   [0, 1, 2, 3],
                   [3, 0, 1, 2],
                   [2, 3, 0, 1]]], dtype=np.uint8)
    # signs: [[+,-,+],[-,+,-],[+,+,-]]; 0.0 and -0.0 both binarise to +1 (SPEC 2.1)
    W = np.array([[[[0.0, -1.0, 2.0],
                    [-0.5, -0.0, -3.0],
                    [1.5, 0.25, -0.125]]]], dtype=np.float32)
    wp = save("w.npy", W)
    # stride 2, padding 1: H_out = floor((4 + 2 - 3) / 2) + 1 = 2; computed by hand:
    #  (0,0): taps (1,1),(1,2),(2,1),(2,2) valid: 1*1 - 2 + 0 - 1          = -2
    #  (0,1): rows 0,1 x cols 1..3: (-2 + 3 - 0) + (1 + 2 - 3)            =  1
    #  (1,0): rows 1..3 x cols 0,1: (0 + 1) + (3 - 0) + (2 - 3)           =  3
    #  (1,1): rows 1..3 x cols 1..3: (1 - 2 + 3) + (0 + 1 - 2) + (3 + 0 - 1) = 3
    got = acc("conv", A, ["--weights", wp, "--stride", 2, "--padding", 1, "--bits", 2])
    check(np.array_equal(got, [[[-2, 1], [3, 3]]]), f"conv hand example (k=2): {got.tolist()}")
    # binary input of all +1: the sum of the weight signs over the valid taps only
    #  (0,0): +1 -1 +1 -1 = 0; (0,1): (-1 +1 -1) + (+1 +1 -1) = 0;
    #  (1,0): (-1 +1) + (+1 -1) + (+1 -1) = 0; (1,1): all nine = 1
    Ab = np.ones((1, 4, 4), dtype=np.int8)
    got = acc("conv", Ab, ["--weights", wp, "--stride", 2, "--padding", 1, "--bits", 1])
    check(np.array_equal(got, [[[0, 0], [0, 1]]]), f"conv hand example (k=1): {got.tolist()}")


def test_fc_hand():
    A = np.array([[[1, 2]], [[3, 4]]], dtype=np.uint8)  # [C=2, H=1, W=2], CHW flat = 1,2,3,4
    W = np.array([[1, -1, 1, -1], [-0.0, 0, -2, 5]], dtype=np.float32)
    got = acc("fc", A, ["--weights", save("w.npy", W), "--bits", 3])
    check(np.array_equal(got, [[[-2]], [[4]]]), f"fc hand example: {got.tolist()}")


def test_conv_random():
    for (C, H, W, O, K, S, p, k) in [(3, 5, 6, 4, 3, 1, 0, 1), (5, 7, 5, 3, 3, 2, 1, 4),
                                      (2, 6, 6, 2, 5, 3, 2, 8), (4, 4, 4, 3, 1, 2, 0, 2),
                                      (3, 5, 5, 2, 3, 1, 3, 1)]:
        A = rand_act((C, H, W), k)
        Wt = RNG.standard_normal((O, C, K, K)).astype(np.float32)
        got = acc("conv", A, ["--weights", save("w.npy", Wt), "--stride", S, "--padding", p,
                              "--bits", k])
        check(np.array_equal(got, naive_conv(A, sgn(Wt), S, p)), f"conv random {C,H,W,O,K,S,p,k}")


def test_slbf():
    for (C, m, n, O, K, S, p, k, idt) in [(6, 3, 4, 5, 3, 1, 1, 1, np.uint8),
                                          (8, 2, 3, 4, 3, 2, 1, 5, np.int64),
                                          (4, 4, 2, 3, 1, 1, 0, 8, np.int16)]:
        d = C // m
        A = rand_act((C, 6, 5), k)
        bank = RNG.standard_normal((n, d, K, K)).astype(np.float32)
        index = RNG.integers(0, n, size=(O, m)).astype(idt)
        got = acc("slbf", A, ["--bank", save("bank.npy", bank), "--index", save("idx.npy", index),
                              "--stride", S, "--padding", p, "--bits", k])
        # SPEC 3.4: equals the conv with stacked weights B[o, i*d + c] = Bk[s(o, i), c]
        stacked = np.concatenate([bank[index[:, i].astype(np.int64)] for i in range(m)], axis=1)
        check(np.array_equal(got, naive_conv(A, sgn(stacked), S, p)), f"slbf {C,m,n,O,K,S,p,k}")


def test_penni_hand():
    A = np.array([[[1, 2], [3, 0]]], dtype=np.uint8)
    basis = np.array([[[0.5]], [[-2.0]]], dtype=np.float32)  # beta = [0.5, 2.0], Bb = [+1, -1]
    coef = np.array([[[1.0, 0.125]], [[-2.0, 0.0]]], dtype=np.float32)
    # e = [[0.5, 0.25]], [[-1.0, 0.0]]; coef_bits 3 -> Q = 3
    # G = 1: sc_0 = 0.5/3 -> cq_0 = [3, round(1.5) = 2]; sc_1 = 1/3 -> cq_1 = [-3, 0]
    #        dot_0 = 3A - 2A = A, dot_1 = -3A
    # G = 2: sc = 1/3 -> cq_0 = [round(1.5) = 2, round(0.75) = 1], cq_1 = [-3, 0]
    #        dot_0 = 2A - A = A, dot_1 = -3A
    bp, cp = save("basis.npy", basis), save("coef.npy", coef)
    for G in (1, 2):
        got = acc("penni", A, ["--basis", bp, "--coef", cp, "--coef-bits", 3,
                               "--scale-group", G, "--bits", 2])
        want = np.stack([A[0], -3 * A[0].astype(np.int64)])
        check(np.array_equal(got, want), f"penni hand example G={G}: {got.tolist()}")


def test_penni_random():
    for (C, O, d, K, S, p, k, cb, G) in [(3, 5, 4, 3, 1, 1, 1, 4, 2), (4, 3, 2, 3, 2, 1, 6, 8, 3),
                                          (2, 4, 3, 1, 1, 0, 8, 2, 1)]:
        A = rand_act((C, 6, 7), k)
        basis = RNG.standard_normal((d, K, K)).astype(np.float32)
        coef = RNG.standard_normal((O, C, d)).astype(np.float32)
        coef[RNG.random(coef.shape) < 0.4] = 0.0  # pruned
        got = acc("penni", A, ["--basis", save("basis.npy", basis), "--coef", save("coef.npy", coef),
                               "--coef-bits", cb, "--scale-group", G, "--stride", S,
                               "--padding", p, "--bits", k])
        Bb, cq = spec_ref.penni_cq(basis, coef, cb, G)
        Q = 2 ** (cb - 1) - 1
        check(np.all(np.abs(cq) <= Q) and np.all(cq[coef == 0] == 0), "penni cq range / pruning")
        # the two-stage sum equals a conv with integer weights W[o,c] = sum_j cq[o,c,j] * Bb[j]
        Wint = np.einsum("ocj,jyx->ocyx", cq, sgn(basis))
        check(np.array_equal(got, naive_conv(A, Wint, S, p)), f"penni {C,O,d,K,S,p,k,cb,G}")


def test_acc_errors():
    A = rand_act((2, 4, 4), 2)
    bad = np.ones((1, 2, 3, 3), dtype=np.float32)
    bad[0, 0, 0, 0] = np.nan
    r = run("acc", "--kind", "conv", "--input", save("x.npy", A), "--weights", save("w.npy", bad),
            "--out", path("o.npy"), expect_ok=False, proc=True)
    check(r.returncode != 0, "NaN weight must be rejected")
    A[0, 0, 0] = 4  # does not fit in 2 bits
    r = run("acc", "--kind", "conv", "--input", save("x.npy", A), "--bits", 2,
            "--weights", save("w.npy", np.ones((1, 2, 3, 3), np.float32)), "--out", path("o.npy"),
            expect_ok=False, proc=True)
    check(r.returncode != 0, "out-of-range activation must be rejected")
    # SPEC 1: Fortran-order .npy files are rejected
    r = run("acc", "--kind", "conv", "--input", save("x.npy", np.asfortranarray(rand_act((2, 4, 4), 2))),
            "--weights", save("w.npy", np.ones((1, 2, 3, 3), np.float32)), "--out", path("o.npy"),
            expect_ok=False, proc=True)
    check(r.returncode != 0, "Fortran-order input must be rejected")


def test_timing():
    A = rand_act((64, 16, 16), 8)
    Wt = RNG.standard_normal((64, 64, 3, 3)).astype(np.float32)
    t0 = time.time()
    got = acc("conv", A, ["--weights", save("w.npy", Wt), "--padding", 1, "--bits", 8])
    dt = time.time() - t0
    check(got.shape == (64, 16, 16), "timing layer shape")
    check(dt < 5.0, f"64x16x16 3x3 conv took {dt:.2f} s")
    # spot-check a few output values against the naive formula
    B = sgn(Wt)
    for (o, y, x) in [(0, 0, 0), (5, 15, 3), (63, 7, 15)]:
        s = 0
        for c in range(64):
            for ky in range(3):
                for kx in range(3):
                    iy, ix = y - 1 + ky, x - 1 + kx
                    if 0 <= iy < 16 and 0 <= ix < 16:
                        s += int(B[o, c, ky, kx]) * int(A[c, iy, ix])
        check(int(got[o, y, x]) == s, f"timing layer value {(o, y, x)}")


# ------------------------------------------------------------------------------ codec
def codec_args(k, N, mode, step=None, keep=None, eg=None):
    # --segment 4096: one record per row (SPEC 8.3 with S >= C), as the hand streams assume
    a = ["--bits", k, "--block", N, "--mode", mode, "--segment", 4096]
    if step is not None:
        a += ["--step", step]
    if keep is not None:
        a += ["--keep", keep]
    if eg is not None:
        a += ["--eg", eg]
    return a


def encode(x, *cargs):
    run("encode", "--input", save("enc_in.npy", x), "--out", path("s.bin"), *codec_args(*cargs))
    with open(path("s.bin"), "rb") as f:
        return f.read()


def decode(data, shape, *cargs, expect_ok=True, proc=False):
    with open(path("d.bin"), "wb") as f:
        f.write(data)
    r = run("decode", "--stream", path("d.bin"), "--shape", *shape, "--out", path("rec.npy"),
            *codec_args(*cargs), expect_ok=expect_ok, proc=proc)
    if r.returncode != 0:
        return r
    return np.load(path("rec.npy"))


def test_dct_matrix():
    # spec_ref asserts the generated N=8 matrix equals the printed one at import; also check
    # HEVC's embedding: the N/2-point matrix is the even rows of the N-point one, first half.
    for N in (8, 16):
        T, Th = spec_ref.dct_matrix(N), spec_ref.dct_matrix(N // 2)
        check([row[:N // 2] for row in T[0::2]] == Th, f"DCT {N} even rows == DCT {N // 2}")
    check(spec_ref.dct_matrix(16)[1] == [90, 87, 80, 70, 57, 43, 25, 9,
                                         -9, -25, -43, -57, -70, -80, -87, -90], "DCT16 row 1")


def test_codec_hand():
    # raw, k=2, N=4, C=3, H=1, W=2: 01 10 11 | 00 01 00 | pad -> 0110 1100 0100 0000
    x = np.array([[[1, 0]], [[2, 1]], [[3, 0]]], dtype=np.uint8)
    check(encode(x, 2, 4, "raw") == bytes([0x6C, 0x40]), "raw hand stream")
    r = run("encode", "--input", save("enc_in.npy", x), "--out", path("s2.bin"),
            *codec_args(2, 4, "raw"), proc=True)  # once through the real command line
    check(open(path("s2.bin"), "rb").read() == bytes([0x6C, 0x40]), "raw hand stream (subprocess)")
    # sparse: 111 01 10 11 | 010 01 | pad -> 1110 1101 1010 0100
    check(encode(x, 2, 4, "sparse") == bytes([0xED, 0xA4]), "sparse hand stream")
    # dct, k=8, N=4, v = [10]*4, step 1: X = [(2560+32)>>6 = 40, 0, 0, 0]; mask 1000;
    # EG2(39): w = 43 = 101011 (L=6), 3 zeros; sign 0 -> 1000 000101011 0 + 00 -> 0x81 0x58
    x = np.full((4, 1, 1), 10, dtype=np.uint8)
    s = encode(x, 8, 4, "dct", 1)
    check(s == bytes([0x81, 0x58]), f"dct hand stream {s.hex()}")
    check(np.array_equal(decode(s, (4, 1, 1), 8, 4, "dct", 1), x), "dct hand decode")
    # auto: costs zero -, sparse 4+32, raw 32, dct 14 -> header 11 + dct payload: 0xE0 0x56
    check(encode(x, 8, 4, "auto", 1) == bytes([0xE0, 0x56]), "auto hand stream")
    # auto, all-zero block: header 00, then row padding -> one zero byte
    z = np.zeros((4, 1, 1), dtype=np.uint8)
    check(encode(z, 8, 4, "auto", 1) == bytes([0x00]), "auto zero block")
    # k = 1, raw: +1 -> 1, -1 -> 0; C=5, N=4: blocks of 4 then 1; 10110 + pad
    b = np.array([1, -1, 1, 1, -1], dtype=np.int8).reshape(5, 1, 1)
    check(encode(b, 1, 4, "raw") == bytes([0xB0]), "binary raw stream")
    check(encode(b, 1, 4, "auto") == bytes([0xB0]), "binary auto == raw")
    # rows start on a byte boundary: two rows of one 5-bit pixel -> two bytes
    # row 0 pixel = channels [+1,-1,+1,+1,-1] -> 10110; row 1 = [-1,-1,-1,-1,+1] -> 00001
    b2 = np.array([[1, -1, 1, 1, -1], [-1, -1, -1, -1, 1]], dtype=np.int8).T.reshape(5, 2, 1)
    b2 = np.ascontiguousarray(b2)  # np.save of a Fortran-ordered array writes fortran_order
    check(encode(b2, 1, 4, "raw") == bytes([0xB0, 0x08]), "binary raw two rows")
    # golomb, k=8, N=4, step 4 (h = 2), eg 0: v = [0, 9, 200, 255] -> q = [0, 2, 50, 64];
    # mask 0111, EG0(1) = 010, EG0(49) = 00000 110010, EG0(63) = 000000 1000000, 1 bit padding
    g = np.array([0, 9, 200, 255], dtype=np.uint8).reshape(4, 1, 1)
    s = encode(g, 8, 4, "golomb", 4, None, 0)
    check(s == bytes([0x74, 0x0C, 0x80, 0x80]), f"golomb hand stream {s.hex()}")
    rec = decode(s, (4, 1, 1), 8, 4, "golomb", 4, None, 0)
    check(rec.ravel().tolist() == [0, 8, 200, 255], "golomb hand decode (256 clamped to 255)")
    # q = 65 > (255 + 2) >> 2 = 64: mask 1000, EG0(64) = 000000 1000001 -> rejected
    r = decode(bytes([0x80, 0x20, 0x80]), (4, 1, 1), 8, 4, "golomb", 4, None, 0, expect_ok=False)
    check(not isinstance(r, np.ndarray) and "golomb value 65" in r.stderr, "golomb q too big")


def test_roundtrip_lossless():
    for k in range(1, 9):
        for N in (4, 8, 16):
            for C in (1, 5, N, 2 * N + 3):
                shape = (C, int(RNG.integers(1, 4)), int(RNG.integers(1, 4)))
                x = rand_act(shape, k, zero_frac=0.6)
                modes = ["raw"] if k == 1 else ["raw", "sparse", "golomb"]
                for mode in modes:
                    step = 1 if mode == "golomb" else None  # golomb is lossless at step 1
                    s = encode(x, k, N, mode, step)
                    rec = decode(s, shape, k, N, mode, step)
                    check(rec.dtype == x.dtype and np.array_equal(rec, x),
                          f"{mode} round trip k={k} N={N} C={C}")


def smooth_act(shape, k):
    C, H, W = shape
    top = (1 << k) - 1
    base = RNG.integers(0, top + 1, size=(1, H, W))
    ramp = np.arange(C).reshape(C, 1, 1) * RNG.integers(-2, 3)
    return np.clip(base + ramp + RNG.integers(-1, 2, size=shape), 0, top).astype(np.uint8)


def test_dct_bound():
    worst = {}
    for k in (2, 4, 8):
        for N in (4, 8, 16):
            for step in (1, 2, 8, 32, 128):
                bound = spec_ref.dct_error_bound(N, step, k)
                r = run("bound", "--block", N, "--step", step, "--bits", k, proc=(N == 8))
                check(r.stdout.strip() == str(bound), "bound command output")
                for mode in ("dct", "auto"):
                    C = N + 3 if mode == "dct" else 2 * N
                    shape = (C, 2, 3)
                    x = rand_act(shape, k, 0.3) if RNG.random() < 0.5 else smooth_act(shape, k)
                    eg = int(RNG.integers(0, 8))
                    s = encode(x, k, N, mode, step, None, eg)
                    rec = decode(s, shape, k, N, mode, step, None, eg)
                    err = int(np.max(np.abs(rec.astype(np.int64) - x.astype(np.int64))))
                    check(err <= bound, f"{mode} k={k} N={N} step={step}: error {err} > {bound}")
                    worst[(k, N, step)] = max(worst.get((k, N, step), 0), err)
                # keep < N: no bound promised, but the stream must decode and stay in range
                x = smooth_act((N, 2, 2), k)
                s = encode(x, k, N, "dct", step, max(1, N // 2), 2)
                rec = decode(s, (N, 2, 2), k, N, "dct", step, max(1, N // 2), 2)
                check(rec.dtype == np.uint8 and int(rec.max()) <= (1 << k) - 1, "keep<N range")


def test_golomb_bound():
    # SPEC 8.8: |v' - v| <= step/2 for every value, and the bound is reached
    for k in range(2, 9):
        for N in (4, 8, 16):
            for step in (2, 4, 8, 16, 32, 64, 128):
                shape = (N + 3, 2, 3)
                x = rand_act(shape, k, 0.3) if RNG.random() < 0.5 else smooth_act(shape, k)
                eg = int(RNG.integers(0, 8))
                rec = decode(encode(x, k, N, "golomb", step, None, eg), shape, k, N, "golomb", step, None, eg)
                err = int(np.max(np.abs(rec.astype(np.int64) - x.astype(np.int64))))
                check(err <= step // 2, f"golomb k={k} N={N} step={step}: error {err} > {step // 2}")
    allv = np.arange(256, dtype=np.uint8).reshape(256, 1, 1)
    for step in (2, 16, 128):
        rec = decode(encode(allv, 8, 8, "golomb", step), (256, 1, 1), 8, 8, "golomb", step)
        err = int(np.max(np.abs(rec.astype(np.int64) - allv.astype(np.int64))))
        check(err == step // 2, f"golomb step {step}: worst error {err} != {step // 2}")


def test_truncated():
    for (k, N, mode, step) in [(3, 4, "raw", None), (5, 8, "sparse", None), (8, 8, "dct", 4),
                               (6, 16, "auto", 2), (1, 4, "raw", None), (7, 8, "golomb", 4)]:
        shape = (N + 1, 3, 2)
        x = rand_act(shape, k, 0.3)
        s = encode(x, k, N, mode, step)
        r = decode(s[:-1], shape, k, N, mode, step, expect_ok=False, proc=True)
        check(not isinstance(r, np.ndarray) and r.returncode != 0, f"truncated {mode} accepted")
        msg = r.stderr.strip()
        check(msg.count("\n") == 0 and "ends early" in msg, f"truncated message: {msg!r}")
        r = decode(b"", shape, k, N, mode, step, expect_ok=False, proc=True)
        check(not isinstance(r, np.ndarray) and r.returncode != 0, "empty stream accepted")


def main():
    tests = [test_conv_hand, test_fc_hand, test_conv_random, test_slbf, test_penni_hand,
             test_penni_random, test_acc_errors, test_timing, test_dct_matrix, test_codec_hand,
             test_roundtrip_lossless, test_dct_bound, test_golomb_bound, test_truncated]
    for t in tests:
        t0 = time.time()
        t()
        print(f"ok  {t.__name__}  ({time.time() - t0:.1f} s)")
    print(f"all {COUNT[0]} checks passed")
    shutil.rmtree(TMP, ignore_errors=True)  # kept on failure, for inspection
    return 0


if __name__ == "__main__":
    sys.exit(main())
