"""Level-1 covariances seen as regressions on the latents (numba).

With the free (continuous) columns first and the latents of categorical
variables after, a level-1 covariance splits into the latent block
``Omega_11`` (its diagonal blocks fixed at ``C_K``), the regression of the
free columns on the latents ``beta = Omega_11^{-1} Omega_12`` and the
conditional covariance ``Omega_22.1 = Omega_22 - Omega_21 beta``. The
mixing moves of the categorical latents change ``beta`` alone:

* the scale moves (:mod:`._latent_scale`) divide its rows of one
  categorical variable by ``g`` while the latents are multiplied by ``g``;
* in the "random" method (cluster covariances ``Omega_j ~ IW(a, A)``), the
  translation move here adds a common ``Delta`` to every cluster's
  ``beta_j`` and to the regression ``B = A_11^{-1} A_12`` of their scale
  ``A``. The prior ``beta_j | B ~ MN(B, A_11^{-1}, Omega_22.1,j)`` is
  unchanged, the rows' residuals ``e_i = r_i2 - beta_j' r_i1`` become
  ``e_i - Delta' r_i1`` and the prior ``B ~ MN(S_11^{-1} S_12, A_11^{-1},
  S_22.1)`` of doc/model.rst moves with ``B``, so ``Delta`` given the rest
  is normal with precision ``sum_i W_j(i) (x) r_i1 r_i1' + W_0 (x) A_11``
  and precision-times-mean ``sum_i r_i1 e_i' W_j(i) - A_11 (B - M_0) W_0``
  (``W_j = Omega_22.1,j^{-1}``, ``W_0 = S_22.1^{-1}``,
  ``M_0 = S_11^{-1} S_12``). The translations form a group with Lebesgue
  invariant measure and unit Jacobian, so drawing ``Delta`` from that
  normal is a generalised Gibbs step (Liu and Sabatti 2000) and keeps the
  posterior; it moves all cluster regressions with their common mean at
  once, which the draws of ``A`` given the ``Omega_j`` and of the
  ``Omega_j`` given ``A`` do only in small steps when the ``Omega_j`` are
  strongly pooled (large ``a``).
"""

import numpy as np

from ._jit import kernel
from ._linalg import cholesky_lower, inverse_from_cholesky, solve_lower, solve_lower_transpose


@kernel
def regression_on_latents(cov, n_free, lam, reg, cond_prec):
    """Split ``cov`` (free columns ``0..n_free-1`` first, latents after) into
    ``lam = Omega_11^{-1}`` (latents), ``reg = Omega_11^{-1} Omega_12`` (the
    regression of the free columns on the latents) and
    ``cond_prec = Omega_22.1^{-1}``."""
    p = cov.shape[0]
    p1 = p - n_free
    chol11 = np.empty((p1, p1))
    omega11 = np.empty((p1, p1))  # a C-contiguous copy: one signature of cholesky_lower
    for r in range(p1):
        for c in range(p1):
            omega11[r, c] = cov[n_free + r, n_free + c]
    cholesky_lower(omega11, chol11)
    inverse_from_cholesky(chol11, lam)
    for r in range(p1):
        for t in range(n_free):
            total = 0.0
            for c in range(p1):
                total += lam[r, c] * cov[n_free + c, t]
            reg[r, t] = total
    cond = np.empty((n_free, n_free))
    for s in range(n_free):
        for t in range(s + 1):
            total = cov[s, t]
            for r in range(p1):
                total -= cov[n_free + r, s] * reg[r, t]
            cond[s, t] = total
            cond[t, s] = total
    chol22 = np.empty((n_free, n_free))
    cholesky_lower(cond, chol22)
    inverse_from_cholesky(chol22, cond_prec)


@kernel(inline=True)
def split_prior_scale(scale, n_free):
    """``(scale_11, scale_11^{-1} scale_12, scale_22.1^{-1})`` of an
    (inverse-)Wishart scale: the row precision and centre of the
    matrix-normal prior of the regression on the latents, and the column
    precision of the prior of the "random" method's ``B``."""
    p1 = scale.shape[0] - n_free
    lam = np.empty((p1, p1))
    reg = np.empty((p1, n_free))
    cond_prec = np.empty((n_free, n_free))
    regression_on_latents(scale, n_free, lam, reg, cond_prec)
    scale11 = np.empty((p1, p1))
    for r in range(p1):
        for c in range(p1):
            scale11[r, c] = scale[n_free + r, n_free + c]
    return scale11, reg, cond_prec


