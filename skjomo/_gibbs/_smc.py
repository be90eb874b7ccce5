"""Substantive-model-compatible steps: the analysis model inside the chain (numba).

The joint latent-normal model of the covariates is sampled by the usual
steps; an analysis model ``f(y | w(x); theta)`` adds three steps
(doc/smc.rst):

* ``theta`` given the completed data (linear model: exact normal /
  scaled-inverse-chi-square draw; logistic model: Metropolis-Hastings with
  an iteratively-reweighted-least-squares proposal; Cox model: the same
  move on the partial likelihood, then the Breslow baseline hazard, in
  :mod:`._smc_cox`);
* every missing covariate cell (a continuous cell or a categorical latent
  block) by Metropolis-Hastings whose proposal is its joint-model
  conditional given the rest of the row, accepted with the ratio
  ``f(y_i | w(x*_i)) / f(y_i | w(x_i))`` (the normal densities cancel);
  cells of auxiliary columns, and rows whose outcome is missing (the
  outcome integrated out), take the proposal as it comes;
* missing outcomes from ``f(y | w(x); theta)``.

The analysis design ``w(x)`` is rebuilt from a term table (products of
integer powers of columns and category indicators, see
:mod:`skjomo._analysis_model`) whenever a covariate changes; the analysis
arrays cover all ``N`` rows, the joint model's only its dynamic rows
(``dyn_to_row`` maps the latter into the former).
"""

from collections import namedtuple

import numpy as np

from ._jit import kernel
from ._linalg import cholesky_lower, draw_normal_precision, solve_lower, solve_lower_transpose
from ._linalg import log_normal_precision as _log_proposal
from ._logistic import log1pexp as _log1pexp
from ._smc_cox import (
    COX,
    baseline_at_times,
    build_cox_data,
    cox_newton_point,
    cox_row_log_likelihood,
    cox_starting_fit,
    empty_cox_state,
    update_baseline,
)
from ._smc_logistic import (
    accept_logistic_move,
    draw_logistic_independence,
    recentre_reference,
    reference_statistics,
)
from ._smc_mixed import (
    build_random_effects,
    draw_mixed_linear,
    initial_random_effects,
    random_part,
)
from ._smc_mixed_logistic import draw_mixed_logistic
from ._smc_ordinal import (
    ORDINAL,
    accept_ordinal_move,
    draw_ordinal_outcome,
    draw_ordinal_parameters,
    ordinal_row_log_likelihood,
    ordinal_starting_fit,
    row_likelihood,
)
from ._smc_ordinal_kept import cut_factors, product_terms
from ._smc_ordinal_mixed import (
    draw_mixed_ordinal,
    draw_ordinal_parameters_at_mode,
    mean_effect_shift,
    random_offsets,
    reference_cross,
)
from ._smc_ordinal_step import (
    draw_ordinal_independence,
    ordinal_reference_statistics,
    recentre_ordinal_reference,
)

AnalysisModel = namedtuple(
    "AnalysisModel",
    [
        "family",  # 0 none, 1 linear, 2 logistic, 3 ordinal
        "y_data",  # (N,) outcome, NaN where missing
        "x_data",  # (N, V) analysis variables (category codes), NaN where missing
        "y_missing",  # (N,) bool
        "missing_rows",  # (M,) rows with a missing outcome
        "dyn_to_row",  # (n_d,) row of each dynamic row of the joint model
        "var_col",
        "var_block",
        "var_size",  # (V,) joint-model column, categorical block, latents
        "term_ptr",
        "factor_var",
        "factor_power",
        "factor_level",  # the term table
        "unit_row",
        "unit_col",
        "unit_size",
        "unit_var",
        "unit_block",  # missing cells (U,)
        "prior_df",
        "prior_scale",  # scaled-inverse-chi-square prior of sigma^2 (linear)
        "random_effects",  # RandomEffects of a two-level model (_smc_mixed.py)
        "level2",  # Level2Covariates: analysis variables at level 2 (_smc_level2.py)
        "n_cuts",  # cut-points of the ordinal model (0 otherwise)
        "theta_start",  # (k + n_cuts,) starting parameters, or empty: the starting fit
        "cox",  # CoxData: times and their order (Cox model; empty otherwise)
        "moving_rows",  # rows whose design or outcome can change (sorted)
    ],
)

