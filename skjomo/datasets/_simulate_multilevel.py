"""Two-level simulator with a known truth and MAR missingness at both levels."""

import numbers

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.utils import Bunch, check_random_state

# Two-level joint latent-normal model behind make_multilevel_data
# (doc/model.rst, "Model", random intercepts only). Level 1, row i of cluster j:
#   (y1, y2, zb)_ij = B' (1, x_ij) + u_j + e_ij,   e_ij ~ N(0, Omega),
# with zb the latent normal of the binary b (b = "yes" when zb > 0, the first
# category, as in jomo; latent variance fixed at 1). Level 2, cluster j:
#   (w, zg)_j = B2' + eps2_j,   v_j = (u_j, eps2_j) ~ N(0, Sigma),
# with zg the latent normal of the binary g (g = "high" when zg > 0; its
# variance in Sigma fixed at 1).
_BETA = np.array(
    [
        [1.0, -0.5, 0.3],  # intercept
        [0.8, 0.5, -0.6],
    ]
)  # x
_OMEGA = np.array([[1.0, 0.4, 0.3], [0.4, 1.5, 0.2], [0.3, 0.2, 1.0]])
_BETA2 = np.array([[2.0, 0.2]])  # intercepts of w and zg
_SIGMA_SD = np.sqrt([0.5, 0.8, 0.3, 1.0, 1.0])  # u_y1, u_y2, u_b, w, zg
_SIGMA_CORR = np.array(
    [
        [1.0, 0.4, 0.3, 0.5, 0.3],
        [0.4, 1.0, 0.2, 0.3, 0.2],
        [0.3, 0.2, 1.0, 0.2, 0.1],
        [0.5, 0.3, 0.2, 1.0, 0.3],
        [0.3, 0.2, 0.1, 0.3, 1.0],
    ]
)
_SIGMA = _SIGMA_CORR * np.outer(_SIGMA_SD, _SIGMA_SD)
_SIGMA_LABELS = ["y1|(Intercept)", "y2|(Intercept)", "b|(Intercept)", "w", "g"]
_X_ICC = 0.3  # share of the variance of x between clusters


def _analysis_truth(beta, omega, beta2, sigma):
    """Analysis quantities implied by the joint model.

    ``coef``: the random-intercept model ``y1 ~ x + w + (1 | cluster)``. Given
    ``w_j``, ``u_y1,j = lam * (w_j - mu_w) + r_j`` with ``lam = Sigma[u_y1, w]
    / Sigma[w, w]`` and ``r_j ~ N(0, tau2)`` independent of ``w`` and ``x``.
    ``icc``: the intraclass correlation of ``y1`` given ``x`` (the model
    ``y1 ~ x + (1 | cluster)``).
    """
    lam = sigma[0, 3] / sigma[3, 3]
    tau2 = sigma[0, 0] - sigma[0, 3] ** 2 / sigma[3, 3]
    s2 = omega[0, 0]
    coef = {
        "Intercept": beta[0, 0] - lam * beta2[0, 0],
        "x": beta[1, 0],
        "w": lam,
        "tau2": tau2,
        "s2": s2,
        "icc": tau2 / (tau2 + s2),
    }
    coef = {key: float(value) for key, value in coef.items()}
    return coef, float(sigma[0, 0] / (sigma[0, 0] + omega[0, 0]))


