"""Fixed effects, row means and residual cross-products (numba).

Fixed effects with a flat prior and a common covariance (jomo-samplers.md
§4 step 2): ``vec(B) ~ N(vec(B_hat), Omega kron (X'X)^{-1})`` with
``B_hat = (X'X)^{-1} X' R``, drawn as ``B_hat + L_X^{-T} E L_Omega^T`` where
``X'X = L_X L_X^T``, ``Omega = L_Omega L_Omega^T`` and ``E`` is standard
normal (the Kronecker shortcut of §11).
"""

import numba as nb
import numpy as np

from ._linalg import solve_lower, solve_lower_transpose


@nb.njit(cache=True)
def cross_product(design, response, out):
    """``out = design.T @ response`` by loops over rows (any layout)."""
    out[:, :] = 0.0
    for i in range(design.shape[0]):
        for a in range(design.shape[1]):
            x = design[i, a]
            if x != 0.0:
                for t in range(response.shape[1]):
                    out[a, t] += x * response[i, t]


@nb.njit(cache=True)
def draw_fixed_effects(rng, design, design_chol, response, cov_chol, out):
    """Draw ``B`` given the completed response and a common covariance.

    Parameters
    ----------
    rng : numpy.random.Generator
    design : ndarray (n, m)
    design_chol : ndarray (m, m)
        Lower Cholesky factor of ``design.T @ design``.
    response : ndarray (n, p)
        Completed outcomes minus any random-effect part.
    cov_chol : ndarray (p, p)
        Lower Cholesky factor of the residual covariance.
    out : ndarray (m, p)
        Receives the draw.
    """
    m, p = out.shape
    cross_product(design, response, out)
    column = np.empty(m)
    noise = np.empty((m, p))
    for t in range(p):
        column[:] = out[:, t]
        solve_lower(design_chol, column)
        solve_lower_transpose(design_chol, column)
        out[:, t] = column
        for a in range(m):
            column[a] = rng.standard_normal()
        solve_lower_transpose(design_chol, column)
        noise[:, t] = column
    for a in range(m):
        for t in range(p):
            s = 0.0
            for u in range(t + 1):
                s += noise[a, u] * cov_chol[t, u]
            out[a, t] += s


@nb.njit(cache=True)
def linear_predictor(design, beta, out):
    """``out = design @ beta`` by loops over rows."""
    for i in range(design.shape[0]):
        for t in range(beta.shape[1]):
            s = 0.0
            for a in range(design.shape[1]):
                s += design[i, a] * beta[a, t]
            out[i, t] = s


@nb.njit(cache=True)
def residual_scatter(values, means, row_group, out):
    """Per-group sums of residual outer products ``sum (y - mu)(y - mu)'``.

    ``out`` has shape (g, p, p); rows are assigned by ``row_group``.
    """
    out[:, :, :] = 0.0
    p = values.shape[1]
    resid = np.empty(p)
    for i in range(values.shape[0]):
        g = row_group[i]
        for t in range(p):
            resid[t] = values[i, t] - means[i, t]
        for t in range(p):
            for u in range(t + 1):
                out[g, t, u] += resid[t] * resid[u]
    for g in range(out.shape[0]):
        for t in range(p):
            for u in range(t):
                out[g, u, t] = out[g, t, u]
