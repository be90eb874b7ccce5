"""Rubin's rules for single parameters (mitml's ``testEstimates``)."""

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ._inputs import coerce_covariances, coerce_estimates, df_com_vector
from ._readers import read_fits
from ._table import format_table

__all__ = ["PooledEstimates", "pool_estimates"]


# ---------------------------------------------------------------- formulas


def rubin_df(riv, m, df_com=None):
    """Degrees of freedom of Rubin's rules, per parameter.

    Parameters
    ----------
    riv : array-like
        Relative increase in variance ``r = (1 + 1/m) B / Ū`` per parameter.
    m : int
        Number of imputations.
    df_com : array-like, optional
        Complete-data degrees of freedom. Without it the classic Rubin
        (1987) df ``(m − 1)(1 + 1/r)²`` is returned; with it the
        Barnard-Rubin (1999) small-sample df.

    Returns
    -------
    df : ndarray
        Degrees of freedom; ``inf`` where ``r = 0`` and no ``df_com`` is given.
    """
    r = np.asarray(riv, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        nu_m = np.where(r > 0, (m - 1) * (1.0 + 1.0 / r) ** 2, np.inf)
        if df_com is None:
            return nu_m
        d = np.asarray(df_com, dtype=float)
        lam = r / (r + 1.0)
        nu_obs = (1.0 - lam) * ((d + 1.0) / (d + 3.0)) * d
        return 1.0 / (1.0 / nu_m + 1.0 / nu_obs)


def _t_sf(x, df):
    x = np.asarray(x, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), x.shape)
    out = np.where(np.isinf(df), stats.norm.sf(x), stats.t.sf(x, np.where(np.isinf(df), 1.0, df)))
    return out


def _t_ppf(q, df):
    df = np.asarray(df, dtype=float)
    return np.where(
        np.isinf(df), stats.norm.ppf(q), stats.t.ppf(q, np.where(np.isinf(df), 1.0, df))
    )


def _decimals_needed(x, digits=3):
    text = f"{float(f'{x:.{digits}g}'):.15f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _percent_labels(values, digits=3):
    """Format percentages jointly as R's ``format(x, digits = 3)`` does."""
    decimals = max(_decimals_needed(v, digits) for v in values)
    return [f"{v:.{decimals}f} %" for v in values]


# ---------------------------------------------------------------- result