AnalysisState = namedtuple(
    "AnalysisState",
    [
        "xvars",  # (N, V) current analysis variables
        "w",  # (N, k) analysis design
        "eta",  # (N,) linear predictor (single-level linear model: of the moving rows only)
        "y",  # (N,) completed outcome
        "theta",  # (k + n_cuts,) coefficients, then the ordinal cut-points
        "sigma2",  # (1,) residual variance (linear model)
        "random",  # RandomEffectsState of a two-level model (_smc_mixed.py)
        "cox",  # CoxState: baseline cumulative hazard (Cox model)
        "exp_eta",  # (N,) exp(eta) (logistic and ordinal mixed models; empty otherwise)
        "theta_ref",  # (r,) reference point of the single-level theta step, r = len(theta)
        "ref_info",
        "ref_score",  # (r, r), (r,): statistics at it (_smc_logistic.py, _smc_ordinal_step.py)
        "lik",  # (N,) P(y_i | eta_i) (ordinal model; empty otherwise)
        "ref_cross",  # (J, r, kz) change of the fixed rows' score with b_j at the
        "ref_effects",  # (J, kz) reference, and b_j - mean(b) there (ordinal mixed model)
    ],
    # empty unless set: a state built without them runs the other steps; the
    # reference point and its statistics are those of the single-level
    # logistic (_smc_logistic.py) or ordinal (_smc_ordinal_step.py) theta step
    defaults=(
        np.zeros(0),
        np.zeros(0),
        np.zeros((0, 0)),
        np.zeros(0),
        np.zeros(0),
        np.zeros((0, 0, 0)),
        np.zeros((0, 0)),
    ),
)

LINEAR, LOGISTIC = 1, 2


def _int(values):
    return np.ascontiguousarray(values, dtype=np.int64)


def build_analysis_model(
    dynamic,
    missing,
    cat_start,
    cat_size,
    family=0,
    y=None,
    xvars=None,
    var_col=None,
    var_block=None,
    term_ptr=None,
    factor_var=None,
    factor_power=None,
    factor_level=None,
    prior_df=0.0,
    prior_scale=0.0,
    random_effects=None,
    n_cuts=0,
    theta_start=None,
    time=None,
    event_grid=None,
    level2=None,
    level2_layout=None,
):
    """Assemble an :data:`AnalysisModel` (``family=0``: none, empty arrays).

    ``dynamic`` are the joint model's dynamic rows, ``missing`` the missing
    cells of all rows (latent-expanded); ``y`` and ``xvars`` the encoded
    outcome and analysis variables of all rows; ``random_effects`` the
    keyword arguments of :func:`._smc_mixed.build_random_effects` of a
    two-level analysis model; ``level2`` the columns of the analysis
    variables among the level-2 outcomes (``var_col``, ``var_block``) and
    ``level2_layout`` the joint model's ``(missing2, cat2_start, cat2_size,
    p q)`` (:func:`._smc_level2.build_level2_covariates`).
    """
    from ._smc_level2 import build_level2_covariates  # it imports this module

    if family == 0:
        y, xvars = np.zeros(0), np.zeros((0, 0))
        var_col = var_block = factor_var = factor_power = factor_level = _int([])
        term_ptr = _int([0])
        dynamic = _int([])
    var_col, var_block = _int(var_col), _int(var_block)
    var_size = np.ones(var_col.shape[0], np.int64)
    var_size[var_block >= 0] = np.asarray(cat_size, np.int64)[var_block[var_block >= 0]]
    y_missing = np.isnan(y)
    units = []  # (dynamic row, first column, size, variable, block)
    if family:
        n_free = missing.shape[1] - int(np.sum(cat_size))
        var_of_col = {
            int(c): v for v, (c, b) in enumerate(zip(var_col, var_block)) if c >= 0 and b < 0
        }
        var_of_block = {int(b): v for v, b in enumerate(var_block) if b >= 0}
        miss_dyn = missing[dynamic]
        for d in np.flatnonzero(miss_dyn.any(axis=1)):
            for j in np.flatnonzero(miss_dyn[d, :n_free]):
                units.append((d, j, 1, var_of_col.get(int(j), -1), -1))
            for b, (start, size) in enumerate(zip(cat_start, cat_size)):
                if miss_dyn[d, start]:
                    units.append((d, start, size, var_of_block.get(b, -1), b))
    units = np.asarray(units, np.int64).reshape(-1, 5)
    moving = np.asarray(dynamic, np.int64)[units[units[:, 3] >= 0, 0]]
    moving_rows = np.union1d(moving, np.flatnonzero(y_missing)).astype(np.int64)
    return writable_arrays(
        AnalysisModel(
            family=int(family),
            y_data=np.asarray(y, np.float64),
            x_data=np.ascontiguousarray(xvars, dtype=np.float64),
            y_missing=y_missing,
            missing_rows=_int(np.flatnonzero(y_missing)),
            dyn_to_row=_int(dynamic),
            var_col=var_col,
            var_block=var_block,
            var_size=var_size,
            term_ptr=_int(term_ptr),
            factor_var=_int(factor_var),
            factor_power=_int(factor_power),
            factor_level=_int(factor_level),
            unit_row=_int(units[:, 0]),
            unit_col=_int(units[:, 1]),
            unit_size=_int(units[:, 2]),
            unit_var=_int(units[:, 3]),
            unit_block=_int(units[:, 4]),
            prior_df=float(prior_df),
            prior_scale=float(prior_scale),
            random_effects=build_random_effects(y.shape[0], **(random_effects or {})),
            level2=build_level2_covariates(
                **({} if level2 is None else dict(level2, **_level2_layout(*level2_layout)))
            ),
            n_cuts=int(n_cuts),
            theta_start=np.zeros(0) if theta_start is None else np.asarray(theta_start, np.float64),
            cox=build_cox_data(time, event_grid),
            moving_rows=_int(moving_rows),
        )
    )


