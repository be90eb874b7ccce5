"""Simulators with cluster-specific level-1 covariances and a known truth.

``make_ipd_data``: an individual-participant-data (IPD) meta-analysis: a few
large studies whose outcome-covariate correlations differ, the covariate
missing at random. ``make_hierarchical_covariance_data``: many clusters whose
covariances are drawn from the inverse-Wishart distribution of
:class:`skjomo.HeteroscedasticMultilevelImputer` with ``cov_method="random"``
and a known degrees of freedom ``a``.
"""

import numbers

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit
from sklearn.utils import Bunch, check_random_state

from ._simulate_multilevel import _logit_offset

# Six studies, ordered by the correlation of x and y within the study.
_IPD_CORR = np.array([0.0, 0.2, 0.4, 0.6, 0.75, 0.9])
_IPD_MEAN_X = np.array([0.0, 0.3, -0.2, 0.5, -0.4, 0.1])
_IPD_MEAN_Y = np.array([0.0, 0.5, -0.3, 0.2, 0.8, -0.5])
_IPD_SD_X = np.array([1.0, 1.2, 0.8, 1.0, 1.1, 0.9])
_IPD_SD_Y = np.array([1.0, 1.1, 0.9, 1.2, 1.0, 1.0])
# Relative shares of missing x: more missing values where x and y correlate
# more strongly.
_IPD_MISSING_WEIGHT = np.array([0.4, 0.6, 0.8, 1.2, 1.4, 1.6])


def _check_fraction(value, name):
    if not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}.")


def _sizes(cluster_size, n_clusters, name):
    sizes = np.asarray(cluster_size)
    if sizes.ndim == 0:
        sizes = np.full(n_clusters, sizes)
    if (
        sizes.shape != (n_clusters,)
        or not np.issubdtype(sizes.dtype, np.integer)
        or np.any(sizes < 1)
    ):
        raise ValueError(
            f"{name} must be a positive integer or {n_clusters} positive "
            f"integers; got {cluster_size!r}."
        )
    return sizes.astype(np.int64)


