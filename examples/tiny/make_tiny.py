#!/usr/bin/env python3
"""Regenerates the tiny example network's tensors (seeded, so the files are reproducible).

The weights are random, not trained: the example exists to exercise every layer kind and every
codec mode end to end, not to classify anything. Usage: python3 make_tiny.py (needs numpy).
"""
import numpy as np

rng = np.random.default_rng(20261122)


def save(name, arr):
    np.save(name, np.ascontiguousarray(arr))


def normal(*shape, std=1.0):
    return (rng.standard_normal(shape) * std).astype(np.float32)


# Input image: smooth colour gradients plus a few bright squares, 8-bit, CHW.
y, x = np.mgrid[0:32, 0:32]
img = np.stack([x * 8, y * 8, (x + y) * 4]).astype(np.float64)
for _ in range(4):
    cy, cx, c = rng.integers(0, 28), rng.integers(0, 28), rng.integers(0, 3)
    img[c, cy:cy + 4, cx:cx + 4] = 255
save("input.npy", np.clip(img, 0, 255).astype(np.uint8))

save("conv1.npy", normal(16, 3, 3, 3, std=0.2))
save("conv1_bias.npy", normal(16, std=0.05))
# SLBF: 32 filters stacked from a bank of 8 filters of d = 4 channels over m = 4 slices.
save("slbf2_bank.npy", normal(8, 4, 3, 3, std=0.1))
save("slbf2_index.npy", rng.integers(0, 8, size=(32, 4)).astype(np.int64))
save("conv3.npy", normal(32, 32, 3, 3, std=0.05))
# PENNI: 4 basis kernels, coefficients pruned where |c| < std(c).
save("penni4_basis.npy", normal(4, 3, 3))
coef = normal(32, 32, 4, std=0.1)
coef[np.abs(coef) < coef.std()] = 0.0
save("penni4_coef.npy", coef)
save("fc6.npy", normal(10, 32 * 4 * 4, std=0.05))
