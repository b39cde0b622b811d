"""Numba kernels and their numpy references.

Importing a kernel module imports numba (~0.3 s), so layouts import kernels inside functions.
Each jitted body is private and sits behind a public wrapper that validates its inputs; the
numpy reference of the same public name lives in :mod:`qformat.kernels._ref`.
"""