def _level2_layout(missing2, cat2_start, cat2_size, offset):
    return {
        "missing2": missing2,
        "cat2_start": cat2_start,
        "cat2_size": cat2_size,
        "offset": offset,
    }


def writable_arrays(value):
    """Every array of a (nested) namedtuple as a writable C-contiguous array.

    Numba types a read-only array (a pandas column's values under
    copy-on-write) as a different type, which would compile the whole chain
    again for the same kind of model.
    """
    if isinstance(value, np.ndarray):
        return np.require(value, requirements=["C", "W"])
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(writable_arrays(v) for v in value))
    return value


def counted_proposals(am):
    """Metropolis-Hastings proposals per iteration: covariate cells that enter
    the analysis model in rows with an observed outcome, the ``theta`` move
    (logistic, ordinal and Cox models) and the clusters' random-effect moves
    (mixed logistic and ordinal models)."""
    if am.family == 0:
        return 0, 0, 0
    rows = am.dyn_to_row[am.unit_row]
    covariates = int(np.sum((am.unit_var >= 0) & ~am.y_missing[rows]))
    covariates += int(np.sum(am.level2.unit_var >= 0))  # level-2 cells (_smc_level2.py)
    mixed = am.random_effects.re_index.shape[0] > 0 and am.family in (LOGISTIC, ORDINAL)
    clusters = am.random_effects.cluster_ptr.shape[0] - 1 if mixed else 0
    return covariates, int(am.family in (LOGISTIC, ORDINAL, COX)), clusters


def adapt_analysis_step(am, ast):
    """Between chunks of the burn-in: recentre the reference point of the
    logistic (single level) or ordinal coefficient step (:mod:`._smc_logistic`,
    :mod:`._smc_ordinal_step`; a two-level ordinal model's at the current
    random effects)."""
    if ast.theta_ref.shape[0] > 0:
        fixed = np.ones(ast.w.shape[0], bool)
        fixed[am.moving_rows] = False  # np.setdiff1d's sorted result, in a tenth of its time
        fixed = np.flatnonzero(fixed).astype(np.int64)
        if am.family == ORDINAL:
            offset, shift = _ordinal_frame(am, ast)
            if recentre_ordinal_reference(fixed, ast, offset, shift) and shift.shape[0] > 0:
                reference_cross(am.random_effects, ast, fixed, offset)
        else:
            recentre_reference(fixed, ast)


def _ordinal_frame(am, ast):
    """The ``offset`` and ``shift`` of :mod:`._smc_ordinal_step`: the rows'
    random effects ``z_ij' b_j`` of a two-level model and the move of the
    reference point with their mean, both empty for a single-level model."""
    if am.random_effects.re_index.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    re, b = am.random_effects, ast.random.b
    shift = mean_effect_shift(re, b, ast.w.shape[1], ast.theta.shape[0])
    return random_offsets(re, b, ast.w), shift


def n_parameters(am):
    """Length of the analysis state's ``theta``: the design's coefficients and
    the ordinal model's cut-points."""
    return am.term_ptr.shape[0] - 1 + am.n_cuts


# ----------------------------------------------------------------- design
@kernel(inline=True)
def design_row(am, xvars, i, out):
    """Row of the analysis design from the analysis variables ``xvars[i]``
    (read by index: a row view costs a reference count)."""
    for t in range(out.shape[0]):
        value = 1.0
        for f in range(am.term_ptr[t], am.term_ptr[t + 1]):
            x = xvars[i, am.factor_var[f]]
            level = am.factor_level[f]
            if level >= 0:
                if x != level:
                    value = 0.0
            else:
                for _ in range(am.factor_power[f]):
                    value *= x
        out[t] = value


@kernel(inline=True)
def _dot(a, b):
    s = 0.0
    for t in range(a.shape[0]):
        s += a[t] * b[t]
    return s


@kernel(inline=True)
def latent_category(latents):
    """Category of a latent block: the first maximum if positive, else the
    reference ``K - 1`` (doc/sampler.rst, "Latent normals")."""
    best = 0
    for t in range(1, latents.shape[0]):
        if latents[t] > latents[best]:
            best = t
    return best if latents[best] > 0.0 else latents.shape[0]


@kernel
def sync_analysis(am, ast, values):
    """Analysis variables, design rows and linear predictors of the dynamic
    rows from the joint model's completed values."""
    for d in range(am.dyn_to_row.shape[0]):
        i = am.dyn_to_row[d]
        for v in range(am.var_col.shape[0]):
            col = am.var_col[v]
            if col < 0:
                continue
            if am.var_block[v] >= 0:
                ast.xvars[i, v] = latent_category(values[d, col : col + am.var_size[v]])
            else:
                ast.xvars[i, v] = values[d, col]
        design_row(am, ast.xvars, i, ast.w[i])
        set_predictor(ast, i, predictor(am, ast, i, ast.w[i]))


