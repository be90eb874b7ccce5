"""Ordinal row terms from the kept exponential of the linear predictor (numba).

The two-level ordinal model (:mod:`._smc_ordinal_mixed`) keeps every row's
``e = exp(eta)`` next to ``eta`` (``exp_eta`` of the analysis state, as the
logistic models do; doc/smc.rst, "Ordinal mixed model"). With ``A_c =
exp(-alpha_c)``, formed once per value of the cut-points
(:func:`cut_factors`), the exponentials of the row's two arguments ``u =
alpha_{c+1} - eta`` and ``l = alpha_c - eta`` (``c = y``) are products:

``exp(-u) = e A_{c+1}``,  ``exp(-l) = e A_c``,

so ``F(u) = 1 / (1 + e A_{c+1})`` and ``1 - F(u) = e A_{c+1} F(u)`` cost a
division and no elementary function, and the small-difference form of a
middle category, ``F(u) (1 - F(l)) (1 - exp(l - u))``, takes its last
factor from the cut-points alone (``l - u = alpha_c - alpha_{c+1}``). The
terms are those of :func:`._smc_ordinal.probability_terms` (same branches,
same formulas given ``F`` and ``1 - F``), equal up to rounding (a few units
in the last place). Where a product leaves ``[KEPT_LOW, KEPT_HIGH]`` (``|u|``
or ``|l|`` beyond about 690, or ``e`` not finite) the row falls back to
those forms from ``eta`` (:func:`product_terms`).

A row's ``e`` is set with its ``eta`` at every change: from ``exp(eta)``
where ``eta`` is formed anew (a new ``theta``, a covariate move), and, when
a random intercept moves by ``delta``, as ``e exp(delta)`` (one exponential
per cluster instead of one per row; the rounding this adds is that of one
product, and ``e`` is formed anew at every accepted ``theta`` move).
"""

import numpy as np

from ._jit import kernel
from ._smc_ordinal import (
    _DIRECT_DIFFERENCE,
    add_row_score,
    add_row_terms,
    probability_terms,
    symmetrize_lower,
)
from ._vexp import exp_into

# Products ``e A_c`` outside this range (or not a number) take the forms of
# ._smc_ordinal from eta: within it, 1 + e A_c and the divisions by it
# neither overflow nor lose relative precision.
KEPT_LOW = 1e-300
KEPT_HIGH = 1e300


@kernel(inline=True)
def cut_factors(theta, k):
    """``(A, G, low, high)`` of the cut-points ``theta[k:]``: ``A[c] =
    exp(-alpha_{c+1})`` (``c = 0 .. n_cuts - 1``); for a middle category
    ``c``, ``G[c] = 1 - exp(alpha_c - alpha_{c+1})`` (``G[0]`` and
    ``G[n_cuts]`` unused); and the range ``(low, high)`` of ``e`` in which
    every product ``e A_c`` lies within ``(KEPT_LOW, KEPT_HIGH)``."""
    n_cuts = theta.shape[0] - k
    factors = np.empty(n_cuts)
    gaps = np.ones(n_cuts + 1)
    for c in range(n_cuts):
        factors[c] = np.exp(-theta[k + c])
    for c in range(1, n_cuts):
        gaps[c] = -np.expm1(theta[k + c - 1] - theta[k + c])
    # the cut-points increase, so A decreases
    return factors, gaps, KEPT_LOW / factors[n_cuts - 1], KEPT_HIGH / factors[0]


