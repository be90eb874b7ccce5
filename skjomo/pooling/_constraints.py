"""Tests of (non)linear constraints by the delta method (mitml's ``testConstraints``)."""

import ast
import re

import numpy as np
import pandas as pd

from ._inputs import coerce_covariances, coerce_estimates
from ._readers import read_fits
from ._table import format_table
from ._tests import _check_invertible, _d1, _d1_pieces, pool_chi2

__all__ = ["ConstraintTest", "pool_constraints"]

_FUNCS = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "log10": np.log10,
    "log2": np.log2,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "expm1": np.expm1,
    "log1p": np.log1p,
    "pi": np.pi,
}
_ALLOWED = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.USub,
    ast.UAdd,
)


def _clean(name):
    return str(name).replace("(Intercept)", "Intercept")


class _Constraint:
    """One constraint expression compiled against the parameter names."""

    def __init__(self, text, names):
        self.text = str(text)
        expr = _clean(text).replace("^", "**")
        # backtick-quoted names first, then the plain names, longest first
        mapping = {}
        for j, name in enumerate(names):
            mapping[name] = f"_p{j}_"
        expr = re.sub(r"`([^`]*)`", lambda mo: mapping.get(mo.group(1), mo.group(0)), expr)
        for name in sorted(names, key=len, reverse=True):
            token = mapping[name]
            if re.fullmatch(r"[A-Za-z_.][\w.]*", name):
                expr = re.sub(r"(?<![\w.])" + re.escape(name) + r"(?![\w.])", token, expr)
            else:
                expr = expr.replace(name, token)
        try:
            tree = ast.parse(expr, mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"cannot parse the constraint {self.text!r}") from exc
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED):
                raise ValueError(
                    f"the constraint {self.text!r} uses unsupported syntax ({type(node).__name__})"
                )
            if (
                isinstance(node, ast.Name)
                and node.id not in _FUNCS
                and not re.fullmatch(r"_p\d+_", node.id)
            ):
                raise ValueError(
                    f"the constraint {self.text!r} refers to {node.id!r}, which is not a parameter; "
                    f"parameters: {list(names)}"
                )
            if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Name) and node.func.id in _FUNCS
            ):
                raise ValueError(f"the constraint {self.text!r} calls an unsupported function")
        self.code = compile(tree, "<constraint>", "eval")

    def __call__(self, theta):
        env = dict(_FUNCS)
        env.update({f"_p{j}_": v for j, v in enumerate(theta)})
        return float(eval(self.code, {"__builtins__": {}}, env))


def _jacobian(g, theta):
    """Forward differences with relative step sqrt(eps), as R's numericDeriv."""
    eps = np.sqrt(np.finfo(float).eps)
    g0 = np.asarray(g(theta), dtype=float)
    G = np.empty((g0.size, theta.size))
    for j in range(theta.size):
        delta = abs(theta[j]) * eps if theta[j] != 0 else eps
        th = theta.copy()
        th[j] = theta[j] + delta
        G[:, j] = (np.asarray(g(th), dtype=float) - g0) / delta
    return g0, G


class ConstraintTest:
    """Result of :func:`pool_constraints`.

    Instances are returned by :func:`pool_constraints`; they are not meant
    to be created directly.

    Parameters
    ----------
    constraints : list of str
        The constraint expressions.
    eta : ndarray of shape (m, k)
        Values of the k constraints at each imputation's estimates.
    V : ndarray of shape (m, k, k)
        Their delta-method covariances.
    test : MultiParameterTest
        The pooled test that all constraints are 0.

    Attributes
    ----------
    constraints : list of str
        The constraint expressions (each tested against 0).
    estimate : pandas.Series
        Pooled values of the constraints, ``mean_i g(θ̂_i)``.
    cov : pandas.DataFrame
        Their covariance ``(1 + r) V̄`` with the D1 ARIV r (as in mitml,
        whatever the test method).
    std_error : pandas.Series
        Square roots of the diagonal of ``cov``.
    test : MultiParameterTest
        The D1 or D2 test that all constraints are 0.
    """

    def __init__(self, constraints, eta, V, test):
        self.constraints = list(constraints)
        m, k = eta.shape
        etabar, vbar, r = _d1_pieces(eta, V)
        labels = self.constraints
        self.estimate = pd.Series(etabar, index=labels, name="Estimate")
        cov = (1.0 + r) * vbar
        self.cov = pd.DataFrame(cov, index=labels, columns=labels)
        self.std_error = pd.Series(np.sqrt(np.diag(cov)), index=labels, name="Std. Error")
        self.test = test
        self.values_by_imputation = pd.DataFrame(
            eta, columns=labels, index=pd.RangeIndex(1, m + 1, name="imputation")
        )

    # convenience passthroughs
    @property
    def F(self):
        """F statistic of the test."""
        return self.test.F

    @property
    def p_value(self):
        """The p-value of the test."""
        return self.test.p_value

    def to_frame(self):
        """Pooled constraint values and standard errors as a DataFrame.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``Estimate`` and ``Std. Error``, one row per constraint.
        """
        return pd.concat([self.estimate, self.std_error], axis=1)

    def summary(self, digits=3, sci_limit=5):
        """Text summary in the layout of mitml's ``testConstraints`` printout.

        Parameters
        ----------
        digits : int, default=3
            Decimals printed.
        sci_limit : int, default=5
            Threshold exponent for scientific notation.

        Returns
        -------
        text : str
            The printed test.
        """
        table = self.to_frame()
        table.index = [f"{c}:" for c in self.constraints]
        d = {c: digits for c in ("F.value", "df2", "P(>F)", "RIV")}
        d["df1"] = 0
        parts = [
            f"Hypothesis test calculated from {self.test.m} imputed data sets. The following\n"
            "constraints were specified:",
            format_table(table, digits=digits, sci_limit=sci_limit, indent=3),
            f"Combination method: {self.test.method_label()}",
            format_table(self.test.to_frame(), digits=d, sci_limit=sci_limit, indent=3),
        ]
        foot = self.test.footer()
        if foot:
            parts.append("\n".join(foot))
        return "\n\n".join(parts)

    def __str__(self):
        return self.summary()

    __repr__ = __str__