@kernel
def _add_fitted(cov, n_free, reg, sign):
    """``Omega_22 += sign * Omega_21 reg`` (exactly symmetric)."""
    p1 = cov.shape[0] - n_free
    for s in range(n_free):
        for t in range(s + 1):
            total = 0.0
            for r in range(p1):
                total += cov[n_free + r, s] * reg[r, t]
            cov[s, t] += sign * total
            cov[t, s] = cov[s, t]


@kernel
def _write_regression(cov, n_free, reg):
    """From ``Omega_22.1`` in the 22 block: ``Omega_12 = Omega_11 reg`` and
    ``Omega_22 = Omega_22.1 + Omega_21 reg``."""
    p1 = cov.shape[0] - n_free
    for r in range(p1):
        for t in range(n_free):
            total = 0.0
            for c in range(p1):
                total += cov[n_free + r, n_free + c] * reg[c, t]
            cov[n_free + r, t] = total
            cov[t, n_free + r] = total
    _add_fitted(cov, n_free, reg, 1.0)


@kernel(inline=True)
def rescale_regression(cov, n_free, reg, start, size, factor):
    """Multiply rows ``start..start+size-1`` of ``reg`` (the regression of
    :func:`regression_on_latents`) by ``factor`` and rewrite the blocks 12,
    21 and 22 of ``cov`` to match, with ``Omega_11`` and ``Omega_22.1``
    unchanged."""
    _add_fitted(cov, n_free, reg, -1.0)  # Omega_22 -> Omega_22.1
    for r in range(start, start + size):
        for t in range(reg.shape[1]):
            reg[r, t] *= factor
    _write_regression(cov, n_free, reg)


@kernel(inline=True)
def _shift_regression(cov, n_free, reg, delta):
    """``reg += delta`` and ``cov`` rewritten to match (see
    :func:`rescale_regression`)."""
    _add_fitted(cov, n_free, reg, -1.0)
    reg += delta
    _write_regression(cov, n_free, reg)


@kernel
def shift_regressions(rng, values, means, row_group, n_free, regs, cond_prec, cov, hyper, prior):
    """The translation move of the "random" method (module docstring).

    ``regs``, ``cond_prec``: :func:`regression_on_latents` of each cluster
    covariance in ``cov`` (the regressions are updated); ``hyper``: the scale
    ``A``; ``prior``: the scale ``S`` of its Wishart prior. Rewrites ``cov``
    and ``hyper``; the caller refreshes the factors of ``cov``.
    """
    p = values.shape[1]
    p1, p2 = p - n_free, n_free
    k = p1 * p2
    prec = np.zeros((k, k))
    lin = np.zeros(k)
    r1 = np.empty(p1)
    e = np.empty(p2)
    for i in range(values.shape[0]):
        h = row_group[i]
        for r in range(p1):
            r1[r] = values[i, n_free + r] - means[i, n_free + r]
        for t in range(p2):
            total = values[i, t] - means[i, t]
            for r in range(p1):
                total -= regs[h, r, t] * r1[r]
            e[t] = total
        for r in range(p1):
            for t in range(p2):
                for t2 in range(p2):
                    w = cond_prec[h, t, t2]
                    lin[r * p2 + t] += r1[r] * e[t2] * w
                    for r2 in range(p1):
                        prec[r * p2 + t, r2 * p2 + t2] += r1[r] * r1[r2] * w
    a11, centre, _ = split_prior_scale(hyper, n_free)
    _, centre0, col_prec0 = split_prior_scale(prior, n_free)
    for r in range(p1):
        for t in range(p2):
            for r2 in range(p1):
                for t2 in range(p2):
                    w = a11[r, r2] * col_prec0[t, t2]
                    prec[r * p2 + t, r2 * p2 + t2] += w
                    lin[r * p2 + t] -= w * (centre[r2, t2] - centre0[r2, t2])
    chol = np.empty((k, k))
    cholesky_lower(prec, chol)
    solve_lower(chol, lin)
    for c in range(k):
        lin[c] += rng.standard_normal()
    solve_lower_transpose(chol, lin)
    delta = lin.reshape((p1, p2))
    for h in range(regs.shape[0]):
        _shift_regression(cov[h], n_free, regs[h], delta)
    _shift_regression(hyper, n_free, centre, delta)
