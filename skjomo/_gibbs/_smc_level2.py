"""Level-2 covariates of a two-level analysis model (numba).

A covariate measured on clusters (``w`` in ``y ~ x1 * w + (1 + x1 | g)``)
is a level-2 outcome of the two-level joint model: one value ``w_j`` per
cluster in the level-2 vector ``v_j = (u_j, y2_j)`` with ``v_j ~ N(mu_j,
Sigma)`` (doc/model.rst). Its full conditional is

``p(w_j | rest) ∝ p(w_j | v_j without w_j; Sigma) prod_{i in j} f(y_ij | w(x_ij, w_j); theta, b_j)``:

in the joint model the level-1 rows depend on ``v_j`` only through the
random effects ``u_j``, and in the analysis model every row of cluster
``j`` (with the cluster's analysis random effects ``b_j``) depends on
``w_j``. Each missing level-2 cell (a continuous value or the latent block
of a categorical) is drawn by Metropolis-Hastings with the normal
conditional as proposal, so that the acceptance ratio is the likelihood
ratio of the cluster's rows (doc/smc.rst, "Level-2 covariates"); a
categorical proposal whose category is the current one is accepted (the
ratio is 1). Level-2 cells that do not enter the analysis model take the
proposal (an exact Gibbs draw). Rows whose outcome is missing enter the
likelihood with their current imputed outcome, which is then redrawn in the
next iteration: the step is an ordinary Metropolis-within-Gibbs update.
"""

from collections import namedtuple

import numpy as np

from ._jit import kernel
from ._linalg import cholesky_lower, solve_lower, solve_lower_transpose
from ._smc import _row_log_likelihood, design_row, latent_category, predictor, set_predictor

Level2Covariates = namedtuple(
    "Level2Covariates",
    [
        "var_col",  # (V,) column of v_j of each analysis variable at level 2, else -1
        "var_block",  # (V,) its categorical block (index into cat2_start), else -1
        "var_size",  # (V,) latents of that block (1 for a continuous variable)
        "unit_cluster",  # missing level-2 cells (U2,): cluster,
        "unit_col",  # first column in v_j,
        "unit_size",  # columns (latents of a categorical),
        "unit_var",  # analysis variable (-1: an auxiliary column)
    ],
)


def _int(values):
    return np.ascontiguousarray(values, dtype=np.int64)


def build_level2_covariates(
    var_col=None, var_block=None, missing2=None, cat2_start=None, cat2_size=None, offset=0
):
    """A :data:`Level2Covariates`; without ``var_col`` an empty one.

    ``var_col`` are the analysis variables' columns among the level-2
    outcomes (``offset`` = ``p q`` columns of random effects precede them in
    ``v_j``), ``missing2`` the missing cells of ``v_j`` (J, d) and
    ``cat2_start`` (in ``v_j``), ``cat2_size`` the level-2 latent layout.
    """
    if var_col is None:
        empty = _int([])
        return Level2Covariates(empty, empty, empty, empty, empty, empty, empty)
    var_block = _int(var_block)
    cat2_start, cat2_size = _int(cat2_start), _int(cat2_size)
    at_level2 = _int(var_col) >= 0
    var_col = np.where(at_level2, _int(var_col) + offset, -1)
    var_size = np.ones(var_col.shape[0], np.int64)
    var_size[var_block >= 0] = cat2_size[var_block[var_block >= 0]]
    n_free2 = missing2.shape[1] - int(cat2_size.sum())
    variable_of = np.full(missing2.shape[1], -1, np.int64)
    variable_of[var_col[at_level2]] = np.flatnonzero(at_level2)
    # continuous cells, then the categorical blocks (one unit per block)
    clusters, cols = np.nonzero(missing2[:, :n_free2])
    sizes = [np.ones(clusters.shape[0], np.int64)]
    clusters, cols = [clusters], [cols]
    for start, size in zip(cat2_start, cat2_size):
        missing_block = np.flatnonzero(missing2[:, start])
        clusters.append(missing_block)
        cols.append(np.full(missing_block.shape[0], start))
        sizes.append(np.full(missing_block.shape[0], size))
    clusters, cols, sizes = (np.concatenate(a).astype(np.int64) for a in (clusters, cols, sizes))
    order = np.argsort(clusters, kind="stable")
    return Level2Covariates(
        var_col=_int(var_col),
        var_block=var_block,
        var_size=var_size,
        unit_cluster=_int(clusters[order]),
        unit_col=_int(cols[order]),
        unit_size=_int(sizes[order]),
        unit_var=_int(variable_of[cols[order]]),
    )