def pool_constraints(
    models=None,
    *,
    constraints,
    estimates=None,
    covariances=None,
    names=None,
    method="D1",
    ariv="default",
    df_com=None,
    reader=None,
):
    """Test (non)linear constraints on pooled parameters by the delta method.

    Each constraint ``g_c(θ)`` is tested against 0. Per imputation the
    constraint values ``η_i = g(θ̂_i)`` and their covariance
    ``G_i U_i G_iᵀ`` (``G_i`` the Jacobian by forward differences) are
    computed and pooled by D1 or D2-Wald (mitml's ``testConstraints``).

    Parameters
    ----------
    models : list of fitted models, optional
        One fitted model per imputed data set (see :func:`read_fit`), or a
        fitted :class:`skjomo.MultipleImputationPipeline`.
    constraints : str, list of str or callable
        Expressions in the parameter names, e.g. ``"x1 - x2"``,
        ``"x1/x2"``, ``"b - 1"``; names that are not Python identifiers can
        be written as they are (``"fluent[T.1] - fluent[T.2]"``) or between
        backticks. ``(Intercept)`` is renamed ``Intercept``. ``^`` means
        power; ``exp``, ``log``, ``sqrt``, ``abs`` and a few more numpy
        functions may be used. A callable ``g(theta) -> array`` of the
        parameter vector is accepted too.
    estimates : array-like of shape (m, p), optional
        Estimates, for array input.
    covariances : array-like of shape (m, p, p), optional
        Full covariance matrices, for array input (variances alone are
        rejected).
    names : list of str, optional
        Parameter names for array input.
    method : {"D1", "D2"}, default="D1"
        Pooled Wald test (D1) or pooled Wald χ² statistics (D2).
    ariv : {"default", "positive"}, default="default"
        For D2, ``"positive"`` clamps the reported RIV at 0.
    df_com : float, optional
        Complete-data df for D1 (Reiter 2007).
    reader : callable, optional
        Custom reader, see :func:`read_fit`.

    Returns
    -------
    result : ConstraintTest
        Transformed estimates, their covariance and the pooled test.

    Raises
    ------
    ValueError
        If m < 2, a constraint cannot be parsed or names an unknown
        parameter, only variances are given, or a covariance is singular.

    Notes
    -----
    The Jacobian uses forward differences with step ``|θ_j|·sqrt(eps)``
    (``sqrt(eps)`` at 0), as mitml does; linear constraints therefore agree
    with D1 on the same parameters to about 1e-9 relative. The reported
    covariance is ``(1 + r) V̄`` with the D1 ARIV r, not Rubin's T.
    """
    method = str(method).upper()
    if method not in ("D1", "D2"):
        raise ValueError("method must be 'D1' or 'D2' for constraint tests")
    if models is not None:
        if estimates is not None or covariances is not None:
            raise ValueError("give either models or estimates/covariances, not both")
        fits = read_fits(models, reader)
        names = [_clean(n) for n in fits[0].names]
        Q = np.array([s.estimates for s in fits], dtype=float)
        if fits[0].covariance is None:
            raise ValueError("constraint tests need covariance matrices of the estimates")
        if np.ndim(fits[0].covariance) != 2:
            raise ValueError("constraint tests need full covariance matrices, not variances")
        U = np.array([np.asarray(s.covariance, dtype=float) for s in fits])
    else:
        if estimates is None or covariances is None:
            raise ValueError("give a list of fitted models, or both estimates and covariances")
        Q, names = coerce_estimates(estimates, names)
        names = [_clean(n) for n in names]
        if (isinstance(covariances, np.ndarray) and covariances.ndim == 2) or (
            not isinstance(covariances, np.ndarray) and np.ndim(list(covariances)[0]) == 1
        ):
            raise ValueError(
                "constraint tests need full covariance matrices; variances alone are not enough"
            )
        U, _ = coerce_covariances(covariances, Q.shape[0], Q.shape[1], names)
    m, p = Q.shape
    if m < 2:
        raise ValueError(f"pooling needs at least m = 2 imputations, got m = {m}")
    if callable(constraints):
        labels = None
        g = lambda th: np.atleast_1d(
            np.asarray(constraints(pd.Series(th, index=names)), dtype=float)
        )
    else:
        if isinstance(constraints, str):
            constraints = [constraints]
        compiled = [_Constraint(c, names) for c in constraints]
        labels = [c.text for c in compiled]
        g = lambda th: np.array([c(th) for c in compiled])
    eta, V = [], []
    for q, u in zip(Q, U):
        e, G = _jacobian(g, q.copy())
        eta.append(e)
        V.append(G @ u @ G.T)
    eta, V = np.array(eta), np.array(V)
    k = eta.shape[1]
    if labels is None:
        labels = [f"g{c + 1}" for c in range(k)]
    if method == "D1":
        test = _d1(eta, V, df_com=df_com, names=labels)
    else:
        if df_com is not None:
            import warnings

            warnings.warn(
                "df_com is used by D1 only and is ignored for D2", UserWarning, stacklevel=2
            )
        d = []
        for e, v in zip(eta, V):
            _check_invertible(v, "within-imputation covariance matrix of the constraints")
            d.append(float(e @ np.linalg.solve(v, e)))
        test = pool_chi2(d, k, ariv=ariv, use="wald")
    return ConstraintTest(labels, eta, V, test)
