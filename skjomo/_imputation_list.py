"""The m completed data sets as one object to analyse (mitml's ``mitml.list``).

:class:`ImputationList` is a ``list`` of DataFrames (use it as one) that
also knows the incomplete original: it gives the long format with the
original as imputation 0 (jomo's format), the mask of imputed cells, fits an
analysis on every data set (mitml's ``with``), derives variables in every
data set (mitml's ``within``) and exports. The fits come back as an
:class:`AnalysisList`, pooled by :mod:`skjomo.pooling`; :func:`anova`
compares a sequence of nested models fitted on the same imputations
(doc/formula.rst, "Analysing the imputations").
"""

import itertools
from pathlib import Path

import pandas as pd

from .pooling import compare_models, pool_estimates

IMPUTATION = "imputation"
_TOKENS = itertools.count(1)


class ImputationList(list):
    """A list of completed DataFrames with the original incomplete data.

    Returned by the imputers' ``sample()`` for DataFrame input; also built
    from any list of completed data sets.

    Parameters
    ----------
    datasets : iterable of pandas.DataFrame
        The completed data sets, all with the same columns and index.
    original : pandas.DataFrame, default=None
        The incomplete data (imputation 0 of the long format and the source
        of :attr:`imputed_mask`).

    Attributes
    ----------
    original : pandas.DataFrame or None
        The incomplete data.

    Examples
    --------
    >>> from skjomo import MultilevelJointImputer
    >>> from skjomo.datasets import load_studentratings
    >>> data = load_studentratings()
    >>> imputer = MultilevelJointImputer(formula="ReadDis + SES ~ ReadAchiev + (1 | ID)",
    ...                                  n_burn=100, n_between=10, random_state=0)
    >>> implist = imputer.fit(data).sample(5)
    >>> implist.complete("long").shape
    (4500, 11)
    >>> pooled = implist.fit("ReadDis ~ SES").pool()
    """

    def __init__(self, datasets=(), original=None):
        super().__init__(datasets)
        for k, data in enumerate(self):
            if not isinstance(data, pd.DataFrame):
                raise TypeError(
                    f"Data set {k} is a {type(data).__name__}; an ImputationList holds DataFrames."
                )
            if k and (
                not data.columns.equals(self[0].columns) or not data.index.equals(self[0].index)
            ):
                raise ValueError(f"Data set {k} has other columns or rows than data set 0.")
        if (
            original is not None
            and self
            and (
                not original.columns.equals(self[0].columns)
                or not original.index.equals(self[0].index)
            )
        ):
            raise ValueError("original must have the columns and rows of the data sets.")
        self.original = original
        self._token = next(_TOKENS)

    @property
    def m(self):
        """Number of imputations."""
        return len(self)

    def _need_original(self, what):
        if self.original is None:
            raise ValueError(
                f"{what} needs the original data: build the list with "
                "ImputationList(datasets, original=data)."
            )

    @property
    def imputed_mask(self):
        """Boolean DataFrame: True at the cells imputed.

        The cells missing in the original and filled in the imputations.
        """
        self._need_original("imputed_mask")
        return self.original.isna() & self[0].notna()

    def complete(self, kind="long", include_original=True):
        """The data sets in one frame or as a plain list.

        Parameters
        ----------
        kind : {"long", "list"}, default="long"
            ``"long"``: the data sets stacked, with a first column
            ``imputation`` (1..m, and 0 for the original when
            ``include_original``), each keeping the original index.
            ``"list"``: a plain list of copies.
        include_original : bool, default=True
            Stack the incomplete original as imputation 0 (jomo's format).

        Returns
        -------
        pandas.DataFrame or list of pandas.DataFrame
            The long frame, or the list of copies.
        """
        if kind == "list":
            return [data.copy() for data in self]
        if kind != "long":
            raise ValueError(f"kind must be 'long' or 'list'; got {kind!r}.")
        if IMPUTATION in self[0].columns:
            raise ValueError(f"The data already has a column {IMPUTATION!r}.")
        frames = list(self)
        first = 1
        if include_original:
            self._need_original("include_original")
            frames, first = [self.original] + frames, 0
        return pd.concat(
            [data.assign(**{IMPUTATION: k}) for k, data in enumerate(frames, start=first)]
        )[[IMPUTATION, *self[0].columns]]

    def transform(self, function):
        """Apply ``function`` to every data set (mitml's ``within``).

        Parameters
        ----------
        function : callable
            ``function(data) -> DataFrame`` on a copy of each data set (and of
            the original), e.g. ``lambda d: d.assign(m=d.groupby("ID")["y"]
            .transform("mean"))`` for cluster means of an imputed variable.

        Returns
        -------
        ImputationList
            The transformed data sets; models fitted on them compare with
            models fitted on this list (the same imputations).
        """

        def apply(data):
            out = function(data.copy())
            if not isinstance(out, pd.DataFrame):
                raise TypeError(f"function must return a DataFrame; got {type(out).__name__}.")
            return out

        out = ImputationList(
            [apply(d) for d in self],
            original=None if self.original is None else apply(self.original),
        )
        out._token = self._token
        return out

    def fit(self, analysis, model=None, *, fit_kwargs=None, y=None, features=None, **kwargs):
        """Fit an analysis to every data set (mitml's ``with``).

        Parameters
        ----------
        analysis : str, callable or scikit-learn estimator
            A statsmodels formula (fitted with ``model``); a function
            ``analysis(data)`` returning a fitted model; or an estimator
            fitted (a clone per data set) to the ``features`` columns to
            predict column ``y``.
        model : callable, default=None
            A statsmodels formula constructor such as
            ``statsmodels.formula.api.mixedlm``; default ``ols``.
        fit_kwargs : dict, default=None
            Passed to the statsmodels ``fit`` (e.g. ``{"reml": False}``).
        y : column label, default=None
            The target of a scikit-learn estimator.
        features : list of column labels, default=None
            Its features (default: every other column).
        **kwargs
            Passed to ``model`` (e.g. ``groups="ID"``).

        Returns
        -------
        AnalysisList
            The m fitted models, to pool or compare.
        """
        if isinstance(analysis, str):
            if model is None:
                import statsmodels.formula.api as smf

                model = smf.ols
            fits = [model(analysis, data=data, **kwargs).fit(**(fit_kwargs or {})) for data in self]
        elif hasattr(analysis, "fit") and hasattr(analysis, "get_params"):
            from sklearn.base import clone

            if y is None:
                raise ValueError("A scikit-learn estimator needs y=, the target column.")
            columns = [c for c in self[0].columns if c != y] if features is None else list(features)
            fits = [clone(analysis).fit(data[columns], data[y]) for data in self]
        elif callable(analysis):
            fits = [analysis(data.copy()) for data in self]
        else:
            raise TypeError(
                "analysis must be a formula string, a function of the data or a "
                f"scikit-learn estimator; got {type(analysis).__name__}."
            )
        return AnalysisList(fits, self._token)

    # ------------------------------------------------------------ export
    def to_csv(self, path, include_original=True, **kwargs):
        """Write the long format (:meth:`complete`) to one CSV file.

        Parameters
        ----------
        path : str or path-like
            The file.
        include_original : bool, default=True
            Include the original as imputation 0.
        **kwargs
            Passed to :meth:`pandas.DataFrame.to_csv`.
        """
        self.complete("long", include_original=include_original).to_csv(path, **kwargs)

    def to_files(self, pattern, **kwargs):
        """Write one file per imputation; the format follows the extension.

        Parameters
        ----------
        pattern : str
            File name with ``{}`` for the imputation number, e.g.
            ``"imputed_{}.csv"``. Extensions: ``.csv``, ``.dta`` (Stata,
            pandas' writer), ``.parquet`` (needs pyarrow or fastparquet),
            ``.sav`` (SPSS, needs pyreadstat).
        **kwargs
            Passed to the writer.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        if "{}" not in str(pattern):
            raise ValueError(
                f"pattern must contain '{{}}' for the imputation number; got {pattern!r}."
            )
        suffix = Path(str(pattern).format(1)).suffix.lower()
        writers = {
            ".csv": lambda d, p: d.to_csv(p, **kwargs),
            ".dta": lambda d, p: d.to_stata(p, **kwargs),
            ".parquet": lambda d, p: d.to_parquet(p, **kwargs),
            ".sav": _write_sav,
        }
        if suffix not in writers:
            raise ValueError(f"Unknown file type {suffix!r}; use one of {sorted(writers)}.")
        paths = [Path(str(pattern).format(k)) for k in range(1, self.m + 1)]
        for data, path in zip(self, paths):
            writers[suffix](data, path)
        return paths


def _write_sav(data, path):
    try:
        import pyreadstat
    except ImportError:
        raise ImportError(
            "Writing SPSS .sav files needs pyreadstat (pip install pyreadstat)."
        ) from None
    pyreadstat.write_sav(data, str(path))


class AnalysisList(list):
    """The m fitted models of :meth:`ImputationList.fit` (mitml's ``mitml.result``).

    A ``list`` of fitted models that remembers which imputations they were
    fitted on, so that models are compared only on the same imputations.

    Parameters
    ----------
    fits : iterable
        The fitted models, one per imputation.
    token : int
        Identifies the imputations they were fitted on.
    """

    def __init__(self, fits, token):
        super().__init__(fits)
        self._token = token

    def pool(self, **kwargs):
        """Pooled estimates by Rubin's rules (:func:`skjomo.pooling.pool_estimates`).

        Parameters
        ----------
        **kwargs
            ``df_com``, ``extra_params`` (variance components), ``reader``.

        Returns
        -------
        skjomo.pooling.PooledEstimates
            Pooled estimates, standard errors, df, RIV, FMI.
        """
        return pool_estimates(list(self), **kwargs)

    def compare(self, null, method="D1", **kwargs):
        """Test this model against the nested ``null`` (:func:`skjomo.pooling.compare_models`).

        Parameters
        ----------
        null : AnalysisList
            The restricted model fitted on the same imputations.
        method : {"D1", "D2", "D3", "D4"}, default="D1"
            The pooled test.
        **kwargs
            Passed to :func:`skjomo.pooling.compare_models`.

        Returns
        -------
        skjomo.pooling.MultiParameterTest
            F statistic, degrees of freedom, p-value and RIV.
        """
        _check_same_imputations(self, null)
        return compare_models(list(self), list(null), method=method, **kwargs)

    def multilevel_r2(self, measures=("RB1", "RB2", "SB", "MVP")):
        """Explained variance of two-level mixed models (mitml's ``multilevelR2``).

        Each measure is computed on every fit (statsmodels ``MixedLM``) and
        averaged over the imputations; RB1, RB2 and SB refit the
        random-intercept null model by the fit's method (REML or ML).

        Parameters
        ----------
        measures : sequence of {"RB1", "RB2", "SB", "MVP"}
            Level-1 (Raudenbush-Bryk), level-2 (Raudenbush-Bryk) and total
            (Snijders-Bosker) proportional reduction of variance, and the
            share of the fixed part in the total variance (LaHuis et al.).

        Returns
        -------
        pandas.Series
            The averaged measures, in the order asked.
        """
        from ._r2 import multilevel_r2

        return multilevel_r2(list(self), measures)

    def anova(self, *smaller, method="D1", **kwargs):
        """Compare this model with a sequence of smaller nested ones (:func:`anova`).

        Parameters
        ----------
        *smaller : AnalysisList
            Nested models from the largest to the smallest.
        method : {"D1", "D2", "D3", "D4"}, default="D1"
            The pooled test.
        **kwargs
            Passed to :func:`skjomo.pooling.compare_models`.

        Returns
        -------
        pandas.DataFrame
            One row per comparison.
        """
        return anova(self, *smaller, method=method, **kwargs)


def _check_same_imputations(*analyses):
    for analysis in analyses:
        if not isinstance(analysis, AnalysisList):
            raise TypeError(
                "Models to compare must be AnalysisList objects from "
                f"ImputationList.fit; got {type(analysis).__name__}."
            )
    if len({a._token for a in analyses}) > 1:
        raise ValueError(
            "The models were fitted on different imputations; nested models are "
            "compared on the same imputed data sets."
        )


def anova(*analyses, method="D1", **kwargs):
    """Compare a sequence of nested models fitted on the same imputations.

    Like mitml's ``anova``: each model is tested against the next, smaller
    one (order them from the largest to the smallest).

    Parameters
    ----------
    *analyses : AnalysisList
        Two or more nested models from :meth:`ImputationList.fit`.
    method : {"D1", "D2", "D3", "D4"}, default="D1"
        The pooled test.
    **kwargs
        Passed to :func:`skjomo.pooling.compare_models`.

    Returns
    -------
    pandas.DataFrame
        One row per comparison ("1 vs 2", ...): F, df1, df2, p-value, RIV.
    """
    if len(analyses) < 2:
        raise ValueError("anova compares two or more models.")
    _check_same_imputations(*analyses)
    rows = {}
    for k in range(len(analyses) - 1):
        test = analyses[k].compare(analyses[k + 1], method=method, **kwargs)
        rows[f"{k + 1} vs {k + 2}"] = {
            "F.value": test.F,
            "df1": test.df1,
            "df2": test.df2,
            "P(>F)": test.p_value,
            "RIV": test.riv,
        }
    return pd.DataFrame.from_dict(rows, orient="index")