def sync_level2(am, xvars, level2):
    """Write the level-2 values ``level2`` (J, d) of the analysis variables at
    level 2 into the rows of ``xvars`` where they are missing (a category
    from its latents as :func:`._smc.latent_category`)."""
    l2, cluster = am.level2, am.random_effects.cluster
    for v in np.flatnonzero(l2.var_col >= 0):
        col, size = l2.var_col[v], l2.var_size[v]
        if l2.var_block[v] < 0:
            value = level2[:, col]
        else:
            latents = level2[:, col : col + size]
            value = np.where(latents.max(axis=1) > 0.0, latents.argmax(axis=1), size)
        rows = np.isnan(xvars[:, v])
        xvars[rows, v] = value[cluster[rows]]


@kernel
def _conditional_proposal(rng, level2, means2, precision, j, col, s, resid, proposal, block, chol):
    """Draw ``v_j[col:col+s]`` from its normal conditional given the rest of
    ``v_j`` (``N(mu_j, Sigma)`` with precision ``precision``) into
    ``proposal[:s]``."""
    d = level2.shape[1]
    for t in range(d):
        resid[t] = level2[j, t] - means2[j, t]
    for a in range(s):
        shift = 0.0
        for t in range(d):
            if t < col or t >= col + s:
                shift += precision[col + a, t] * resid[t]
        proposal[a] = shift
        for c in range(s):
            block[a, c] = precision[col + a, col + c]
    cholesky_lower(block[:s, :s], chol[:s, :s])
    solve_lower(chol[:s, :s], proposal[:s])
    solve_lower_transpose(chol[:s, :s], proposal[:s])
    noise = np.empty(s)
    for a in range(s):
        noise[a] = rng.standard_normal()
    solve_lower_transpose(chol[:s, :s], noise)
    for a in range(s):
        proposal[a] = means2[j, col + a] - proposal[a] + noise[a]


@kernel
def _cluster_log_ratio(am, ast, j, v, value, w_new, eta_new):
    """Set analysis variable ``v`` of every row of cluster ``j`` to ``value``
    and return the log likelihood ratio of the cluster's rows, new over
    current; their new design rows and predictors go to ``w_new``,
    ``eta_new`` (in the order of ``cluster_rows``)."""
    re = am.random_effects
    log_ratio = 0.0
    for r in range(re.cluster_ptr[j], re.cluster_ptr[j + 1]):
        i = re.cluster_rows[r]
        a = r - re.cluster_ptr[j]
        ast.xvars[i, v] = value
        design_row(am, ast.xvars, i, w_new[a])
        eta_new[a] = predictor(am, ast, i, w_new[a])
        log_ratio += _row_log_likelihood(am, ast, i, eta_new[a]) - _row_log_likelihood(
            am, ast, i, ast.eta[i]
        )
    return log_ratio


@kernel
def draw_level2_covariates(rng, am, ast, level2, means2, precision):
    """Every missing level-2 cell of ``level2`` (J, d) by Metropolis-Hastings
    (module docstring); ``means2`` and ``precision`` (d, d) are the mean and
    precision of ``v_j``. Returns the accepted moves of cells of analysis
    variables."""
    l2, re = am.level2, am.random_effects
    d, k = level2.shape[1], ast.w.shape[1]
    longest, size = 0, 1
    for j in range(re.cluster_ptr.shape[0] - 1):
        longest = max(longest, re.cluster_ptr[j + 1] - re.cluster_ptr[j])
    for u in range(l2.unit_size.shape[0]):
        size = max(size, l2.unit_size[u])
    w_new, eta_new = np.empty((longest, k)), np.empty(longest)
    resid, proposal = np.empty(d), np.empty(size)
    block, chol = np.empty((size, size)), np.empty((size, size))
    accepted = 0
    for u in range(l2.unit_cluster.shape[0]):
        j, col, s, v = l2.unit_cluster[u], l2.unit_col[u], l2.unit_size[u], l2.unit_var[u]
        _conditional_proposal(
            rng, level2, means2, precision, j, col, s, resid, proposal, block, chol
        )
        first, stop = re.cluster_ptr[j], re.cluster_ptr[j + 1]
        if v >= 0 and stop > first:
            new_x = proposal[0] if s == 1 and l2.var_block[v] < 0 else latent_category(proposal[:s])
            old_x = ast.xvars[re.cluster_rows[first], v]
            if new_x != old_x:
                log_ratio = _cluster_log_ratio(am, ast, j, v, new_x, w_new, eta_new)
                if not np.log(rng.random()) < log_ratio:
                    for r in range(first, stop):
                        ast.xvars[re.cluster_rows[r], v] = old_x
                    continue
                for r in range(first, stop):
                    i = re.cluster_rows[r]
                    ast.w[i, :] = w_new[r - first]
                    set_predictor(ast, i, eta_new[r - first])  # and exp(eta)
            accepted += 1
        for a in range(s):
            level2[j, col + a] = proposal[a]
    return accepted