def make_ipd_data(study_size=200, correlations=None, missing_fraction=0.3, random_state=None):
    """Draw an IPD meta-analysis whose studies differ in their correlations.

    A few large studies (clusters) ``j`` each hold ``study_size`` people
    with a covariate ``x`` and an outcome ``y`` drawn from a bivariate
    normal distribution with study-specific means, standard deviations and
    correlation ``rho_j`` (defaults: six studies with ``rho = 0, 0.2, 0.4,
    0.6, 0.75, 0.9``, standard deviations between 0.8 and 1.2). Within study
    ``j`` the regression of ``y`` on ``x`` is linear with slope
    ``beta_j = rho_j sd_y,j / sd_x,j`` and residual variance
    ``sd_y,j**2 (1 - rho_j**2)``: the studies differ in their level-1
    covariance, not only in their means. This is the setting of
    :class:`skjomo.HeteroscedasticMultilevelImputer`; a joint model with one
    common covariance (:class:`skjomo.MultilevelJointImputer`) imputes every
    study with the same, pooled, relation between ``x`` and ``y``.

    ``x`` is missing at random given ``y`` (complete) and the study: in
    study ``j`` with a logistic probability ``expit(c_j + 1.5 z)``, ``z`` the
    standardised ``y`` of the study, the intercepts ``c_j`` set so that the
    expected shares of missing ``x`` are ``missing_fraction`` times
    ``0.4, 0.6, 0.8, 1.2, 1.4, 1.6`` (for six studies; in general evenly
    spaced from 0.4 to 1.6 in study order): studies with stronger
    correlations lose more values. Complete cases are biased here (the
    missingness depends on the outcome).

    The analysis with a known truth is the pooled within-study slope of
    ``y`` on ``x``: the average over studies of the study-specific slopes,
    ``beta = mean_j beta_j`` (a two-stage IPD meta-analysis with equal
    weights). It is estimated by the average of the per-study least-squares
    slopes, with variance ``sum_j se_j**2 / J**2`` (``se_j`` the usual
    least-squares standard error of study ``j``), which is valid whatever
    the heterogeneity of the studies.

    Parameters
    ----------
    study_size : int or array-like of int, default=200
        People per study: one size for every study or one size per study.
    correlations : array-like of float, default=None
        Correlation of ``x`` and ``y`` within each study (between -1 and 1),
        which also sets the number of studies. ``None`` means the six
        default studies. For other lengths the means are 0 and the standard
        deviations 1.
    missing_fraction : float, default=0.3
        Average share of missing ``x`` over studies.
    random_state : int, RandomState instance or None, default=None
        Seed of the simulation.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``frame``: the incomplete DataFrame with columns ``study`` (labels
        ``"S1"``, ``"S2"``, ...), ``x`` and ``y``; ``complete``: the same
        data before deletion; ``truth``: a dict with ``slope`` (the pooled
        within-study slope ``mean_j beta_j``), ``study_slopes``
        (``beta_j``), ``correlations``, ``means`` and ``covariances`` (per
        study, order ``x``, ``y``), ``missing_fractions`` (expected share of
        missing ``x`` per study) and ``common_slope`` (the slope that one
        covariance for all studies implies: the ratio of the size-weighted
        average covariance of ``x`` and ``y`` to the average variance of
        ``x``).

    See Also
    --------
    make_hierarchical_covariance_data : Many clusters with covariances drawn
        from an inverse-Wishart distribution.

    Examples
    --------
    >>> from skjomo.datasets import make_ipd_data
    >>> data = make_ipd_data(random_state=0)
    >>> data.frame.shape
    (1200, 3)
    >>> round(data.truth["slope"], 3), round(data.truth["common_slope"], 3)
    (0.506, 0.477)
    """
    _check_fraction(missing_fraction, "missing_fraction")
    if correlations is None:
        corr, mean_x, mean_y = _IPD_CORR, _IPD_MEAN_X, _IPD_MEAN_Y
        sd_x, sd_y = _IPD_SD_X, _IPD_SD_Y
        weights = _IPD_MISSING_WEIGHT
    else:
        corr = np.asarray(correlations, dtype=np.float64).ravel()
        if corr.size < 1 or np.any(~np.isfinite(corr)) or np.any(np.abs(corr) >= 1):
            raise ValueError(
                f"correlations must be numbers strictly between -1 and 1; got {correlations!r}."
            )
        mean_x = mean_y = np.zeros(corr.size)
        sd_x = sd_y = np.ones(corr.size)
        weights = np.linspace(0.4, 1.6, corr.size) if corr.size > 1 else np.ones(1)
    n_studies = corr.size
    sizes = _sizes(study_size, n_studies, "study_size")
    fractions = missing_fraction * weights
    if np.any(fractions >= 1):
        raise ValueError(
            f"missing_fraction {missing_fraction!r} is too large: the study with "
            f"most missing values would lose {fractions.max():.0%} of x."
        )
    rng = check_random_state(random_state)

    labels = np.array([f"S{j + 1}" for j in range(n_studies)])
    study = np.repeat(np.arange(n_studies), sizes)
    zx = rng.standard_normal(study.size)
    zy = corr[study] * zx + np.sqrt(1.0 - corr[study] ** 2) * rng.standard_normal(study.size)
    x = mean_x[study] + sd_x[study] * zx
    y = mean_y[study] + sd_y[study] * zy
    complete = pd.DataFrame({"study": labels[study], "x": x, "y": y})

    frame = complete.copy()
    if missing_fraction > 0:
        slope = 1.5
        offsets = np.array([_logit_offset(f, slope, 1.0) for f in fractions])
        missing = rng.uniform(size=study.size) < expit(offsets[study] + slope * zy)
        frame.loc[missing, "x"] = np.nan

    study_slopes = corr * sd_y / sd_x
    cov_xy = corr * sd_x * sd_y
    covariances = np.stack(
        [np.array([[sx * sx, c], [c, sy * sy]]) for sx, sy, c in zip(sd_x, sd_y, cov_xy)]
    )
    w = sizes / sizes.sum()
    truth = {
        "slope": float(study_slopes.mean()),
        "study_slopes": study_slopes,
        "correlations": corr.copy(),
        "means": np.column_stack([mean_x, mean_y]),
        "covariances": covariances,
        "missing_fractions": fractions,
        "common_slope": float(w @ cov_xy / (w @ sd_x**2)),
        "study_labels": list(labels),
    }
    return Bunch(frame=frame, complete=complete, truth=truth)