@kernel(inline=True)
def predictor(am, ast, i, wrow):
    """Linear predictor of row ``i`` with design row ``wrow``: ``w' theta``
    plus the cluster's random effects of a two-level model."""
    return _dot(wrow, ast.theta) + random_part(am.random_effects, ast.random.b, i, wrow)


@kernel(inline=True)
def set_predictor(ast, i, eta):
    """Set the linear predictor of row ``i`` (and, for the logistic model,
    its exponential; for the ordinal model, the row's likelihood)."""
    ast.eta[i] = eta
    if ast.exp_eta.shape[0] > 0:
        ast.exp_eta[i] = np.exp(eta)
    if ast.lik.shape[0] > 0:
        ast.lik[i] = row_likelihood(ast.y[i], eta, ast.theta, ast.w.shape[1])


@kernel(inline=True)
def refresh_predictor(am, ast):
    """The linear predictor of every row (and, for the logistic model, its
    exponential; for the ordinal model, its likelihood), in
    separate loops: with :func:`set_predictor`'s branch in the
    loop over rows, numba keeps a reference count on every row view
    ``ast.w[i]`` (about 16 ns a row, eight times the arithmetic)."""
    for i in range(ast.w.shape[0]):
        ast.eta[i] = predictor(am, ast, i, ast.w[i])
    if ast.exp_eta.shape[0] > 0:
        for i in range(ast.w.shape[0]):
            ast.exp_eta[i] = np.exp(ast.eta[i])
    if ast.lik.shape[0] > 0:
        for i in range(ast.w.shape[0]):
            ast.lik[i] = row_likelihood(ast.y[i], ast.eta[i], ast.theta, ast.w.shape[1])


# Metropolis-Hastings decisions ``u < f(y | eta_new) / f(y | eta)`` of the
# covariate step, one per family, from scalars of the row (``exp_eta`` and
# ``exp_new``, the exponentials of ``eta`` and ``eta_new``: logistic,
# ``cumhaz``: Cox; the ordinal model's, ``accept_ordinal_move``, takes the two
# probabilities instead).
@kernel
def _accept_linear(u, y, eta, eta_new, exp_eta, exp_new, sigma2, cumhaz, theta, k):
    log_ratio = row_log_likelihood(LINEAR, y, eta_new, sigma2) - row_log_likelihood(
        LINEAR, y, eta, sigma2
    )
    return np.log(u) < log_ratio


@kernel(inline=True)
def _row_log_likelihood(am, ast, i, eta):
    """``log f`` of row ``i`` at the linear predictor ``eta``, up to terms
    free of ``eta`` (the level-2 step's cluster likelihood)."""
    if am.family == COX:
        return cox_row_log_likelihood(ast.y[i], ast.cox.cumhaz[i], eta)
    if am.family == ORDINAL:
        return ordinal_row_log_likelihood(ast.y[i], eta, ast.theta, ast.w.shape[1])
    return row_log_likelihood(am.family, ast.y[i], eta, ast.sigma2[0])


@kernel
def _accept_logistic(u, y, eta, eta_new, exp_eta, exp_new, sigma2, cumhaz, theta, k):
    return accept_logistic_move(u, y, eta, exp_eta, eta_new, exp_new)


@kernel
def _accept_cox(u, y, eta, eta_new, exp_eta, exp_new, sigma2, cumhaz, theta, k):
    log_ratio = cox_row_log_likelihood(y, cumhaz, eta_new) - cox_row_log_likelihood(y, cumhaz, eta)
    return np.log(u) < log_ratio


@kernel(inline=True)
def row_log_likelihood(family, y, eta, sigma2):
    """``log f(y | eta)`` up to terms free of ``eta``."""
    if family == LINEAR:
        r = y - eta
        return -0.5 * r * r / sigma2
    return y * eta - _log1pexp(eta)


# ----------------------------------------------------------- parameters
@kernel(internal=True)
def _draw_linear(rng, am, ast):
    """``sigma^2`` from its marginal posterior, then ``theta | sigma^2``
    (flat prior on theta; scaled-inverse-chi-square prior on sigma^2 with
    ``prior_df`` degrees of freedom and sum of squares ``prior_scale``)."""
    n, k = ast.w.shape
    gram = ast.w.T @ ast.w
    chol = np.empty((k, k))
    if not cholesky_lower(gram, chol):
        raise ValueError(
            "The design of the analysis model is singular in the completed "
            "data (a category without rows, or collinear terms)."
        )
    theta_hat = ast.w.T @ ast.y
    solve_lower(chol, theta_hat)
    solve_lower_transpose(chol, theta_hat)
    rss = 0.0
    for i in range(n):
        r = ast.y[i] - _dot(ast.w[i], theta_hat)
        rss += r * r
    df = n - k + am.prior_df
    ast.sigma2[0] = (rss + am.prior_scale) / (2.0 * rng.standard_gamma(0.5 * df))
    noise = np.empty(k)
    for t in range(k):
        noise[t] = rng.standard_normal()
    solve_lower_transpose(chol, noise)
    sd = np.sqrt(ast.sigma2[0])
    for t in range(k):
        ast.theta[t] = theta_hat[t] + sd * noise[t]


