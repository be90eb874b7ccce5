"""Default scales of the covariance priors, built from the data (scale-free).

An inverse-Wishart prior ``IW(nu, S)`` adds ``S`` to the scatter matrix of
the covariance it governs: the posterior is ``IW(nu + n, S + scatter)`` with
``scatter`` about ``n`` times the covariance. The identity (jomo's default)
is therefore negligible for data in large units and dominates data in small
units. The defaults below put one *pseudo-unit* of the data's own variance
in ``S`` instead (doc/model.rst, "Priors"):

* level 1 (``Omega``, common or one per cluster): the observed variance of
  each continuous outcome; the prior counts as one row, an influence of
  about ``1 / N`` (``1 / n_j`` per cluster with ``cov_method="fixed"``);
* level 2 (``Sigma``): for the random intercept of a continuous outcome the
  variance across clusters of its observed cluster means (about
  ``tau^2 + sigma^2 / n``); for its random slope on ``z_k`` that variance
  over ``var(z_k)``; for a continuous level-2 outcome its variance across
  clusters. The prior counts as one cluster: it adds about ``1 / J`` of
  ``J tau^2``, times ``1 + (1 - ICC) / (n ICC)``;
* latent normals of categorical outcomes keep 1 (their scale is fixed by
  the model), and their random slopes ``1 / var(z_k)``.
* the Wishart prior of ``A`` (``cov_method="random"``): the level-1
  diagonal with its continuous entries times ``HYPER`` times the number of
  continuous outcomes, so that its pull on ``a`` is about 1% of that of the
  chi-square prior of ``a``.

Every entry is diagonal and moves with the units of its column, so
multiplying a column by a constant multiplies its imputations by that
constant. A variance of zero (a constant column) is floored at
``(FLOOR * max |y|)^2`` (``FLOOR^2`` for an all-zero column), so that such a
column is imputed at its value up to about ``FLOOR / sqrt(N)`` relative
error.
"""

import numpy as np

# relative floor of a scale (a constant column)
FLOOR = 1e-6
# the Wishart prior of A (cov_method="random") has scale HYPER * (number of
# continuous outcomes) times the level-1 default
HYPER = 100.0


def _floored(variance, magnitude):
    """``variance`` floored at ``(FLOOR * magnitude)^2`` (``magnitude`` 0 -> 1)."""
    magnitude = np.where(magnitude > 0, magnitude, 1.0)
    return np.maximum(np.nan_to_num(variance, nan=0.0), (FLOOR * magnitude) ** 2)


