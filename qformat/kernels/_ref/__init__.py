"""Plain-numpy reference implementations, one module per kernel module, same public names.

They are the oracles the jitted kernels are tested against, and the fallback where numba is
unavailable. They favour obviousness over speed.
"""