@kernel(internal=True)
def _newton_point(am, ast, theta, chol, center):
    """Logistic log-likelihood at ``theta``, the Cholesky factor of the
    information ``W'DW`` and the Newton point ``theta + (W'DW)^{-1} W'(y - p)``
    (the random effects of a two-level model enter as an offset).
    Returns ``(log-likelihood, ok)``."""
    n, k = ast.w.shape
    info = np.zeros((k, k))
    score = np.zeros(k)
    loglik = 0.0
    for i in range(n):
        eta = _dot(ast.w[i], theta) + random_part(am.random_effects, ast.random.b, i, ast.w[i])
        prob = 1.0 / (1.0 + np.exp(-eta))
        loglik += ast.y[i] * eta - _log1pexp(eta)
        weight = prob * (1.0 - prob)
        resid = ast.y[i] - prob
        for a in range(k):
            score[a] += ast.w[i, a] * resid
            wa = weight * ast.w[i, a]
            for b in range(a + 1):
                info[a, b] += wa * ast.w[i, b]
    for a in range(k):
        for b in range(a):
            info[b, a] = info[a, b]
    if not cholesky_lower(info, chol):
        return loglik, False
    solve_lower(chol, score)
    solve_lower_transpose(chol, score)
    for a in range(k):
        center[a] = theta[a] + score[a]
    return loglik, True


@kernel(inline=True)
def _newton(am, ast, theta, chol, center):
    """:func:`_newton_point` of the model's (partial) log-likelihood."""
    if am.family == COX:
        return cox_newton_point(am.cox, ast, theta, chol, center)
    return _newton_point(am, ast, theta, chol, center)


@kernel(internal=True)
def _draw_newton_mh(rng, am, ast):
    """Metropolis-Hastings move of ``theta`` (flat prior) with the Newton
    (IWLS) proposal ``N(theta + I^{-1} U, I^{-1})`` at the current value and
    the reverse proposal at the proposed one, targeting the logistic
    likelihood or the Cox partial likelihood. Returns 1 if accepted."""
    k = ast.theta.shape[0]
    chol0, center0 = np.empty((k, k)), np.empty(k)
    loglik0, ok = _newton(am, ast, ast.theta, chol0, center0)
    if not ok:
        raise ValueError(
            "The design of the analysis model is singular in the completed "
            "data (a category without rows, or collinear terms)."
        )
    proposal = np.empty(k)
    draw_normal_precision(rng, chol0, center0, proposal)
    chol1, center1 = np.empty((k, k)), np.empty(k)
    loglik1, ok = _newton(am, ast, proposal, chol1, center1)
    if not ok:
        return 0
    log_ratio = (
        loglik1
        - loglik0
        + _log_proposal(chol1, center1, ast.theta)
        - _log_proposal(chol0, center0, proposal)
    )
    if np.log(rng.random()) < log_ratio:
        ast.theta[:] = proposal
        return 1
    return 0


