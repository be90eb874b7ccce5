"""A small, independent reference sampler for cluster-specific covariances.

Plain numpy, written from the model of jomo-samplers.md §8 (not from skjomo's
or jomo's code), for continuous level-1 outcomes with random intercepts:

``y_i = B' x_i + u_j + e_i``, ``e_i ~ N(0, Omega_j)``, ``u_j ~ N(0, Sigma_u)``,
flat prior on ``B``, ``Sigma_u ~ IW(p, I)``, and either ``Omega_j ~ IW(nu0, S)``
("fixed") or ``Omega_j | a, A ~ IW(a, A)``, ``A ~ Wishart(p + 1, S)``, ``a``
with a chi-square(``eta``) density restricted to ``a > p`` ("random").

It serves two purposes in test_agreement_heteroscedastic.py:

* with ``jomo=False`` it samples the exact posterior, with ``a`` drawn from
  its exact conditional (``A`` integrated out) by inverse CDF on a fine grid,
  a different algorithm from skjomo's Metropolis-Hastings step;
* with ``jomo=True`` it reproduces, from the documented description, the
  departures of jomo's "random" sampler that remain on data where the
  pattern cache is harmless: Wishart degrees of freedom truncated to integers
  (``floor(n_j + a)`` for ``Omega_j``, ``floor(J a + p + 1)`` for ``A``),
  ``A`` drawn with the old ``a`` before ``a``, and the ``a`` update as jomo
  describes it (independence MH on ``log(a + p)`` around the mode found by
  Newton's method with finite differences, t4 proposal whose density enters
  the ratio with exponent -2 instead of -5/2, ``a >= p`` enforced by
  rejection). ``pattern_cache=True`` also imputes every row with the
  covariance of the first cluster (in row order) having its missingness
  pattern (§6.5).

Iteration order: ``B | u``, ``u | B``, ``Sigma_u``, residuals, (``a`` then
``A``; jomo: ``A`` then ``a``), ``Omega_j``, missing values.
"""

import math

import numpy as np
from scipy.special import gammaln


def _wishart_stack(rng, df, scale_chol):
    """Wishart(df, L L') draws for a stack of lower factors ``L`` (J, p, p); real df
    (Bartlett decomposition)."""
    J, p, _ = scale_chol.shape
    df = np.broadcast_to(np.asarray(df, dtype=float), (J,))
    T = np.zeros((J, p, p))
    for k in range(p):
        T[:, k, k] = np.sqrt(rng.chisquare(df - k))
        for l in range(k):
            T[:, k, l] = rng.standard_normal(J)
    LT = scale_chol @ T
    return LT @ np.swapaxes(LT, 1, 2)


def inverse_wishart_stack(rng, df, scales):
    """IW(df_j, Psi_j) draws: ``Omega^{-1} ~ Wishart(df_j, Psi_j^{-1})``."""
    prec_scale = np.linalg.inv(scales)
    prec_scale = 0.5 * (prec_scale + np.swapaxes(prec_scale, 1, 2))
    W = _wishart_stack(rng, df, np.linalg.cholesky(prec_scale))
    out = np.linalg.inv(W)
    return 0.5 * (out + np.swapaxes(out, 1, 2))


JOMO_QUIRKS = ("omega_df", "A_df", "A_first", "a_step")


class _ATarget:
    def __init__(self, p, J, eta, gamma, sum_logdet, logdet_m):
        self.args = (p, J, eta, gamma, sum_logdet, logdet_m)

    def log_a(self, a):
        """log p(a | {Omega_j}) up to a constant (``a`` scalar or array).

        ``prod_j IW(Omega_j | a, A) Wishart(A | gamma, S)`` integrated over
        ``A`` leaves ``Gamma_p((J a + gamma)/2) |M|^{-(J a + gamma)/2} /
        Gamma_p(a/2)^J prod_j |Omega_j|^{-a/2}`` (the powers of 2 cancel),
        ``M = S^{-1} + sum_j Omega_j^{-1}``; times the chi-square density.
        """
        p, J, eta, gamma, sum_logdet, logdet_m = self.args
        a = np.asarray(a, dtype=float)
        total = (0.5 * eta - 1) * np.log(a) - 0.5 * a - 0.5 * a * sum_logdet
        shape = 0.5 * (J * a + gamma)
        for k in range(p):
            total = total - J * gammaln(0.5 * a - 0.5 * k) + gammaln(shape - 0.5 * k)
        return total - shape * logdet_m


