"""Numba kernels for the Gibbs samplers (private).

Modules:

* ``_truncnorm``: exact truncated normal draws (Robert, 1995).
* ``_wishart``: Wishart / inverse-Wishart draws with real degrees of freedom,
  the inverse-Wishart restricted to fixed latent diagonal blocks, and the
  inverse-Wishart log density.
"""