@kernel(internal=True)
def draw_analysis_parameters(rng, am, ast, values, accepted):
    """The analysis model's parameters given the completed data. Adds the
    accepted Metropolis-Hastings moves of ``theta`` (logistic, ordinal and Cox
    models) to ``accepted[0]`` and of the random effects (mixed logistic and
    ordinal models) to ``accepted[1]``.

    The analysis variables and design rows are those of ``values``: the
    covariate step keeps them in step with every move of a missing cell, and
    the other steps of the chain move latents only within their category
    (``sync_analysis`` sets them after a start from Python).
    """
    mixed = am.random_effects.re_index.shape[0] > 0
    if am.family == LINEAR and mixed:
        draw_mixed_linear(
            rng,
            am.random_effects,
            ast.random,
            ast.w,
            ast.y,
            ast.theta,
            ast.sigma2,
            am.prior_df,
            am.prior_scale,
        )
    elif am.family == LINEAR:
        _draw_linear(rng, am, ast)
        if am.level2.unit_cluster.shape[0] == 0:
            # only the rows that can move read their predictor (the covariate
            # and outcome steps); the others' eta is not kept current
            k = ast.theta.shape[0]
            for i in am.moving_rows:
                s = 0.0
                for t in range(k):  # predictor's sum, read by index (no row view)
                    s += ast.w[i, t] * ast.theta[t]
                ast.eta[i] = s + 0.0  # + the (empty) random part, as in predictor
            return
    elif am.family == ORDINAL:
        if mixed:
            # eta and the rows' likelihoods are kept current by every move
            re, b = am.random_effects, ast.random.b
            offset = random_offsets(re, b, ast.w)
            shift = mean_effect_shift(re, b, ast.w.shape[1], ast.theta.shape[0])
            n = ast.w.shape[0]
            deriv = (np.empty(n), np.empty(n))  # at the new theta if it moved
            moved, ok = draw_ordinal_independence(rng, am.moving_rows, ast, offset, shift, deriv)
            if not ok:  # no reference point yet: the first chunk of the burn-in
                moved, ok = draw_ordinal_parameters_at_mode(rng, ast, offset, deriv)
                if not ok:  # no mode: the single-level step, rows not kept
                    refresh_predictor(am, ast)
            accepted[0] += moved
            accepted[1] += draw_mixed_ordinal(
                rng,
                am.random_effects,
                ast.random,
                ast.w,
                ast.y,
                ast.theta,
                (ast.eta, ast.lik, ast.exp_eta),
                deriv,
                ok and moved == 1,
            )
            return
        elif ast.theta_ref.shape[0] > 0:
            moved, ok = draw_ordinal_independence(
                rng, am.moving_rows, ast, np.zeros(0), np.zeros(0), None
            )
            accepted[0] += moved
            if ok:  # eta and the rows' likelihoods are those of the new theta
                return
            accepted[0] += draw_ordinal_parameters(rng, ast, np.zeros(ast.w.shape[0]))
        else:
            accepted[0] += draw_ordinal_parameters(rng, ast, np.zeros(ast.w.shape[0]))
    elif mixed:  # logistic
        moves = draw_mixed_logistic(
            rng, am.random_effects, ast.random, ast.w, ast.y, ast.theta, ast.eta, ast.exp_eta
        )
        accepted[0] += moves[0]
        accepted[1] += moves[1]
        return  # eta and exp(eta) are those of the new theta and b
    elif am.family == LOGISTIC and ast.theta_ref.shape[0] > 0:
        moved, ok = draw_logistic_independence(rng, am.moving_rows, ast)
        accepted[0] += moved
        if ok:  # eta and exp(eta) are those of the new theta
            return
        accepted[0] += _draw_newton_mh(rng, am, ast)
    else:
        accepted[0] += _draw_newton_mh(rng, am, ast)
    refresh_predictor(am, ast)
    if am.family == COX:
        update_baseline(am.cox, ast)


# --------------------------------------------------------- missing values
@kernel
def _block_factors(precisions, cat_start, cat_size):
    """Lower Cholesky factor of every latent block of every precision matrix."""
    n_groups = precisions.shape[0]
    n_cat = cat_start.shape[0]
    size = 1
    for b in range(n_cat):
        size = max(size, cat_size[b])
    factors = np.zeros((n_groups, n_cat, size, size))
    block = np.empty((size, size))
    for g in range(n_groups):
        for b in range(n_cat):
            s, start = cat_size[b], cat_start[b]
            for a in range(s):
                for c in range(s):
                    block[a, c] = precisions[g, start + a, start + c]
            cholesky_lower(block[:s, :s], factors[g, b, :s, :s])
    return factors


@kernel(internal=True)
def draw_analysis_missing(rng, am, ast, values, means, precisions, row_group, cat_start, cat_size):
    """Missing covariate cells by Metropolis-Hastings, then missing outcomes.

    Returns the accepted covariate moves among the counted ones (cells that
    enter the analysis model, in rows with an observed outcome).
    """
    args = (rng, am, ast, values, means, precisions, row_group, cat_start, cat_size)
    if am.family == LOGISTIC:
        accepted = _covariate_moves(*args, True, None, None)
    elif am.family == ORDINAL:
        accepted = _covariate_moves(*args, None, True, None)
    elif am.family == COX:
        accepted = _covariate_moves(*args, None, None, True)
    else:
        accepted = _covariate_moves(*args, None, None, None)
    draw_missing_outcomes(
        rng,
        am.family,
        am.missing_rows,
        ast.eta,
        ast.theta,
        ast.w.shape[1],
        ast.sigma2[0],
        ast.y,
        ast.lik,
    )
    return accepted