class PooledEstimates:
    """Pooled estimates and inferences from Rubin's rules.

    Instances are returned by :func:`pool_estimates`; they are not meant to
    be created directly.

    Parameters
    ----------
    Q : ndarray of shape (m, p)
        Estimates, one row per imputation.
    U : ndarray of shape (m, p, p) or None
        Within-imputation covariances, or None (point estimates only).
    names : list of str
        Parameter names.
    df_com : ndarray of shape (p,), optional
        Complete-data degrees of freedom.
    full : bool, default=True
        Whether ``U`` holds full covariance matrices (not only variances).
    extra : pandas.Series, optional
        Averaged extra parameters.
    notes : sequence of str, default=()
        What the numbers are not, printed under the table.
    not_converged : sequence of int, default=()
        Imputations whose fits did not converge.
    no_variance : str, default="no variances were given"
        Why there are no variances, for the errors of ``conf_int`` and
        ``cov_params``.

    Attributes
    ----------
    names : list of str
        Parameter names.
    m : int
        Number of imputations.
    estimate : pandas.Series
        Pooled estimates ``θ̄`` (statsmodels-style alias: ``params``).
    within : pandas.DataFrame or None
        Within-imputation covariance ``Ū`` (diagonal when only variances
        were given).
    between : pandas.DataFrame or None
        Between-imputation covariance ``B`` (denominator m − 1).
    total : pandas.DataFrame or None
        Total covariance ``T = Ū + (1 + 1/m) B``.
    std_error, t_value, df, p_value, riv, fmi : pandas.Series or None
        Standard error, t statistic for θ = 0, degrees of freedom, two-sided
        p-value, relative increase in variance and fraction of missing
        information, per parameter. None in estimates-only mode.
    df_com : ndarray or None
        Complete-data degrees of freedom used for the Barnard-Rubin
        adjustment, or None (classic Rubin df).
    extra : pandas.Series or None
        Averaged extra parameters (variance components, ICC), if requested.
    full_covariance : bool
        Whether full covariance matrices (not only variances) were pooled.
    estimates_by_imputation : pandas.DataFrame
        The m × p input estimates.
    notes : list of str
        What the numbers are not (point estimates without standard errors,
        penalised estimates, fits that did not converge); printed under the
        table.
    not_converged : list of int
        Numbers (from 1) of the imputations whose fits did not converge.
    """

    def __init__(
        self,
        Q,
        U,
        names,
        df_com=None,
        full=True,
        extra=None,
        notes=(),
        not_converged=(),
        no_variance="no variances were given",
    ):
        m, p = Q.shape
        self.m = m
        self.notes = list(notes)
        self.not_converged = list(not_converged)
        self._no_variance = no_variance
        self.names = list(names)
        self.estimates_by_imputation = pd.DataFrame(
            Q, columns=self.names, index=pd.RangeIndex(1, m + 1, name="imputation")
        )
        qbar = Q.mean(axis=0)
        self.estimate = pd.Series(qbar, index=self.names, name="Estimate")
        self.df_com = df_com
        self.full_covariance = bool(full) if U is not None else False
        self.extra = extra
        dev = Q - qbar
        B = dev.T @ dev / (m - 1)
        self.between = pd.DataFrame(B, index=self.names, columns=self.names)
        if U is None:
            self.within = self.total = None
            self.std_error = self.t_value = self.df = self.p_value = self.riv = self.fmi = None
            return
        Ubar = U.mean(axis=0)
        T = Ubar + (1.0 + 1.0 / m) * B
        self.within = pd.DataFrame(Ubar, index=self.names, columns=self.names)
        self.total = pd.DataFrame(T, index=self.names, columns=self.names)
        b = np.diag(B)
        ubar = np.diag(Ubar)
        se = np.sqrt(np.diag(T))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = qbar / se
            r = (1.0 + 1.0 / m) * b / ubar
        r = np.where(b == 0, 0.0, r)
        nu = rubin_df(r, m, df_com)
        with np.errstate(divide="ignore", invalid="ignore"):
            fmi = (r + 2.0 / (nu + 3.0)) / (r + 1.0)
        p = 2.0 * _t_sf(np.abs(t), nu)
        s = lambda x, n: pd.Series(np.asarray(x, dtype=float), index=self.names, name=n)
        self.std_error = s(se, "Std.Error")
        self.t_value = s(t, "t.value")
        self.df = s(nu, "df")
        self.p_value = s(p, "P(>|t|)")
        self.riv = s(r, "RIV")
        self.fmi = s(fmi, "FMI")

    # statsmodels-style aliases
    @property
    def params(self):
        """Pooled estimates (alias of ``estimate``)."""
        return self.estimate

    @property
    def bse(self):
        """Pooled standard errors (alias of ``std_error``)."""
        return self.std_error

    @property
    def tvalues(self):
        """The t statistics (alias of ``t_value``)."""
        return self.t_value

    @property
    def pvalues(self):
        """Two-sided p-values (alias of ``p_value``)."""
        return self.p_value

    def cov_params(self):
        """Pooled covariance matrix ``T = Ū + (1 + 1/m) B``.

        Returns
        -------
        cov : pandas.DataFrame
            The full total covariance when full within-imputation covariance
            matrices were pooled. When only variances were given, a matrix
            with ``SE²`` on the diagonal and NaN elsewhere (with a warning).

        Raises
        ------
        ValueError
            In estimates-only mode (no variances given).
        """
        if self.total is None:
            raise ValueError(f"{self._no_variance}, so there is no pooled covariance")
        if self.full_covariance:
            return self.total.copy()
        warnings.warn(
            "only variances were pooled: the off-diagonal covariances are unknown (NaN)",
            UserWarning,
            stacklevel=2,
        )
        out = np.full((len(self.names),) * 2, np.nan)
        np.fill_diagonal(out, np.diag(self.total.to_numpy()))
        return pd.DataFrame(out, index=self.names, columns=self.names)

    def conf_int(self, level=0.95):
        """Confidence intervals ``θ̄ ± SE · t_{ν}(1 − (1 − level)/2)``.

        Parameters
        ----------
        level : float, default=0.95
            Confidence level.

        Returns
        -------
        ci : pandas.DataFrame
            Lower and upper limits, with columns labelled by percentage as
            in R (``"2.5 %"``, ``"97.5 %"``).
        """
        if self.std_error is None:
            raise ValueError(f"{self._no_variance}, so there are no confidence intervals")
        if not 0 < level < 1:
            raise ValueError("level must lie strictly between 0 and 1")
        a = (1.0 - level) / 2.0
        q = _t_ppf(1.0 - a, self.df.to_numpy())
        half = self.std_error.to_numpy() * q
        est = self.estimate.to_numpy()
        lower, upper = _percent_labels([100 * a, 100 * (1 - a)])
        return pd.DataFrame({lower: est - half, upper: est + half}, index=self.names)

    def to_frame(self):
        """The result table as a DataFrame.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``Estimate, Std.Error, t.value, df, P(>|t|), RIV, FMI``
            (only ``Estimate`` in estimates-only mode), one row per
            parameter.
        """
        if self.std_error is None:
            return self.estimate.to_frame()
        return pd.concat(
            [
                self.estimate,
                self.std_error,
                self.t_value,
                self.df,
                self.p_value,
                self.riv,
                self.fmi,
            ],
            axis=1,
        )

    def extra_frame(self):
        """The averaged extra parameters as a one-column DataFrame.

        Returns
        -------
        frame : pandas.DataFrame or None
            Column ``Estimate``; None when no extra parameters were pooled.
        """
        if self.extra is None:
            return None
        return self.extra.to_frame("Estimate")

    def summary(self, digits=3, sci_limit=5):
        """Text summary in the layout of mitml's ``testEstimates`` printout.

        Parameters
        ----------
        digits : int, default=3
            Decimals printed.
        sci_limit : int, default=5
            Columns with a value of at least ``10**sci_limit`` switch to
            scientific notation.

        Returns
        -------
        text : str
            The printed table.
        """
        inference = self.std_error is not None
        head = (
            f"Final parameter estimates and inferences obtained from {self.m} imputed data sets."
            if inference
            else f"Pooled point estimates (no inferences) from {self.m} imputed data sets."
        )
        parts = [head, format_table(self.to_frame(), digits=digits, sci_limit=sci_limit)]
        if self.extra is not None and len(self.extra):
            parts.append(format_table(self.extra_frame(), digits=digits, sci_limit=sci_limit))
        if not inference:
            pass  # no tests were computed, so no footer about them
        elif self.df_com is None:
            parts.append("Unadjusted hypothesis test as appropriate in larger samples.")
        else:
            dfs = ",".join(_fmt_num(v) for v in self.df_com)
            parts.append(
                f"Hypothesis test adjusted for small samples with df=[{dfs}]\ncomplete-data degrees of freedom."
            )
        if self.notes:
            parts.append("\n".join(f"Note: {n}" for n in self.notes))
        return "\n\n".join(parts)

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return self.summary()