def make_hierarchical_covariance_data(
    n_clusters=100, cluster_size=30, a=8.0, mean_cov=None, missing_fraction=0.2, random_state=None
):
    """Draw two-level data whose cluster covariances come from ``IW(a, A)``.

    The model of :class:`skjomo.HeteroscedasticMultilevelImputer` with
    ``cov_method="random"`` (doc/model.rst), two continuous outcomes
    ``y1``, ``y2`` and a complete covariate ``x ~ N(0, 1)``::

        (y1, y2)_ij = B' (1, x_ij) + u_j + e_ij,   e_ij ~ N(0, Omega_j),
        u_j ~ N(0, Sigma_u),   Omega_j ~ IW(a, A) independently,

    with ``B = [[1, -0.5], [0.5, 0.8]]`` (rows intercept, ``x``),
    ``Sigma_u = [[0.3, 0.1], [0.1, 0.2]]`` and ``IW(a, A)`` the
    inverse-Wishart with ``Omega_j^{-1} ~ Wishart(a, A^{-1})`` (mean
    ``A / (a - 3)``; scipy's ``invwishart(df=a, scale=A)``). ``A`` is set
    so that the mean of ``Omega_j`` is ``mean_cov``. The smaller ``a``, the
    more the clusters' covariances differ.

    ``y1`` and ``y2`` are each missing at random given ``x``, with logistic
    probabilities (slopes 1 and -1) whose averages are about
    ``missing_fraction``.

    Parameters
    ----------
    n_clusters : int, default=100
        Number of clusters.
    cluster_size : int or array-like of int, default=30
        Rows per cluster: one size for all clusters or one per cluster.
    a : float, default=8.0
        Degrees of freedom of the inverse-Wishart distribution of the
        cluster covariances; must exceed 3 (so that the mean exists).
    mean_cov : array-like of shape (2, 2), default=None
        Mean of the cluster covariances; ``None`` means
        ``[[1, 0.5], [0.5, 1]]``.
    missing_fraction : float, default=0.2
        Approximate share of missing values in each outcome.
    random_state : int, RandomState instance or None, default=None
        Seed of the simulation.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``frame``: the incomplete DataFrame with columns ``cluster``, ``x``,
        ``y1``, ``y2``; ``complete``: the data before deletion; ``truth``: a
        dict with ``a``, ``scale`` (``A``), ``mean_cov``, ``beta``,
        ``sigma_u``, and the drawn ``cluster_covariances`` (shape
        ``(n_clusters, 2, 2)``) and ``random_effects``.

    Examples
    --------
    >>> from skjomo.datasets import make_hierarchical_covariance_data
    >>> data = make_hierarchical_covariance_data(n_clusters=20, cluster_size=10,
    ...                                          random_state=0)
    >>> data.frame.shape
    (200, 4)
    >>> data.truth["cluster_covariances"].shape
    (20, 2, 2)
    """
    _check_fraction(missing_fraction, "missing_fraction")
    if not isinstance(n_clusters, numbers.Integral) or n_clusters < 1:
        raise ValueError(f"n_clusters must be a positive integer; got {n_clusters!r}.")
    if not isinstance(a, numbers.Real) or not a > 3:
        raise ValueError(f"a must be a number greater than 3; got {a!r}.")
    p = 2
    mean_cov = (
        np.array([[1.0, 0.5], [0.5, 1.0]])
        if mean_cov is None
        else np.asarray(mean_cov, dtype=np.float64)
    )
    if (
        mean_cov.shape != (p, p)
        or not np.allclose(mean_cov, mean_cov.T)
        or np.any(np.linalg.eigvalsh(mean_cov) <= 0)
    ):
        raise ValueError("mean_cov must be a symmetric positive definite 2 x 2 matrix.")
    sizes = _sizes(cluster_size, n_clusters, "cluster_size")
    rng = check_random_state(random_state)

    beta = np.array([[1.0, -0.5], [0.5, 0.8]])
    sigma_u = np.array([[0.3, 0.1], [0.1, 0.2]])
    scale = (a - p - 1) * mean_cov
    covs = stats.invwishart(df=a, scale=scale).rvs(size=n_clusters, random_state=rng)
    covs = np.reshape(covs, (n_clusters, p, p))
    u = rng.multivariate_normal(np.zeros(p), sigma_u, size=n_clusters)
    cluster = np.repeat(np.arange(n_clusters), sizes)
    x = rng.standard_normal(cluster.size)
    chol = np.linalg.cholesky(covs)
    e = np.einsum("nij,nj->ni", chol[cluster], rng.standard_normal((cluster.size, p)))
    y = np.column_stack([np.ones(cluster.size), x]) @ beta + u[cluster] + e
    complete = pd.DataFrame({"cluster": cluster, "x": x, "y1": y[:, 0], "y2": y[:, 1]})
    frame = complete.copy()
    if missing_fraction > 0:
        for column, slope in (("y1", 1.0), ("y2", -1.0)):
            offset = _logit_offset(missing_fraction, slope, 1.0)
            frame.loc[rng.uniform(size=cluster.size) < expit(offset + slope * x), column] = np.nan
    truth = {
        "a": float(a),
        "scale": scale,
        "mean_cov": mean_cov.copy(),
        "beta": beta,
        "sigma_u": sigma_u,
        "cluster_covariances": covs,
        "random_effects": u,
    }
    return Bunch(frame=frame, complete=complete, truth=truth)