@kernel
def _covariate_moves(
    rng, am, ast, values, means, precisions, row_group, cat_start, cat_size, logistic, ordinal, cox
):
    """The covariate cells of :func:`draw_analysis_missing`. One of
    ``logistic``, ``ordinal``, ``cox`` is True (the others ``None``), or none
    for the linear model: numba removes the branches on ``is None`` before
    typing them, so the loop is compiled once per family with only that
    family's decision inside (one loop for all of them runs several times
    slower)."""
    p = values.shape[1]
    k = ast.w.shape[1]
    factors = _block_factors(precisions, cat_start, cat_size)
    size = factors.shape[2]
    proposal = np.empty(size)
    noise = np.empty(size)
    resid = np.empty(p)
    w_new = np.empty(k)
    cuts = cut_factors(ast.theta, k) if ordinal is not None else (w_new, w_new, 0.0, 0.0)
    accepted = 0
    for u in range(am.unit_row.shape[0]):
        d = am.unit_row[u]
        i = am.dyn_to_row[d]
        g = row_group[d]
        col, s = am.unit_col[u], am.unit_size[u]
        for t in range(p):
            resid[t] = values[d, t] - means[d, t]
        if am.unit_block[u] < 0:
            q = precisions[g, col, col]
            shift = 0.0
            for t in range(p):
                if t != col:
                    shift += precisions[g, col, t] * resid[t]
            proposal[0] = means[d, col] - shift / q + rng.standard_normal() / np.sqrt(q)
        else:
            chol = factors[g, am.unit_block[u], :s, :s]
            for a in range(s):
                shift = 0.0
                for t in range(p):
                    if t < col or t >= col + s:
                        shift += precisions[g, col + a, t] * resid[t]
                proposal[a] = shift
                noise[a] = rng.standard_normal()
            solve_lower(chol, proposal[:s])
            solve_lower_transpose(chol, proposal[:s])
            solve_lower_transpose(chol, noise[:s])
            for a in range(s):
                proposal[a] = means[d, col + a] - proposal[a] + noise[a]
        v = am.unit_var[u]
        if v >= 0:
            new_x = proposal[0] if am.unit_block[u] < 0 else latent_category(proposal[:s])
            old_x = ast.xvars[i, v]
            ast.xvars[i, v] = new_x
            design_row(am, ast.xvars, i, w_new)
            eta_new = predictor(am, ast, i, w_new)
            cached_exp = ast.exp_eta.shape[0] > 0  # logistic, ordinal mixed: exp(eta) kept
            exp_new = np.exp(eta_new) if cached_exp else 0.0
            cached_lik = ast.lik.shape[0] > 0  # ordinal: P(y | eta) kept
            p_new = 0.0
            if ordinal is not None and cuts[2] < exp_new < cuts[3]:  # _smc_ordinal_kept.py
                p_new = product_terms(ast.y[i], exp_new, cuts[0], cuts[1])[0]
            elif ordinal is not None:
                p_new = row_likelihood(ast.y[i], eta_new, ast.theta, k)
            if not am.y_missing[i]:
                u_accept = rng.random()
                exp_eta = ast.exp_eta[i] if cached_exp else 0.0
                cumhaz = ast.cox.cumhaz[i] if ast.cox.cumhaz.shape[0] > 0 else 0.0
                row = (u_accept, ast.y[i], ast.eta[i], eta_new, exp_eta, exp_new, ast.sigma2[0])
                if logistic is not None:
                    ok = _accept_logistic(*row, cumhaz, ast.theta, k)
                elif ordinal is not None:
                    if cached_lik:
                        p = ast.lik[i]
                    else:
                        p = row_likelihood(ast.y[i], ast.eta[i], ast.theta, k)
                    ok = accept_ordinal_move(
                        u_accept, ast.y[i], ast.eta[i], eta_new, p, p_new, ast.theta, k
                    )
                elif cox is not None:
                    ok = _accept_cox(*row, cumhaz, ast.theta, k)
                else:
                    ok = _accept_linear(*row, cumhaz, ast.theta, k)
                if not ok:
                    ast.xvars[i, v] = old_x
                    continue
                accepted += 1
            for t in range(k):
                ast.w[i, t] = w_new[t]
            ast.eta[i] = eta_new  # set_predictor without a second exponential
            if cached_exp:
                ast.exp_eta[i] = exp_new
            if cached_lik:
                ast.lik[i] = p_new
        for a in range(s):
            values[d, col + a] = proposal[a]
    return accepted


@kernel(inline=True)
def draw_missing_outcomes(rng, family, rows, eta, theta, k, sigma2, y, lik):
    """Missing outcomes ``y[rows]`` from ``f(y | w(x); theta)`` (``k``: the
    design's columns, before the ordinal cut-points in ``theta``; ``lik``:
    the ordinal model's kept likelihoods of the rows, or empty). It takes
    arrays, not the analysis namedtuples: an inlined kernel that branches
    around calls would keep a reference count on all their arrays
    (doc/benchmarks.rst, "Fourth round: reference counts in the iteration")."""
    sd = np.sqrt(sigma2)
    for i in rows:
        if family == LINEAR:
            y[i] = eta[i] + sd * rng.standard_normal()
        elif family == ORDINAL:
            y[i] = draw_ordinal_outcome(rng, eta[i], theta, k)
            if lik.shape[0] > 0:
                lik[i] = row_likelihood(y[i], eta[i], theta, k)
        else:
            y[i] = 1.0 if rng.random() * (1.0 + np.exp(-eta[i])) < 1.0 else 0.0


@kernel(inline=True)
def full_design(am, ast):
    """Design rows and linear predictors of every row."""
    for i in range(ast.w.shape[0]):
        design_row(am, ast.xvars, i, ast.w[i])
        set_predictor(ast, i, predictor(am, ast, i, ast.w[i]))


# ----------------------------------------------------------------- start
def _starting_fit(family, w, y):
    """Complete-outcome fit of the analysis model on the starting data:
    least squares (linear) or a few damped Newton steps (logistic)."""
    k = w.shape[1]
    if family == LINEAR:
        theta = np.linalg.lstsq(w, y, rcond=None)[0]
        resid = y - w @ theta
        return theta, float(resid @ resid / max(len(y) - k, 1))
    theta = np.zeros(k)
    for _ in range(25):
        prob = 1.0 / (1.0 + np.exp(-(w @ theta)))
        info = (w * (prob * (1 - prob))[:, None]).T @ w + 1e-6 * np.eye(k)
        step = np.linalg.solve(info, w.T @ (y - prob))
        theta += np.clip(step, -2.0, 2.0)
        if np.max(np.abs(step)) < 1e-8:
            break
    return theta, 1.0


