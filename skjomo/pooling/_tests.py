"""Multi-parameter tests: D1, D2, D3, D4 (mitml's ``testModels``)."""

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ._convergence import fit_problem, warn_if_not_converged
from ._inputs import coerce_covariances, coerce_estimates
from ._readers import as_model_list, read_fits
from ._same_data import check_same_imputations, check_same_outcomes
from ._table import format_table

__all__ = [
    "MultiParameterTest",
    "compare_models",
    "pool_wald",
    "pool_chi2",
    "pool_lrt",
    "pool_stacked_lrt",
]

_TOL = float(np.sqrt(np.finfo(float).eps))
_ARIV = ("default", "positive", "robust")


def _near_equal(x, y):
    d = abs(x - y)
    if abs(x) > _TOL:
        d = d / abs(x)
    return d <= _TOL


def _lrr_df(r, k, m):
    """Li, Raghunathan & Rubin (1991) denominator df."""
    t = np.float64(k * (m - 1))
    r = np.float64(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        if t > 4:
            return 4.0 + (t - 4.0) * (1.0 + (1.0 - 2.0 / t) / r) ** 2
        return t * (1.0 + 1.0 / k) * (1.0 + 1.0 / r) ** 2 / 2.0


def _reiter_df(r, k, m, df_com):
    """Reiter (2007) denominator df of D1 with complete-data df."""
    t = np.float64(k * (m - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = r * t / (t - 2.0)
        vstar = df_com * (df_com + 1.0) / (df_com + 3.0)
        c0 = 1.0 / (t - 4.0)
        c1 = vstar - 2.0 * (1.0 + a)
        c2 = vstar - 4.0 * (1.0 + a)
        z = 1.0 / c2 + c0 * (
            a**2 * c1 / ((1.0 + a) ** 2 * c2)
            + 8.0 * a**2 * c1 / ((1.0 + a) * c2**2)
            + 4.0 * a**2 / ((1.0 + a) * c2)
            + 4.0 * a**2 / (c2 * c1)
            + 16.0 * a**2 * c1 / c2**3
            + 8.0 * a**2 / c2**2
        )
        return 4.0 + 1.0 / z


def _f_sf(F, k, nu):
    if np.isnan(F) or np.isnan(nu):
        return np.nan
    if np.isinf(nu):
        return float(stats.chi2.sf(F * k, k))
    return float(stats.f.sf(F, k, nu))


def _check_invertible(M, what):
    M = np.atleast_2d(M)
    if not np.all(np.isfinite(M)):
        raise ValueError(f"the {what} contains non-finite values")
    cond = np.linalg.cond(M)
    if not np.isfinite(cond) or cond * np.finfo(float).eps > 1.0:
        raise ValueError(
            f"the {what} is singular (condition number {cond:.3g}); check for "
            "aliased or constant parameters"
        )


class MultiParameterTest:
    """Result of a pooled multi-parameter test (D1, D2, D3 or D4).

    Instances are returned by :func:`compare_models` and the array-level
    tests; they are not meant to be created directly.

    Parameters
    ----------
    method : str
        ``"D1"``, ``"D2"``, ``"D3"`` or ``"D4"``.
    F : float
        The F statistic.
    k : int
        Numerator df.
    nu : float
        Denominator df.
    r : float
        Average relative increase in variance.
    m : int
        Number of imputations.
    use, df_com, reml, parameters, statistics : optional
        As the attributes of the same names.
    label : str, optional
        Row label of the printed table.

    Attributes
    ----------
    method : str
        ``"D1"``, ``"D2"``, ``"D3"`` or ``"D4"``.
    use : str or None
        ``"wald"`` or ``"likelihood"`` for D2, ``"robust"`` for robust D4.
    F : float
        The F statistic.
    df1 : int
        Numerator df (number of tested parameters or constraints, k).
    df2 : float
        Denominator df ν (``inf`` means a χ²/k reference).
    p_value : float
        Upper tail of F(k, ν) at F.
    riv : float
        Average relative increase in variance (ARIV) r.
    m : int
        Number of imputations.
    df_com : float or None
        Complete-data df (D1 only).
    reml : str or None
        For model input: ``"refit"`` when REML fits were refitted by ML,
        ``"used"`` when REML fits were used as they are, None otherwise.
    parameters : list of str or None
        The tested parameters (D1 and D2-Wald on models).
    statistics : ndarray or None
        The per-imputation χ² statistics of D2.
    """

    def __init__(
        self,
        method,
        F,
        k,
        nu,
        r,
        m,
        use=None,
        df_com=None,
        reml=None,
        parameters=None,
        statistics=None,
        label=None,
    ):
        self.method = method
        self.use = use
        self.F = float(F)
        self.df1 = int(k)
        self.df2 = float(nu)
        self.riv = float(r)
        self.m = int(m)
        self.df_com = df_com
        self.reml = reml
        self.parameters = parameters
        self.statistics = statistics
        self.label = label
        self.p_value = _f_sf(self.F, k, self.df2)

    def to_frame(self):
        """The test as a one-row DataFrame with columns ``F.value, df1, df2, P(>F), RIV``.

        Returns
        -------
        frame : pandas.DataFrame
            One row, labelled by ``label``.
        """
        return pd.DataFrame(
            {
                "F.value": [self.F],
                "df1": [self.df1],
                "df2": [self.df2],
                "P(>F)": [self.p_value],
                "RIV": [self.riv],
            },
            index=[self.label or ""],
        )

    def method_label(self):
        """The combination method as printed, e.g. ``D2 (wald)``.

        Returns
        -------
        label : str
            The method, with the statistic pooled by D2 or ``robust`` for D4.
        """
        if self.method == "D2":
            return f"D2 ({self.use})"
        if self.method == "D4" and self.use == "robust":
            return "D4 (robust)"
        return self.method

    def footer(self):
        """Footer lines (df adjustment, REML handling).

        Returns
        -------
        lines : list of str
            The lines printed under the table.
        """
        lines = []
        if self.method == "D1":
            if self.df_com is None:
                lines.append("Unadjusted hypothesis test as appropriate in larger samples.")
            else:
                from ._rubin import _fmt_num

                lines.append(
                    f"Hypothesis test adjusted for small samples with df=[{_fmt_num(self.df_com)}]\n"
                    "complete-data degrees of freedom."
                )
        if self.reml == "refit":
            lines.append("Models originally fit with REML were refitted using ML.")
        elif self.reml == "used":
            lines.append("Models were fit with REML and were used as is.")
        return lines

    def summary(self, digits=3, sci_limit=5):
        """Text summary in the layout of mitml's ``testModels`` printout.

        Parameters
        ----------
        digits : int, default=3
            Decimals printed (df1 always without decimals).
        sci_limit : int, default=5
            Columns with a value of at least ``10**sci_limit`` switch to
            scientific notation.

        Returns
        -------
        text : str
            The printed test.
        """
        d = {c: digits for c in ("F.value", "df2", "P(>F)", "RIV")}
        d["df1"] = 0
        head = (
            f"Model comparison calculated from {self.m} imputed data sets.\n"
            f"Combination method: {self.method_label()}"
        )
        parts = [head, format_table(self.to_frame(), digits=d, sci_limit=sci_limit, indent=3)]
        foot = self.footer()
        if foot:
            parts.append("\n".join(foot))
        return "\n\n".join(parts)

    def __str__(self):
        return self.summary()

    __repr__ = __str__


# ---------------------------------------------------------------- array-level tests


def pool_wald(estimates, covariances, *, df_com=None, names=None):
    """D1: pooled Wald test that k parameters are all zero (Li, Raghunathan & Rubin 1991).

    Parameters
    ----------
    estimates : array-like of shape (m, k)
        Estimates of the tested parameters per imputation (array,
        DataFrame or list of m vectors).
    covariances : array-like of shape (m, k, k)
        Their covariance matrices (or a list of m matrices).
    df_com : float, optional
        Complete-data degrees of freedom; when given, the denominator df
        follows Reiter (2007), otherwise Li, Raghunathan & Rubin (1991).
    names : list of str, optional
        Names of the tested parameters.

    Returns
    -------
    result : MultiParameterTest
        F statistic, degrees of freedom, p-value and ARIV.

    Raises
    ------
    ValueError
        If m < 2, the shapes do not match, or the average within-imputation
        covariance is singular.

    Notes
    -----
    ``r = (1 + 1/m) tr(B Ū⁻¹) / k``, ``F = Q̄ᵀ ((1 + r) Ū)⁻¹ Q̄ / k``.
    """
    Q, names = coerce_estimates(estimates, names)
    m, k = Q.shape
    U, full = coerce_covariances(covariances, m, k, names)
    return _d1(Q, U, df_com=df_com, names=names)


def _d1_pieces(Q, U):
    m, k = Q.shape
    qbar = Q.mean(axis=0)
    ubar = U.mean(axis=0)
    dev = Q - qbar
    B = dev.T @ dev / (m - 1)
    _check_invertible(ubar, "average within-imputation covariance matrix")
    r = (1.0 + 1.0 / m) * np.trace(B @ np.linalg.inv(ubar)) / k
    return qbar, ubar, r


def _d1(Q, U, df_com=None, names=None, reml=None):
    m, k = Q.shape
    qbar, ubar, r = _d1_pieces(Q, U)
    Tt = (1.0 + r) * ubar
    F = float(qbar @ np.linalg.solve(Tt, qbar)) / k
    t = k * (m - 1)
    if df_com is None:
        nu = _lrr_df(r, k, m)
    else:
        df_com = (
            float(np.asarray(df_com, dtype=float).reshape(-1)[0])
            if np.ndim(df_com)
            else float(df_com)
        )
        if t <= 4:
            warnings.warn(
                f"D1 with df_com needs k(m − 1) > 4 (here {t}); the Reiter df is unreliable, use more imputations",
                UserWarning,
                stacklevel=3,
            )
        nu = _reiter_df(r, k, m, df_com)
    return MultiParameterTest("D1", F, k, nu, r, m, df_com=df_com, reml=reml, parameters=names)


def pool_chi2(statistics, k, *, ariv="default", use="wald"):
    """D2: pool m χ² statistics with k df (Li, Meng, Raghunathan & Rubin 1991).

    Parameters
    ----------
    statistics : array-like of shape (m,)
        The χ² (Wald or likelihood-ratio) statistic of each imputed data set.
    k : int
        Their degrees of freedom.
    ariv : {"default", "positive"}, default="default"
        ``"positive"`` clamps the reported RIV at 0; as in mitml, F and df2
        still use the unclamped value.
    use : {"wald", "likelihood"}, default="wald"
        Only recorded in the result (the formula is the same).

    Returns
    -------
    result : MultiParameterTest
        F statistic, degrees of freedom, p-value and ARIV.
    """
    d = np.asarray(statistics, dtype=float).ravel()
    m = d.size
    if m < 2:
        raise ValueError(f"pooling needs at least m = 2 statistics, got {m}")
    if ariv == "robust":
        warnings.warn("ariv='robust' applies to D4 only and is ignored", UserWarning, stacklevel=2)
    with np.errstate(invalid="ignore"):
        r = (1.0 + 1.0 / m) * np.var(np.sqrt(d), ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        F = (d.mean() / k - (m + 1.0) / (m - 1.0) * r) / (1.0 + r)
        nu = k ** (-3.0 / m) * (m - 1.0) * (1.0 + 1.0 / r) ** 2
    if ariv == "positive":
        r = max(0.0, r)
    return MultiParameterTest("D2", F, k, nu, r, m, use=use, statistics=d)


def pool_lrt(
    loglik_full, loglik_null, loglik_full_pooled, loglik_null_pooled, k, *, ariv="default"
):
    """D3: pooled likelihood-ratio test (Meng & Rubin 1992) from log-likelihoods.

    Parameters
    ----------
    loglik_full, loglik_null : array-like of shape (m,)
        Maximised log-likelihoods of the full and null model per imputation.
    loglik_full_pooled, loglik_null_pooled : array-like of shape (m,)
        Log-likelihoods of each imputed data set evaluated at the pooled
        (averaged) parameters of the full and the null model.
    k : int
        Difference in the number of parameters.
    ariv : {"default", "positive"}, default="default"
        ``"positive"`` clamps r at 0 before F and df2 are computed.

    Returns
    -------
    result : MultiParameterTest
        F statistic, degrees of freedom, p-value and ARIV.
    """
    lf, ln = np.asarray(loglik_full, float), np.asarray(loglik_null, float)
    lfp, lnp = np.asarray(loglik_full_pooled, float), np.asarray(loglik_null_pooled, float)
    m = lf.size
    if m < 2:
        raise ValueError(f"pooling needs at least m = 2 imputations, got {m}")
    if ariv == "robust":
        warnings.warn("ariv='robust' applies to D4 only and is ignored", UserWarning, stacklevel=2)
    dbar = np.mean(2.0 * (lf - ln))
    dtilde = np.mean(2.0 * (lfp - lnp))
    r = (m + 1.0) / (k * (m - 1.0)) * (dbar - dtilde)
    if ariv == "positive":
        r = max(0.0, r)
    F = dtilde / (k * (1.0 + r))
    nu = _lrr_df(r, k, m)
    return MultiParameterTest("D3", F, k, nu, r, m)


def pool_stacked_lrt(
    loglik_full,
    loglik_null,
    loglik_full_stacked,
    loglik_null_stacked,
    k,
    *,
    npar_full=None,
    ariv="default",
):
    """D4: stacked-data likelihood-ratio test (Chan & Meng 2019).

    Parameters
    ----------
    loglik_full, loglik_null : array-like of shape (m,)
        Maximised log-likelihoods of the full and null model per imputation.
    loglik_full_stacked, loglik_null_stacked : float
        Maximised log-likelihood of each model fitted to the row-stacked
        data of all m imputations (not yet divided by m).
    k : int
        Difference in the number of parameters.
    npar_full : int, optional
        Number of parameters of the full model (needed for ``ariv="robust"``).
    ariv : {"default", "positive", "robust"}, default="default"
        ``"positive"`` clamps r at 0; ``"robust"`` uses the robust estimate
        of r based on the full model alone.

    Returns
    -------
    result : MultiParameterTest
        F statistic, degrees of freedom, p-value and ARIV.
    """
    lf, ln = np.asarray(loglik_full, float), np.asarray(loglik_null, float)
    m = lf.size
    if m < 2:
        raise ValueError(f"pooling needs at least m = 2 imputations, got {m}")
    lhat_f = float(loglik_full_stacked) / m
    lhat_n = float(loglik_null_stacked) / m
    d = np.array([0.0 if _near_equal(a, b) else 2.0 * (a - b) for a, b in zip(lf, ln)])
    dbar = d.mean()
    dhat = 0.0 if abs(lhat_f - lhat_n) <= _TOL else 2.0 * (lhat_f - lhat_n)
    with np.errstate(divide="ignore"):
        if ariv == "robust":
            if npar_full is None:
                raise ValueError("ariv='robust' needs npar_full")
            h = npar_full
            r = (m + 1.0) / (h * (m - 1.0)) * (2.0 * lf.mean() - 2.0 * lhat_f)
            nu = h * (m - 1.0) * (1.0 + 1.0 / r) ** 2
        else:
            r = (m + 1.0) / (k * (m - 1.0)) * (dbar - dhat)
            if ariv == "positive":
                r = max(0.0, r)
            nu = k * (m - 1.0) * (1.0 + 1.0 / r) ** 2
    F = dhat / (k * (1.0 + r))
    return MultiParameterTest("D4", F, k, nu, r, m, use="robust" if ariv == "robust" else None)


# ---------------------------------------------------------------- model comparison


def _tested_block(full, null):
    null_names = set(null[0].names)
    names = [n for n in full[0].names if n not in null_names]
    if not names:
        raise ValueError(
            "the full model has no parameters that the null model lacks; "
            "are the models nested, and given in the order (full, null)?"
        )
    idx = [full[0].names.index(n) for n in names]
    Q = np.array([s.estimates[idx] for s in full])
    if full[0].covariance is None:
        raise ValueError("D1 and D2 (wald) need covariance matrices of the estimates")
    U = []
    for s in full:
        cov = np.asarray(s.covariance, dtype=float)
        if cov.ndim != 2:
            raise ValueError("D1 and D2 (wald) need full covariance matrices, not variances")
        U.append(cov[np.ix_(idx, idx)])
    return Q, np.array(U), names


def compare_models(
    model, null_model, method="D1", *, use="wald", ariv="default", df_com=None, reader=None
):
    """Compare nested models fitted to m imputed data sets (mitml's ``testModels``).

    Parameters
    ----------
    model : list of fitted models or fitted MultipleImputationPipeline
        The full model, fitted to each of the m imputed data sets.
    null_model : list of fitted models or fitted MultipleImputationPipeline
        The restricted (null) model, fitted to the same m data sets, in the
        same order. Two pipelines see the same imputed data sets when they
        share the imputer, ``random_state``, ``n_imputations`` and data
        (the same ``X`` and ``y``: a null pipeline given fewer columns
        imputes with a different model). Pipelines that imputed
        differently, and statsmodels fits whose outcomes differ in some
        imputation, are refused.
    method : {"D1", "D2", "D3", "D4"}, default="D1"
        D1: pooled Wald test of the parameters of ``model`` that
        ``null_model`` lacks. D2: pooled χ² statistics (Wald or
        likelihood-ratio, see ``use``). D3: Meng-Rubin pooled
        likelihood-ratio test (log-likelihoods evaluated at the pooled
        parameters). D4: stacked-data likelihood-ratio test (Chan & Meng
        2019), refitting both models to the stacked data.
    use : {"wald", "likelihood"}, default="wald"
        Statistics pooled by D2.
    ariv : {"default", "positive", "robust"}, default="default"
        Estimator of the average relative increase in variance (see the
        notes).
    df_com : float, optional
        Complete-data degrees of freedom (D1 only: Reiter 2007 df).
    reader : callable, optional
        Reader for D1 / D2-Wald, see :func:`read_fit`.

    Returns
    -------
    result : MultiParameterTest
        F statistic, degrees of freedom, p-value and ARIV.

    Raises
    ------
    ValueError
        If m < 2, the lists differ in length, the models were fitted to
        different imputed data sets, the models are not nested, or the
        within-imputation covariance is singular.
    TypeError
        If D2-likelihood, D3 or D4 is requested for a model type without
        likelihood support.

    Notes
    -----
    Likelihood-based methods (D2 likelihood, D3, D4) refit REML fits by ML.
    D3 and D4 are available for statsmodels OLS, GLM, discrete models
    (Logit, Probit, Poisson) and MixedLM; mitml supports D3 for linear and
    linear mixed models only. For D3 the parameters averaged are the
    coefficients and the ML scale (OLS: ``RSS/n``), for MixedLM also the
    random-effect covariance matrix on the variance scale. ``ariv``:
    ``"positive"`` clamps r at 0 (for D2 only the reported RIV, as in
    mitml); ``"robust"`` is available for D4 only. Arguments that do not
    apply to a method are ignored with a warning.
    """
    method = str(method).upper()
    if method not in ("D1", "D2", "D3", "D4"):
        raise ValueError(f"method must be one of D1, D2, D3, D4, got {method!r}")
    if ariv not in _ARIV:
        raise ValueError(f"ariv must be one of {_ARIV}")
    if use not in ("wald", "likelihood"):
        raise ValueError("use must be 'wald' or 'likelihood'")
    check_same_imputations(model, null_model)
    model, null_model = list(as_model_list(model)), list(as_model_list(null_model))
    m = len(model)
    if m < 2:
        raise ValueError(f"pooling needs at least m = 2 fitted models, got {m}")
    if len(null_model) != m:
        raise ValueError(f"model has {m} fits but null_model has {len(null_model)}")
    check_same_outcomes(model, null_model)
    if df_com is not None and method != "D1":
        warnings.warn(
            f"df_com is used by D1 only and is ignored for {method}", UserWarning, stacklevel=2
        )
    if use != "wald" and method != "D2":
        warnings.warn(
            f"use is used by D2 only and is ignored for {method}", UserWarning, stacklevel=2
        )
    if ariv != "default" and method == "D1":
        warnings.warn("ariv is ignored for D1", UserWarning, stacklevel=2)
    if ariv == "robust" and method in ("D2", "D3"):
        warnings.warn("ariv='robust' applies to D4 only and is ignored", UserWarning, stacklevel=2)
        ariv = "default"

    likelihood = method in ("D3", "D4") or (method == "D2" and use == "likelihood")
    if not likelihood:
        full = read_fits(model, reader, what="fits of model")
        null = read_fits(null_model, reader, what="fits of null_model")
        Q, U, names = _tested_block(full, null)
        reml = "used" if any(_reml_flag(s.model) for s in full + null) else None
        if method == "D1":
            res = _d1(Q, U, df_com=df_com, names=names, reml=reml)
        else:
            d = []
            for q, u in zip(Q, U):
                _check_invertible(u, "within-imputation covariance matrix")
                d.append(float(q @ np.linalg.solve(u, q)))
            res = pool_chi2(d, len(names), ariv=ariv, use="wald")
            res.parameters, res.reml = names, reml
        return res

    from ._likelihood import likelihood_adapter

    for fits, what in ((model, "fits of model"), (null_model, "fits of null_model")):
        warn_if_not_converged([fit_problem(x) for x in fits], what, stacklevel=3)
    fa = [likelihood_adapter(x) for x in model]
    na = [likelihood_adapter(x) for x in null_model]
    reml = "refit" if any(a.reml for a in fa + na) else None
    fa = [a.ml() for a in fa]
    na = [a.ml() for a in na]
    npf, npn = fa[0].npar(), na[0].npar()
    k = npf - npn
    if k <= 0:
        raise ValueError(
            f"the full model has {npf} parameters and the null model {npn}; "
            "give the models in the order (full, null)"
        )
    lf = np.array([a.loglik() for a in fa])
    ln = np.array([a.loglik() for a in na])
    if method == "D2":
        d = np.array([0.0 if _near_equal(a, b) else 2.0 * (a - b) for a, b in zip(lf, ln)])
        res = pool_chi2(d, k, ariv=ariv, use="likelihood")
    elif method == "D3":
        pf = _average_params([a.params() for a in fa])
        pn = _average_params([a.params() for a in na])
        lfp = np.array([a.loglik_at(pf) for a in fa])
        lnp = np.array([a.loglik_at(pn) for a in na])
        res = pool_lrt(lf, ln, lfp, lnp, k, ariv=ariv)
    else:
        lfs = fa[0].stack(fa)
        lns = na[0].stack(na)
        res = pool_stacked_lrt(lf, ln, lfs, lns, k, npar_full=npf, ariv=ariv)
    res.reml = reml
    return res


def _reml_flag(model):
    model = getattr(model, "results_", model)
    res = getattr(model, "_results", model)
    return bool(getattr(res, "reml", False)) if hasattr(res, "fe_params") else False


def _average_params(containers):
    keys = containers[0].keys()
    return {
        key: np.mean([np.asarray(c[key], dtype=float) for c in containers], axis=0) for key in keys
    }