def _draw_a_grid(rng, target, p):
    """Exact draw (to grid accuracy) of a from its conditional, by inverse CDF
    in ``v = log(a - p)`` on an adaptive grid around the mass."""
    v = np.linspace(-14.0, 6.0, 801)
    a = p + np.exp(v)
    logf = target.log_a(a) + v
    w = np.exp(logf - logf.max())
    keep = np.flatnonzero(w > 1e-12)
    lo, hi = v[max(keep[0] - 1, 0)], v[min(keep[-1] + 1, v.size - 1)]
    v = np.linspace(lo, hi, 2001)
    a = p + np.exp(v)
    logf = target.log_a(a) + v
    w = np.exp(logf - logf.max())
    # piecewise-linear density: trapezoid masses, then uniform inside a cell
    mass = 0.5 * (w[1:] + w[:-1]) * np.diff(v)
    cdf = np.concatenate([[0.0], np.cumsum(mass)])
    u = rng.random() * cdf[-1]
    k = min(np.searchsorted(cdf, u) - 1, mass.size - 1)
    frac = (u - cdf[k]) / mass[k] if mass[k] > 0 else 0.5
    vv = v[k] + frac * (v[k + 1] - v[k])
    return p + math.exp(vv)


def _draw_a_jomo(rng, target, p, a_old):
    """jomo's a update as documented (jomo-samplers.md §8.1), exponent -2."""

    def f(u):
        a = math.exp(u) - p
        if not a > 0:
            return -np.inf
        return float(target.log_a(a)) + u

    u = math.log(a_old + p)
    h = 0.001
    converged = False
    um = u
    for _ in range(50):
        f0, fp, fm = f(um), f(um + h), f(um - h)
        d1 = (fp - fm) / (2 * h)
        d2 = (fp - 2 * f0 + fm) / (h * h)
        new = um - d1 / d2
        if not np.isfinite(new):
            break
        change = abs(new - um) / abs(um) if um != 0 else abs(new - um)
        um = new
        if change < 0.001:
            converged = True
            break
    if not converged:
        um = u
    d2 = (f(um + h) - 2 * f(um) + f(um - h)) / (h * h)
    if not d2 < 0:
        # the scale sqrt(-5 / (4 d2)) is NaN: the proposal is NaN, a is kept
        return a_old
    lam = math.sqrt(-5.0 / (4.0 * d2))
    t = rng.standard_normal() / math.sqrt(rng.chisquare(4) / 4.0)
    ustar = um + lam * t

    def log_h(x):
        return -2.0 * math.log1p((x - um) ** 2 / (4 * lam * lam))

    ratio = f(ustar) - f(u) + log_h(u) - log_h(ustar)
    a_new = math.exp(ustar) - p
    if not np.isfinite(a_new) or a_new < p:
        return a_old
    if np.log(rng.random()) < ratio:
        return a_new
    return a_old