def _logit_offset(fraction, slope, sd):
    """Intercept ``a`` with ``E[expit(a + slope * s)] = fraction`` for ``s ~ N(0, sd**2)``."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    target = np.log(fraction / (1.0 - fraction))
    return brentq(
        lambda a: weights @ expit(a + slope * sd * nodes) - fraction, target - 20.0, target + 20.0
    )


def make_multilevel_data(
    n_clusters=50,
    cluster_size=20,
    missing_fraction=0.25,
    level2_missing_fraction=None,
    random_state=None,
):
    """Draw two-level mixed data from a joint latent-normal model.

    Rows (level 1) are nested in ``n_clusters`` clusters. The level-1
    covariate ``x`` is complete and varies within and between clusters
    (``x_ij = a_j + d_ij`` with ``Var(a_j) = 0.3``, ``Var(d_ij) = 0.7``,
    independent of everything else). Given ``x``, the level-1 outcomes
    ``y1``, ``y2`` (continuous) and the latent normal ``zb`` of the binary
    ``b`` follow the random-intercept model of jomo
    (doc/model.rst, "Model", with ``z_i = 1``)::

        (y1, y2, zb)_ij = B' (1, x_ij) + u_j + e_ij,   e_ij ~ N(0, Omega),

    and the level-2 outcomes ``w`` (continuous) and latent ``zg`` of the
    binary ``g`` are jointly normal with the random intercepts::

        (w, zg)_j = B2' + eps_j,   (u_j, eps_j) ~ N(0, Sigma).

    Latent variances are fixed at 1 (in ``Omega`` for ``zb``, in ``Sigma``
    for ``zg``); as in jomo, the first category is the positive latent:
    ``b = "yes"`` when ``zb > 0`` and ``g = "high"`` when ``zg > 0``.

    Missing at random at both levels: each of ``y1``, ``y2`` and ``b`` is
    deleted row by row with a logistic probability in ``x`` (slopes 1, -1,
    0.5); ``w`` and ``g`` are deleted for whole clusters (every row of the
    cluster) with a logistic probability in the cluster mean of ``x``
    (slopes 1.5 and -1.5). The intercepts of the logistic models are set so
    that the expected shares of missing values equal the requested
    fractions.

    The analysis with a closed-form truth is the random-intercept model
    ``y1 ~ x + w + (1 | cluster)``: since ``u_y1,j`` given ``w_j`` is normal
    with mean ``lam (w_j - mu_w)``, ``lam = Sigma[u_y1, w] / Sigma[w, w]``,
    its fixed effects are ``Intercept = B[0, y1] - lam mu_w``,
    ``x = B[1, y1]`` and ``w = lam``, its random-intercept variance is
    ``tau2 = Sigma[u_y1, u_y1] - Sigma[u_y1, w]**2 / Sigma[w, w]`` and its
    residual variance ``s2 = Omega[y1, y1]``. The intraclass correlation of
    ``y1`` given ``x`` (the model ``y1 ~ x + (1 | cluster)``) is
    ``Sigma[u_y1, u_y1] / (Sigma[u_y1, u_y1] + Omega[y1, y1]) = 1/3``.

    Parameters
    ----------
    n_clusters : int, default=50
        Number of clusters.
    cluster_size : int or array-like of int, default=20
        Rows per cluster: one size for all clusters or one size per
        cluster (length ``n_clusters``, each at least 1).
    missing_fraction : float, default=0.25
        Approximate share of missing values in each of ``y1``, ``y2``, ``b``.
    level2_missing_fraction : float, default=None
        Approximate share of clusters whose ``w`` (and, separately, ``g``)
        is missing; ``None`` means ``missing_fraction``.
    random_state : int, RandomState instance or None, default=None
        Seed of the simulation.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``frame``: the incomplete DataFrame with columns ``cluster``, ``x``,
        ``y1``, ``y2``, ``b`` (level 1) and ``w``, ``g`` (level 2, repeated
        on every row of a cluster, missing on every row of a cluster or on
        none); ``complete``: the same data before deletion; ``truth``: a
        dict with the generating parameters ``beta`` (rows intercept and
        ``x``; columns ``y1``, ``y2``, latent of ``b``), ``omega``, ``beta2``
        (intercepts of ``w`` and the latent of ``g``), ``sigma`` (order
        ``sigma_labels``: random intercepts of ``y1``, ``y2``, ``b``, then
        ``w``, ``g``), ``x_icc``, and the analysis quantities ``coef`` (dict
        with ``Intercept``, ``x``, ``w``, ``tau2``, ``s2`` and ``icc`` of
        ``y1 ~ x + w + (1 | cluster)``) and ``icc`` (intraclass correlation
        of ``y1`` given ``x``).

    See Also
    --------
    make_mixed_data : Single-level counterpart.
    skjomo.MultilevelJointImputer : The imputation model this simulator
        follows (``level2_cols=["w", "g"]``).

    Examples
    --------
    >>> from skjomo.datasets import make_multilevel_data
    >>> data = make_multilevel_data(n_clusters=30, cluster_size=10, random_state=0)
    >>> data.frame.shape
    (300, 7)
    >>> list(data.frame.columns)
    ['cluster', 'x', 'y1', 'y2', 'b', 'w', 'g']
    >>> round(data.truth["coef"]["w"], 3), round(data.truth["icc"], 3)
    (0.354, 0.333)
    >>> bool(data.frame.groupby("cluster")["w"].nunique(dropna=False).eq(1).all())
    True
    """
    for name, value in (
        ("missing_fraction", missing_fraction),
        ("level2_missing_fraction", level2_missing_fraction),
    ):
        if value is not None and not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1); got {value!r}.")
    if level2_missing_fraction is None:
        level2_missing_fraction = missing_fraction
    if not isinstance(n_clusters, numbers.Integral) or n_clusters < 1:
        raise ValueError(f"n_clusters must be a positive integer; got {n_clusters!r}.")
    sizes = np.asarray(cluster_size)
    if sizes.ndim == 0:
        sizes = np.full(n_clusters, sizes)
    if (
        sizes.shape != (n_clusters,)
        or not np.issubdtype(sizes.dtype, np.integer)
        or np.any(sizes < 1)
    ):
        raise ValueError(
            "cluster_size must be a positive integer or n_clusters positive "
            f"integers; got {cluster_size!r}."
        )
    rng = check_random_state(random_state)

    cluster = np.repeat(np.arange(n_clusters), sizes)
    n_rows = cluster.size
    x = np.sqrt(_X_ICC) * rng.standard_normal(n_clusters)[cluster] + np.sqrt(
        1.0 - _X_ICC
    ) * rng.standard_normal(n_rows)
    v = rng.multivariate_normal(np.zeros(5), _SIGMA, size=n_clusters)
    u, level2 = v[:, :3], _BETA2[0] + v[:, 3:]
    design = np.column_stack([np.ones(n_rows), x])
    level1 = design @ _BETA + u[cluster] + rng.multivariate_normal(np.zeros(3), _OMEGA, size=n_rows)
    complete = pd.DataFrame(
        {
            "cluster": cluster,
            "x": x,
            "y1": level1[:, 0],
            "y2": level1[:, 1],
            "b": pd.Categorical(np.where(level1[:, 2] > 0, "yes", "no"), categories=["yes", "no"]),
            "w": level2[cluster, 0],
            "g": pd.Categorical(
                np.where(level2[cluster, 1] > 0, "high", "low"), categories=["high", "low"]
            ),
        }
    )

    frame = complete.copy()
    if missing_fraction > 0:
        for column, slope in (("y1", 1.0), ("y2", -1.0), ("b", 0.5)):
            offset = _logit_offset(missing_fraction, slope, 1.0)
            missing = rng.uniform(size=n_rows) < expit(offset + slope * x)
            frame.loc[missing, column] = np.nan
    if level2_missing_fraction > 0:
        x_mean = np.bincount(cluster, weights=x, minlength=n_clusters) / sizes
        sd = np.sqrt(_X_ICC + (1.0 - _X_ICC) / np.mean(sizes))  # about that of x_mean
        for column, slope in (("w", 1.5), ("g", -1.5)):
            offset = _logit_offset(level2_missing_fraction, slope, sd)
            missing = rng.uniform(size=n_clusters) < expit(offset + slope * x_mean)
            frame.loc[missing[cluster], column] = np.nan

    coef, icc = _analysis_truth(_BETA, _OMEGA, _BETA2, _SIGMA)
    truth = {
        "beta": _BETA.copy(),
        "omega": _OMEGA.copy(),
        "beta2": _BETA2.copy(),
        "sigma": _SIGMA.copy(),
        "sigma_labels": list(_SIGMA_LABELS),
        "x_icc": _X_ICC,
        "coef": coef,
        "icc": icc,
    }
    return Bunch(frame=frame, complete=complete, truth=truth)