def column_variances(values):
    """Observed variance of each column of ``values`` (NaN = missing), floored.

    Parameters
    ----------
    values : ndarray of shape (n, k)

    Returns
    -------
    ndarray of shape (k,)
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    observed = ~np.isnan(values)
    count = observed.sum(axis=0)
    filled = np.where(observed, values, 0.0)
    mean = filled.sum(axis=0) / np.maximum(count, 1)
    centred = np.where(observed, values - mean, 0.0)
    variance = (centred**2).sum(axis=0) / np.maximum(count - 1, 1)
    magnitude = np.abs(filled).max(axis=0, initial=0.0)
    return _floored(variance, magnitude)


def cluster_mean_variances(values, cluster, n_clusters):
    """Variance across clusters of the observed cluster means of each column.

    Clusters without an observed value are left out. Floored at the
    column's variance over its number of observed values (what the
    variance of cluster means is when every cluster holds one row and
    there is no clustering).
    """
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    observed = ~np.isnan(values)
    filled = np.where(observed, values, 0.0)
    total = np.zeros((n_clusters, values.shape[1]))
    count = np.zeros((n_clusters, values.shape[1]))
    for k in range(values.shape[1]):  # columns; np.bincount sums in row order
        total[:, k] = np.bincount(cluster, filled[:, k], n_clusters)
        count[:, k] = np.bincount(cluster, observed[:, k], n_clusters)
    means = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    between = column_variances(means)
    floor = column_variances(values) / np.maximum(observed.sum(axis=0), 1)
    return np.maximum(between, floor)


def level1_scale(values, n_continuous):
    """Default scale of the level-1 covariance prior (diagonal).

    Parameters
    ----------
    values : ndarray of shape (n, p)
        Encoded level-1 outcomes (continuous columns first, NaN where
        missing; latent columns after them).
    n_continuous : int

    Returns
    -------
    ndarray of shape (p, p)
    """
    diagonal = np.ones(values.shape[1])
    diagonal[:n_continuous] = column_variances(values[:, :n_continuous])
    return np.diag(diagonal)


def level2_scale(values, n_continuous, cluster, n_clusters, z, values2=None, n_continuous2=0):
    """Default scale of the level-2 covariance prior (diagonal).

    Parameters
    ----------
    values : ndarray of shape (n, p)
        Encoded level-1 outcomes, as for :func:`level1_scale`.
    n_continuous : int
    cluster : ndarray of int (n,)
    n_clusters : int
    z : ndarray of shape (n, q)
        Random-effect design, intercept first.
    values2 : ndarray of shape (J, p2), optional
        Encoded level-2 outcomes (continuous first).
    n_continuous2 : int

    Returns
    -------
    ndarray of shape (d, d), ``d = p q + p2``
        Rows follow ``(u_j, y2_j)``: for each outcome its intercept and
        slopes, then the level-2 outcomes.
    """
    p, q = values.shape[1], z.shape[1]
    intercept = np.ones(p)
    intercept[:n_continuous] = cluster_mean_variances(values[:, :n_continuous], cluster, n_clusters)
    z_variance = np.ones(q)
    z_variance[1:] = column_variances(z[:, 1:])
    effects = intercept[:, None] / z_variance[None, :]  # outcome t, predictor k
    level2 = np.ones(0 if values2 is None else values2.shape[1])
    if n_continuous2:
        level2[:n_continuous2] = column_variances(values2[:, :n_continuous2])
    return np.diag(np.concatenate([effects.ravel(), level2]))


def default_scales(
    values,
    n_continuous,
    cluster=None,
    n_clusters=1,
    z=None,
    values2=None,
    n_continuous2=0,
    hyperprior=False,
    names=None,
):
    """Data-based default prior scales and starting covariances of one fit.

    Parameters
    ----------
    values, n_continuous : ndarray, int
        Encoded level-1 outcomes (see :func:`level1_scale`).
    cluster, n_clusters, z, values2, n_continuous2 : optional
        Two-level models (see :func:`level2_scale`).
    hyperprior : bool
        The level-1 scale is that of the Wishart prior of ``A``
        (``cov_method="random"``): its continuous entries are multiplied by
        ``HYPER`` times the number of continuous outcomes.
    names : list, optional
        Labels of the level-1 columns, for error messages.

    Returns
    -------
    dict
        ``"prior"``: level-1 prior scale; ``"cov"``: starting level-1
        covariance; ``"sigma"`` (two-level models): level-2 prior scale and
        starting covariance.
    """
    cov = level1_scale(values, n_continuous)
    prior = cov.copy()
    if hyperprior:
        _check_not_constant(values[:, :n_continuous], names)
        prior[:n_continuous, :n_continuous] *= HYPER * n_continuous
    scales = {"prior": prior, "cov": cov}
    if z is not None:
        scales["sigma"] = level2_scale(
            values, n_continuous, cluster, n_clusters, z, values2, n_continuous2
        )
    return scales


def _check_not_constant(values, names):
    """With cluster covariances drawn from ``IW(a, A)``, a column constant in
    every cluster has an improper posterior: all ``Omega_j`` and ``A``
    shrink towards 0 together, whatever the prior of ``A``."""
    spread = np.nanmax(values, axis=0, initial=-np.inf) - np.nanmin(values, axis=0, initial=np.inf)
    # one observed value is left to the checks on the number of rows
    constant = np.flatnonzero((spread == 0) & ((~np.isnan(values)).sum(axis=0) > 1))
    if constant.size:
        name = names[constant[0]] if names is not None else constant[0]
        raise ValueError(
            f"Column {name!r} is constant where observed; with cov_method='random' its "
            "cluster covariances have no proper posterior. Exclude it (exclude_cols) or "
            "use cov_method='fixed'."
        )


def data_scales(spec, codec, encoded):
    """:func:`default_scales` of an encoded training frame.

    Parameters
    ----------
    spec : ModelSpec
    codec : FrameCodec
    encoded : EncodedFrame
    """
    n_continuous = len(codec.schema.continuous)
    if not spec.multilevel:
        return default_scales(encoded.values, n_continuous)
    level2 = encoded.level2
    return default_scales(
        encoded.values,
        n_continuous,
        encoded.cluster,
        encoded.n_clusters,
        encoded.z,
        level2["values2"] if level2 else None,
        len(codec.schema2.continuous) if level2 else 0,
        hyperprior=spec.cov_method == "random",
        names=codec.latent_labels,
    )