def run_reference(
    y,
    x,
    cluster,
    method,
    n_iter,
    seed,
    prior_df=None,
    eta=None,
    a_start=None,
    jomo=False,
    pattern_cache=False,
    record_from=0,
    impute_at=(),
):
    """Run the reference sampler; return dict of draws after ``record_from``.

    ``out["imputations"]`` holds copies of the completed ``y`` after the
    (0-based) iterations listed in ``impute_at``.

    Parameters
    ----------
    y : ndarray (N, p) with NaN for missing values
    x : ndarray (N, m), complete
    cluster : ndarray (N,) of int codes 0..J-1
    method : "fixed" or "random"
    prior_df : float, "fixed" only (IW(prior_df, I) prior of each Omega_j)
    eta : chi-square df of the prior of a (default p)
    jomo : bool or collection of str
        ``True`` for all of :data:`JOMO_QUIRKS`, or a subset of them:
        ``"omega_df"`` (``floor(n_j + a)``), ``"A_df"`` (``floor(J a + p + 1)``),
        ``"A_first"`` (``A`` with the old ``a``, then ``a``), ``"a_step"``
        (jomo's MH step for ``a``, exponent -2).
    """
    rng = np.random.default_rng(seed)
    if jomo is True:
        quirks = set(JOMO_QUIRKS)
    else:
        quirks = set(jomo or ())
        if not quirks <= set(JOMO_QUIRKS):
            raise ValueError(f"unknown quirks {quirks - set(JOMO_QUIRKS)}")
    y = np.array(y, dtype=float)
    N, p = y.shape
    m = x.shape[1]
    J = int(cluster.max()) + 1
    eta = float(p) if eta is None else float(eta)
    gamma = p + 1.0
    miss = np.isnan(y)
    n_j = np.bincount(cluster, minlength=J).astype(float)
    onehot = np.zeros((N, J))
    onehot[np.arange(N), cluster] = 1.0
    G = np.einsum("ik,il,ij->jkl", x, x, onehot)  # X_j'X_j
    # start: column means, zeros, identities
    for t in range(p):
        y[miss[:, t], t] = np.nanmean(y[:, t])
    B = np.zeros((m, p))
    u = np.zeros((J, p))
    sigma_u = np.eye(p)
    omega = np.repeat(np.eye(p)[None], J, axis=0)
    a = p + 50.0 if a_start is None else float(a_start)
    A = np.eye(p)
    patterns = {}
    for i in np.flatnonzero(miss.any(axis=1)):
        patterns.setdefault(tuple(miss[i]), []).append(i)
    patterns = {k: np.array(v) for k, v in patterns.items()}
    first_cluster = {k: cluster[v[0]] for k, v in patterns.items()}

    keep = n_iter - record_from
    out = {
        "beta": np.empty((keep, m, p)),
        "omega": np.empty((keep, J, p, p)),
        "sigma": np.empty((keep, p, p)),
        "a": np.empty(keep),
        "imputations": [],
    }
    impute_at = set(impute_at)
    for it in range(n_iter):
        prec = np.linalg.inv(omega)
        # B | u
        r = y - u[cluster]
        w = (prec[cluster] @ r[:, :, None])[:, :, 0]
        rhs = (x.T @ w).ravel(order="F")
        lam = (prec.reshape(J, p * p).T @ G.reshape(J, m * m)).reshape(p, p, m, m)
        lam = lam.transpose(0, 2, 1, 3).reshape(p * m, p * m)
        L = np.linalg.cholesky(lam)
        mean = np.linalg.solve(lam, rhs)
        vecb = mean + np.linalg.solve(L.T, rng.standard_normal(p * m))
        B = vecb.reshape(p, m).T
        # u | B
        res = y - x @ B
        sums = onehot.T @ res
        P = np.linalg.inv(sigma_u)[None] + n_j[:, None, None] * prec
        cov_u = np.linalg.inv(P)
        mu = (cov_u @ (prec @ sums[:, :, None]))[:, :, 0]
        u = mu + (np.linalg.cholesky(cov_u) @ rng.standard_normal((J, p, 1)))[:, :, 0]
        # Sigma_u
        sigma_u = inverse_wishart_stack(rng, np.array([J + p]), (np.eye(p) + u.T @ u)[None])[0]
        # residual scatter
        e = res - u[cluster]
        S = (onehot.T @ (e[:, :, None] * e[:, None, :]).reshape(N, p * p)).reshape(J, p, p)
        if method == "fixed":
            omega = inverse_wishart_stack(rng, n_j + prior_df, np.eye(p)[None] + S)
        else:
            logdets = np.linalg.slogdet(omega)[1]
            M = np.eye(p) + prec.sum(axis=0)
            target = _ATarget(p, J, eta, gamma, logdets.sum(), np.linalg.slogdet(M)[1])
            m_inv = np.linalg.inv(M)
            chol_minv = np.linalg.cholesky(0.5 * (m_inv + m_inv.T))[None]
            draw_a = (
                _draw_a_jomo
                if "a_step" in quirks
                else (lambda rng_, target_, p_, a_old: _draw_a_grid(rng_, target_, p_))
            )
            a_df = (
                (lambda v: math.floor(J * v + gamma))
                if "A_df" in quirks
                else (lambda v: gamma + J * v)
            )
            if "A_first" in quirks:
                A = _wishart_stack(rng, a_df(a), chol_minv)[0]
                a = draw_a(rng, target, p, a)
            else:
                a = draw_a(rng, target, p, a)
                A = _wishart_stack(rng, a_df(a), chol_minv)[0]
            df = np.floor(n_j + a) if "omega_df" in quirks else n_j + a
            omega = inverse_wishart_stack(rng, df, A[None] + S)
        # missing values
        means = x @ B + u[cluster]
        for pat, rows in patterns.items():
            mset = np.array(pat)
            oset = ~mset
            cov_rows = (
                omega[np.full(rows.size, first_cluster[pat])]
                if pattern_cache
                else omega[cluster[rows]]
            )
            Smm = cov_rows[:, mset][:, :, mset]
            if oset.any():
                Smo = cov_rows[:, mset][:, :, oset]
                Soo = cov_rows[:, oset][:, :, oset]
                K = Smo @ np.linalg.inv(Soo)
                dev = y[rows][:, oset] - means[rows][:, oset]
                cmean = means[rows][:, mset] + np.einsum("rij,rj->ri", K, dev)
                ccov = Smm - K @ np.swapaxes(Smo, 1, 2)
            else:
                cmean, ccov = means[rows][:, mset], Smm
            draw = cmean + np.einsum(
                "rij,rj->ri", np.linalg.cholesky(ccov), rng.standard_normal(cmean.shape)
            )
            block = y[rows]
            block[:, mset] = draw
            y[rows] = block
        if it in impute_at:
            out["imputations"].append(y.copy())
        if it >= record_from:
            k = it - record_from
            out["beta"][k], out["omega"][k], out["sigma"][k], out["a"][k] = B, omega, sigma_u, a
    return out
