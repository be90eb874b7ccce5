"""The Gibbs sampler shared by every imputer (private).

One two-level joint model serves all estimators (a single-level model is one
cluster without random effects); its derivation is in doc/sampler.rst. The
estimator layer calls the driver and nothing of the chain state's layout.

Modules:

* ``_driver``: starts (user, default and dispersed), burn-in and imputation
  phases, parallel chains, warm starts, continuing chains, and imputation of
  new rows for stored parameters (:class:`~._driver.ChainRun`).
* ``_chain``: the sampler's ``Model`` (constant arrays), ``State`` (what an
  iteration updates), ``Tally`` (per-phase sums and acceptance counts),
  ``Trace``, and the Gibbs iteration composing the steps below.
* ``_latents``: latent normals of observed categories (exact truncated
  conditionals).
* ``_truncnorm``: exact truncated normal draws (Robert, 1995).
* ``_regression``: fixed effects, random effects, the intercept interweaving
  step and row means.
* ``_covariance``: covariance draws for one or several covariance groups.
* ``_wishart``: Wishart and inverse-Wishart draws with real degrees of
  freedom, the inverse-Wishart restricted to fixed latent blocks, and its
  log density.
* ``_hierarchical``: ``a`` and ``A`` of the "random" covariance method.
* ``_missing``: missing cells given the observed ones, grouped by pattern.
* ``_suffstats``: per-cluster sufficient statistics of the level-1 rows.
* ``_linalg``: small dense linear algebra kernels.
"""