@kernel(inline=True)
def product_terms(y, e, factors, gaps):
    """``(P(y | eta), a, b, d_uu, d_ll, d_ul)`` of
    :func:`._smc_ordinal.probability_terms` from ``e = exp(eta)`` and the
    cut-points' :func:`cut_factors` ``(factors, gaps, low, high)``, for ``low
    < e < high`` (module docstring; no elementary function). The caller
    checks the range and takes the forms from ``eta`` outside it::

        if cuts[2] < e < cuts[3]:
            terms = product_terms(y, e, cuts[0], cuts[1])
        else:
            terms = probability_terms(y, eta, theta, k)

    (the check inside an inlined kernel, with its two branches, compiled to
    a loop twice as slow)."""
    n_cuts = factors.shape[0]
    c = int(y)
    if c == 0:  # P = F(u)
        e_u = e * factors[0]
        f_u = 1.0 / (1.0 + e_u)
        s_u = e_u * f_u
        p, a, b, f_l = f_u, s_u, 0.0, 0.0
    elif c == n_cuts:  # P = 1 - F(l)
        e_l = e * factors[c - 1]
        f_l = 1.0 / (1.0 + e_l)
        s_l = e_l * f_l
        p, a, b, f_u = s_l, 0.0, f_l, 1.0
    else:
        e_u = e * factors[c]
        e_l = e * factors[c - 1]
        f_u = 1.0 / (1.0 + e_u)
        s_u = e_u * f_u
        f_l = 1.0 / (1.0 + e_l)
        s_l = e_l * f_l
        if f_u <= 0.5:  # the difference of the smaller of F and 1 - F
            p, scale = f_u - f_l, f_u
        else:
            p, scale = s_l - s_u, s_l
        if p >= _DIRECT_DIFFERENCE * scale:
            a = f_u * s_u / p
            b = f_l * s_l / p
        else:
            gap = gaps[c]
            p = f_u * s_l * gap
            a = s_u / (s_l * gap)
            b = f_l / (f_u * gap)
    d_uu = a * (1.0 - 2.0 * f_u) - a * a
    d_ll = -b * (1.0 - 2.0 * f_l) - b * b
    return p, a, b, d_uu, d_ll, a * b


@kernel(inline=True)
def _predictors_and_exponentials(w, rows, offset, theta):
    """``eta_q = offset[i] + w_i' theta`` of rows ``i = rows[q]`` and their
    exponentials, formed in vectorised loops (:func:`._vexp.exp_into`)."""
    m = rows.shape[0]
    etas = np.empty(m)
    for q in range(m):
        i = rows[q]
        eta = offset[i]
        for t in range(w.shape[1]):
            eta += w[i, t] * theta[t]
        etas[q] = eta
    exps = np.empty(m)
    exp_into(etas, exps)
    return etas, exps


@kernel
def kept_rows_score(w, y, rows, offset, theta, grad):
    """:func:`._smc_ordinal.rows_score` (the gradient in ``(theta, alpha)``
    of the log-likelihood of rows ``rows`` at ``theta``, added to ``grad``;
    row ``i``'s linear predictor ``w_i' theta + offset[i]``) with one
    exponential per row, ``exp(eta)`` (formed first, in vectorised loops), and the terms of
    :func:`product_terms`."""
    k = w.shape[1]
    r = theta.shape[0]
    cuts = cut_factors(theta, k)
    etas, exps = _predictors_and_exponentials(w, rows, offset, theta)
    for q in range(rows.shape[0]):
        i = rows[q]
        eta, e = etas[q], exps[q]
        if cuts[2] < e < cuts[3]:
            p, a, b, d_uu, d_ll, d_ul = product_terms(y[i], e, cuts[0], cuts[1])
        else:
            p, a, b, d_uu, d_ll, d_ul = probability_terms(y[i], eta, theta, k)
        add_row_score(w, i, y[i], r, a, b, grad)


@kernel
def kept_derivatives(w, y, offset, theta, grad, info):
    """:func:`._smc_ordinal.likelihood_derivatives` without the
    log-likelihood, with one exponential per row, ``exp(eta)`` (formed first, in vectorised loops), and the terms
    of :func:`product_terms`: the gradient in ``(theta, alpha)`` of the
    log-likelihood of the completed data at ``theta`` into ``grad`` and minus
    its Hessian into ``info`` (row ``i``'s linear predictor ``w_i' theta +
    offset[i]``)."""
    n, k = w.shape
    r = theta.shape[0]
    grad[:] = 0.0
    info[:, :] = 0.0
    cuts = cut_factors(theta, k)
    etas, exps = _predictors_and_exponentials(w, np.arange(n), offset, theta)
    for i in range(n):
        eta, e = etas[i], exps[i]
        if cuts[2] < e < cuts[3]:
            p, a, b, d_uu, d_ll, d_ul = product_terms(y[i], e, cuts[0], cuts[1])
        else:
            p, a, b, d_uu, d_ll, d_ul = probability_terms(y[i], eta, theta, k)
        add_row_terms(w, i, y[i], r, a, b, d_uu, d_ll, d_ul, grad, info)
    symmetrize_lower(info)