def _kind(model):
    """The model's class name; a Pipeline is named with its final step."""
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        return f"Pipeline ending in {type(steps[-1][1]).__name__}"
    return type(model).__name__


def _fmt_num(v):
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:g}"


# ---------------------------------------------------------------- entry point


def pool_estimates(
    models=None,
    estimates=None,
    covariances=None,
    *,
    df_com=None,
    names=None,
    extra_params=False,
    reader=None,
):
    """Pool m sets of estimates with Rubin's rules (mitml's ``testEstimates``).

    Give either a list of fitted models (``models``) or the estimates
    directly (``estimates`` and, optionally, ``covariances``).

    Parameters
    ----------
    models : list of fitted models, optional
        One fitted model per imputed data set: statsmodels results,
        scikit-learn linear models, :class:`skjomo.StatsmodelsModel`,
        or anything ``reader`` accepts; a fitted
        :class:`skjomo.MultipleImputationPipeline` stands for its
        ``estimators_``. For mixed models the fixed effects are pooled.
    estimates : array-like of shape (m, p), optional
        Point estimates: an array (rows = imputations), a DataFrame (its
        columns give the names) or a list of m vectors / Series.
    covariances : array-like, optional
        Within-imputation covariances: an ``(m, p, p)`` array or a list of
        m ``p × p`` matrices (full covariances), or an ``(m, p)`` array or a
        list of m vectors (variances, treated as diagonal). Without it only
        the pooled point estimates are returned.
    df_com : float, array-like of shape (p,) or "model", optional
        Complete-data degrees of freedom. When given, the Barnard-Rubin
        (1999) small-sample degrees of freedom are used; otherwise the
        classic Rubin (1987) ones. ``"model"`` takes the residual degrees
        of freedom of the fitted models (``df_resid``).
    names : list of str, optional
        Parameter names for array input (default: from a DataFrame or the
        Series, else ``Parameter.1``, ``Parameter.2``, …).
    extra_params : bool, default=False
        Also average the extra parameters of the models (variance
        components, residual variance, ICC). Ignored with a warning for
        array input.
    reader : callable, optional
        ``reader(model)`` returning ``estimates`` or ``(estimates,
        covariance)``; replaces the built-in readers.

    Returns
    -------
    result : PooledEstimates
        Pooled estimates, variances, t, df, p-values, RIV, FMI; printable as
        a mitml-like table, and available as a DataFrame via ``to_frame()``.

    Raises
    ------
    ValueError
        If m < 2, the names differ across imputations, the estimates have
        unequal lengths, shapes do not match, a value is not a number, an
        estimate or covariance is not finite, or a variance is negative
        (the message names the imputations).

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When fitted statsmodels models did not reach their maximum (naming
        the imputations); see "Converged mixed-model fits" in the pooling
        documentation.
    UserWarning
        When the models are penalised scikit-learn fits (ridge, lasso,
        ``LogisticRegression`` with finite ``C``).

    Notes
    -----
    With ``θ̄`` the mean estimate, ``Ū`` the mean within-imputation
    covariance and ``B`` the sample covariance of the estimates,
    ``T = Ū + (1 + 1/m) B``, ``r = (1 + 1/m) B_jj / Ū_jj``, the classic df is
    ``ν = (m − 1)(1 + 1/r)²`` and ``FMI = (r + 2/(ν + 3)) / (r + 1)`` with
    the df actually used. p-values are ``2 · sf(|t|)``; mitml computes
    ``2 · (1 − cdf)``, which is 0 below about 1e-16.

    Models that report no sampling variance (scikit-learn estimators other
    than ``BayesianRidge``) are pooled as point estimates only: no standard
    errors, tests or intervals exist for them, and the printed summary says
    so instead of showing a footer about hypothesis tests.

    Examples
    --------
    >>> import numpy as np
    >>> from skjomo.pooling import pool_estimates
    >>> Q = np.array([[1.2, 0.5], [1.4, 0.45], [1.1, 0.6]])
    >>> V = np.array([[0.04, 0.01], [0.05, 0.012], [0.045, 0.011]])
    >>> res = pool_estimates(estimates=Q, covariances=V, names=["a", "b"])
    >>> round(float(res.df["a"]), 3)
    11.97
    """
    extra = None
    df_resid = None
    notes, not_converged = [], []
    if models is not None:
        if estimates is not None or covariances is not None:
            raise ValueError("give either models or estimates/covariances, not both")
        summaries = read_fits(models, reader)
        names = list(summaries[0].names)
        Q = np.array([s.estimates for s in summaries], dtype=float)
        U = None
        full = True
        kind = _kind(summaries[0].model)
        no_variance = f"the models ({kind}) report no standard errors"
        if summaries[0].covariance is not None:
            U, full = coerce_covariances(
                [s.covariance for s in summaries], Q.shape[0], Q.shape[1], names
            )
        else:
            notes.append(
                f"{kind} reports no sampling variance of its estimates, so no standard errors, tests "
                "or confidence intervals were computed; fit a statsmodels model (skjomo.StatsmodelsModel) "
                "for inference."
            )
        if summaries[0].penalty is not None:
            notes.append(
                f"penalised fits ({summaries[0].penalty}): averages of coefficients shrunk towards zero, "
                "not estimates of the unpenalised coefficients."
            )
        not_converged = [i + 1 for i, s in enumerate(summaries) if s.problem is not None]
        if not_converged:
            notes.append(
                f"the fits of imputation(s) {not_converged} did not converge (see the warning); "
                "the pooled results are biased by them."
            )
        if extra_params:
            if summaries[0].extra:
                extra = pd.Series(
                    np.mean([list(s.extra.values()) for s in summaries], axis=0),
                    index=list(summaries[0].extra),
                    name="Estimate",
                )
            else:
                warnings.warn(
                    f"no extra parameters are known for models of type {kind}",
                    UserWarning,
                    stacklevel=2,
                )
        df_resid = [s.df_resid for s in summaries]
    else:
        if estimates is None:
            raise ValueError("give either a list of fitted models or the estimates")
        Q, names = coerce_estimates(estimates, names)
        U = None
        full = True
        no_variance = "no variances were given"
        if covariances is not None:
            U, full = coerce_covariances(covariances, Q.shape[0], Q.shape[1], names)
        else:
            notes.append(
                "no covariances were given, so no standard errors, tests or confidence intervals "
                "were computed."
            )
        if extra_params:
            warnings.warn("extra_params is ignored for array input", UserWarning, stacklevel=2)
    if isinstance(df_com, str):
        if df_com != "model":
            raise ValueError('df_com must be a number, a vector, None or "model"')
        if df_resid is None or any(d is None for d in df_resid):
            raise ValueError('df_com="model" needs fitted models that report df_resid')
        if len(set(float(d) for d in df_resid)) > 1:
            warnings.warn(
                "df_resid differs across imputations; using the mean", UserWarning, stacklevel=2
            )
        df_com = float(np.mean(df_resid))
    d = df_com_vector(df_com, Q.shape[1])
    if U is None and d is not None:
        warnings.warn("df_com is ignored without covariances", UserWarning, stacklevel=2)
    return PooledEstimates(
        Q,
        U,
        names,
        df_com=d,
        full=full,
        extra=extra,
        notes=notes,
        not_converged=not_converged,
        no_variance=no_variance,
    )