def _starting_outcome(am, y_observed):
    """Value of the missing outcomes at the start: the observed mean (linear),
    the more frequent value (logistic), the most frequent category (ordinal)."""
    if am.family == LINEAR:
        return y_observed.mean()
    if am.family == ORDINAL:
        return float(np.argmax(np.bincount(y_observed.astype(np.int64))))
    return float(y_observed.mean() >= 0.5)


def initial_analysis_state(
    am,
    values,
    theta=None,
    sigma2=None,
    baseline=None,
    n_clusters=1,
    random_effects=None,
    psi=None,
    values2=None,
):
    """Starting analysis state given the joint model's starting values
    (``values``: dynamic rows). Missing outcomes start at
    :func:`_starting_outcome`; ``theta`` at ``am.theta_start`` if the user
    gave it, else at the fit to the starting data, and ``sigma^2`` at that
    fit, unless given; the Cox baseline hazard at its values ``baseline`` at
    the event-time grid, else at the Breslow estimate.; the random effects of a
    two-level model (``n_clusters`` clusters) as in
    :func:`._smc_mixed.initial_random_effects`; the analysis variables at
    level 2 at their values in ``values2`` (the joint model's ``v_j``)."""
    n = am.x_data.shape[0]
    k = am.term_ptr.shape[0] - 1
    y = am.y_data.copy()
    observed = ~am.y_missing
    # the logistic (single level) and ordinal theta steps of _smc_logistic.py
    # and _smc_ordinal_step.py; a two-level ordinal model's reference point is
    # set at the first adaptation (the step at the mode until then)
    single = am.random_effects.re_index.shape[0] == 0
    independence = (am.family == LOGISTIC and single) or am.family == ORDINAL
    mixed_ordinal = am.family == ORDINAL and not single
    kz = am.random_effects.re_index.shape[0]
    r = n_parameters(am)
    if am.family and am.missing_rows.size:
        y[am.missing_rows] = _starting_outcome(am, y[observed])
    ast = AnalysisState(
        xvars=am.x_data.copy(),
        w=np.zeros((n, k)),
        eta=np.zeros(n),
        y=y,
        theta=np.zeros(n_parameters(am)),
        sigma2=np.ones(1),
        random=initial_random_effects(am.random_effects, n_clusters, random_effects, psi),
        cox=empty_cox_state(am.cox),
        exp_eta=np.zeros(n if am.family == LOGISTIC or mixed_ordinal else 0),
        theta_ref=np.zeros(r if independence else 0),
        ref_info=np.zeros((r, r) if independence else (0, 0)),
        ref_score=np.zeros(r if independence else 0),
        lik=np.zeros(n if am.family == ORDINAL else 0),
        ref_cross=np.zeros((n_clusters, r, kz) if mixed_ordinal else (0, 0, 0)),
        ref_effects=np.zeros((n_clusters, kz) if mixed_ordinal else (0, 0)),
    )
    if not am.family:
        return ast
    sync_analysis(am, ast, values)
    if am.level2.var_col.size:
        from ._smc_level2 import sync_level2  # it imports this module

        sync_level2(am, ast.xvars, values2)
    full_design(am, ast)
    if theta is None and am.theta_start.size:
        theta = am.theta_start
        if am.family == LINEAR and sigma2 is None:
            sigma2 = _starting_fit(am.family, ast.w[observed], y[observed])[1]
    if theta is None and am.family == COX:
        theta = cox_starting_fit(am.cox, ast)
    elif theta is None and am.family == ORDINAL:
        theta = ordinal_starting_fit(ast.w[observed], y[observed], am.n_cuts)
    elif theta is None:
        theta, sigma2 = _starting_fit(am.family, ast.w[observed], y[observed])
    ast.theta[:] = theta
    ast.sigma2[0] = 1.0 if sigma2 is None else sigma2
    refresh_predictor(am, ast)
    if independence and single:
        ast.theta_ref[:] = ast.theta
        fixed = np.setdiff1d(np.arange(n), am.moving_rows).astype(np.int64)
        if am.family == ORDINAL:
            ordinal_reference_statistics(
                ast.w, ast.y, fixed, np.zeros(0), ast.theta_ref, ast.ref_info, ast.ref_score
            )
        else:
            reference_statistics(ast.w, ast.y, fixed, ast.theta_ref, ast.ref_info, ast.ref_score)
    if am.family == COX and baseline is None:
        update_baseline(am.cox, ast)
    elif am.family == COX:
        ast.cox.baseline[:] = baseline
        ast.cox.cumhaz[:] = baseline_at_times(am.cox, baseline)
    return ast
