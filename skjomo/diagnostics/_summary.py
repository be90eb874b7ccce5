"""Convergence summaries of a :class:`ChainSet` and the convergence warning."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning

from ._acf import autocorrelation, mitml_smoothed_acf
from ._ess import rank_diagnostics
from ._rhat import mitml_rhat

__all__ = [
    "ConvergenceWarning",
    "ConvergenceSummary",
    "summarize_convergence",
    "summarize_autocorrelation",
    "check_convergence",
]

#: Default thresholds of :func:`check_convergence`.
RHAT_THRESHOLD = 1.05
ESS_BULK_THRESHOLD = 100
ESS_TAIL_THRESHOLD = 100

_GROUP_STATS = ["Min", "25%", "Mean", "Median", "75%", "Max"]


class ConvergenceWarning(_SklearnConvergenceWarning):
    """The imputation model's MCMC chains show signs of non-convergence.

    A subclass of :class:`sklearn.exceptions.ConvergenceWarning` (itself a
    :class:`UserWarning`), so ``warnings.filterwarnings`` on either class
    controls it.
    """


@dataclass
class ConvergenceSummary:
    """Convergence diagnostics of a chain set, from :func:`summarize_convergence`.

    A dataclass: each parameter below is stored as an attribute of the same
    name.  ``str(summary)`` is :meth:`to_string`.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per scalar parameter (index ``name``) with columns
        ``group, mean, sd, q2.5, q97.5, rhat, rhat_mitml, ess_bulk,
        ess_tail``.
    by_group : pandas.DataFrame
        One row per parameter group (index ``group``): ``n_params``, the
        ``Min, 25%, Mean, Median, 75%, Max`` of ``statistic`` over the
        group's parameters (NaN values left out, quantiles of R type 7 like
        mitml), ``worst`` (the first parameter attaining the maximum),
        ``ess_bulk_min`` and ``ess_tail_min``.
    statistic : str
        Column of ``table`` summarised in ``by_group`` (``"rhat"`` or
        ``"rhat_mitml"``).
    n_chains : int
        Number of chains summarised.
    n_draws : int
        Draws per chain used (those of ``phase``).
    phase : {"imputation", "burnin", "all"}
        Phase of the chains the draws come from.
    n_segments : int
        Segments of mitml's single-chain Rhat.
    _meta : dict, optional
        Reserved for internal use; not part of the public interface.
    """

    table: pd.DataFrame
    by_group: pd.DataFrame
    statistic: str
    n_chains: int
    n_draws: int
    phase: str
    n_segments: int
    _meta: dict = field(default_factory=dict, repr=False)

    @property
    def worst(self):
        """Name of the parameter with the largest ``statistic`` (None if all NaN)."""
        col = self.table[self.statistic]
        if col.notna().any():
            return col.idxmax()
        return None

    def problems(
        self,
        rhat_threshold=RHAT_THRESHOLD,
        ess_bulk_threshold=ESS_BULK_THRESHOLD,
        ess_tail_threshold=ESS_TAIL_THRESHOLD,
    ):
        """Return the rows of :attr:`table` that fail a threshold.

        The same rule as :func:`check_convergence`, without a warning.

        Parameters
        ----------
        rhat_threshold : float or None, default 1.05
            Flag parameters with rank-normalised Rhat above this; ``None``
            skips the check.
        ess_bulk_threshold : float or None, default 100
            Flag parameters with bulk ESS below this; ``None`` skips the
            check.
        ess_tail_threshold : float or None, default 100
            Flag parameters with tail ESS below this; ``None`` skips the
            check.

        Returns
        -------
        pandas.DataFrame
            The flagged rows of :attr:`table`, in its order (empty when all
            pass).  Constant parameters (``sd == 0``) and NaN statistics are
            never flagged.
        """
        t = self.table
        t = t[~(t["sd"] == 0)]
        bad = pd.Series(False, index=t.index)
        if rhat_threshold is not None:
            bad |= t["rhat"] > rhat_threshold
        if ess_bulk_threshold is not None:
            bad |= t["ess_bulk"] < ess_bulk_threshold
        if ess_tail_threshold is not None:
            bad |= t["ess_tail"] < ess_tail_threshold
        return t[bad]

    def check(self, **kwargs):
        """Check convergence and warn when a parameter fails a threshold.

        Parameters
        ----------
        **kwargs
            Keyword arguments of :func:`check_convergence` (thresholds,
            ``warn``, ``stacklevel``).  ``stacklevel`` defaults to 3, so the
            warning points at the caller of this method.

        Returns
        -------
        bool
            True if no parameter is flagged; see :func:`check_convergence`.
        """
        kwargs.setdefault("stacklevel", 3)
        return check_convergence(self, **kwargs)

    def to_string(self, digits=3):
        """Format the summary as text in the style of mitml.

        Parameters
        ----------
        digits : int, default 3
            Decimals of the Rhat statistics.

        Returns
        -------
        str
            Several lines: the group table of ``statistic`` (Min, quartiles,
            Mean, Median, Max), the parameter with the largest value in each
            group, and the minimum bulk and tail ESS of each group.
        """
        label = {
            "rhat": "Rhat, rank-normalised split",
            "rhat_mitml": f"Rhat, mitml single-chain, {self.n_segments} segments",
        }.get(self.statistic, self.statistic)
        lines = [
            f"Potential scale reduction ({label}; {self.n_chains} chain"
            f"{'s' if self.n_chains != 1 else ''} x {self.n_draws} draws, {self.phase} phase):",
            "",
        ]
        bg = self.by_group
        tab = bg[_GROUP_STATS].copy()
        tab.index = [f"{g}:" for g in tab.index]
        lines.append(tab.to_string(float_format=lambda v: f"{v:.{digits}f}", na_rep="NA"))
        lines += ["", "Largest potential scale reduction:"]
        lines.append(
            ", ".join(
                f"{g}: {w}" if isinstance(w, str) else f"{g}: NA" for g, w in bg["worst"].items()
            )
        )
        lines += ["", "Effective sample size, minimum (bulk / tail):"]
        lines.append(
            ", ".join(
                f"{g}: {_fmt_ess(r.ess_bulk_min)} / {_fmt_ess(r.ess_tail_min)}"
                for g, r in bg.iterrows()
            )
        )
        return "\n".join(lines)

    def __str__(self):
        return self.to_string()


def _fmt_ess(v):
    return "NA" if not np.isfinite(v) else f"{v:.0f}"


def summarize_convergence(
    chainset,
    params=None,
    *,
    phase="imputation",
    n_segments=3,
    statistic="rhat",
):
    """Convergence diagnostics for every scalar parameter of a chain set.

    Parameters
    ----------
    chainset : ChainSet
        Stored chains.
    params : str or sequence of str, optional
        Groups and/or parameter names (see :meth:`ChainSet.params`);
        default all.
    phase : {"imputation", "burnin", "all"}, default "imputation"
        Draws to use.
    n_segments : int, default 3
        Segments of mitml's single-chain Rhat (``rhat_mitml`` column).
    statistic : {"rhat", "rhat_mitml"}, default "rhat"
        Statistic summarised per group in ``by_group`` and used to name the
        worst parameter.

    Returns
    -------
    ConvergenceSummary
        ``table`` has one row per parameter with the posterior ``mean``,
        ``sd`` (denominator n - 1), the 2.5% and 97.5% quantiles (``q2.5``,
        ``q97.5``, linear interpolation) over all chains and draws; ``rhat``
        (:func:`rhat`, rank-normalised split Rhat across chains);
        ``rhat_mitml`` (:func:`mitml_rhat` per chain, the largest over
        chains; for one chain exactly mitml's number); ``ess_bulk`` and
        ``ess_tail`` (:func:`ess_bulk`, :func:`ess_tail`).

    See Also
    --------
    check_convergence : Warn when a threshold is exceeded.
    """
    if statistic not in ("rhat", "rhat_mitml"):
        raise ValueError("statistic must be 'rhat' or 'rhat_mitml'")
    ps = chainset.params(params)
    x = chainset.flatten(ps, phase=phase)  # (C, N, P)
    C, N, P = x.shape
    names = [p.name for p in ps]
    flat = x.reshape(C * N, P)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = flat.mean(axis=0) if N else np.full(P, np.nan)
        sd = flat.std(axis=0, ddof=1) if C * N > 1 else np.full(P, np.nan)
        if N:
            q_lo, q_hi = np.quantile(flat, [0.025, 0.975], axis=0)
        else:
            q_lo = q_hi = np.full(P, np.nan)
        if N // n_segments >= 2:
            r_m = np.asarray(mitml_rhat(x, n_segments, axis=1)).reshape(C, P)
            r_m = np.where(np.isnan(r_m).all(axis=0), np.nan, np.nanmax(r_m, axis=0))
        else:
            r_m = np.full(P, np.nan)
    if P:
        r, e_bulk, e_tail = (np.reshape(v, P) for v in rank_diagnostics(x))
    else:
        r = e_bulk = e_tail = np.empty(0)
    table = pd.DataFrame(
        {
            "group": [p.group for p in ps],
            "mean": mean,
            "sd": sd,
            "q2.5": q_lo,
            "q97.5": q_hi,
            "rhat": r,
            "rhat_mitml": r_m,
            "ess_bulk": e_bulk,
            "ess_tail": e_tail,
        },
        index=pd.Index(names, name="name"),
    )
    by_group = _group_table(table, statistic, [g for g in chainset.group_names])
    return ConvergenceSummary(
        table=table,
        by_group=by_group,
        statistic=statistic,
        n_chains=C,
        n_draws=N,
        phase=phase,
        n_segments=n_segments,
    )


def _group_table(table, statistic, group_order):
    rows = {}
    for g in group_order:
        sub = table[table["group"] == g]
        if len(sub) == 0:
            continue
        v = sub[statistic].to_numpy(dtype=float)
        ok = v[~np.isnan(v)]
        if ok.size:
            q25, med, q75 = np.quantile(ok, [0.25, 0.5, 0.75])
            stats_ = [ok.min(), q25, ok.mean(), med, q75, ok.max()]
            worst = sub.index[int(np.nanargmax(v))]
        else:
            stats_ = [np.nan] * 6
            worst = None
        rows[g] = dict(
            n_params=len(sub),
            **dict(zip(_GROUP_STATS, stats_)),
            worst=worst,
            ess_bulk_min=sub["ess_bulk"].min(),
            ess_tail_min=sub["ess_tail"].min(),
        )
    cols = ["n_params", *_GROUP_STATS, "worst", "ess_bulk_min", "ess_tail_min"]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    out.index.name = "group"
    return out


def check_convergence(
    summary,
    *,
    rhat_threshold=RHAT_THRESHOLD,
    ess_bulk_threshold=ESS_BULK_THRESHOLD,
    ess_tail_threshold=ESS_TAIL_THRESHOLD,
    warn=True,
    stacklevel=2,
):
    """Check convergence and warn when a parameter fails a threshold.

    Parameters
    ----------
    summary : ConvergenceSummary or ChainSet
        A summary from :func:`summarize_convergence`, or a chain set (then
        summarised with the defaults).
    rhat_threshold : float or None, default 1.05
        Flag parameters with rank-normalised Rhat above this.  Vehtari et
        al. (2021) recommend the stricter 1.01 for final inference; 1.05 is
        the customary rule for imputation models.
    ess_bulk_threshold : float or None, default 100
        Flag parameters with bulk ESS below this (the total over chains).
        Vehtari et al. recommend at least 100 per chain for reliable Rhat
        and ESS estimates, i.e. 400 with four chains.
    ess_tail_threshold : float or None, default 100
        Flag parameters with tail ESS below this.
    warn : bool, default True
        Emit a :class:`ConvergenceWarning` naming the worst parameters.
    stacklevel : int, default 2
        Passed to :func:`warnings.warn`.

    Returns
    -------
    bool
        True if no parameter is flagged.  Constant parameters (sd 0, e.g.
        latent variances fixed at 1) and NaN statistics are never flagged.
    """
    if not isinstance(summary, ConvergenceSummary):
        summary = summarize_convergence(summary)
    t = summary.table
    t = t[~(t["sd"] == 0)]  # constant parameters (e.g. fixed latent variances)
    msgs = []
    if rhat_threshold is not None:
        bad = t["rhat"] > rhat_threshold
        if bad.any():
            worst = t.loc[bad, "rhat"].sort_values(ascending=False)
            msgs.append(
                f"{int(bad.sum())} of {len(t)} parameters have Rhat > {rhat_threshold:g} "
                f"(worst: {_list(worst, '{:.3f}')})"
            )
    for col, thr in (("ess_bulk", ess_bulk_threshold), ("ess_tail", ess_tail_threshold)):
        if thr is None:
            continue
        bad = t[col] < thr
        if bad.any():
            worst = t.loc[bad, col].sort_values()
            msgs.append(
                f"{int(bad.sum())} of {len(t)} parameters have {col.split('_')[1]} ESS "
                f"< {thr:g} (lowest: {_list(worst, '{:.0f}')})"
            )
    if msgs and warn:
        warnings.warn(
            "The imputation model's chains may not have converged: "
            + "; ".join(msgs)
            + ". Consider more burn-in or iterations, or inspect the trace plots.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return not msgs


def _list(series, fmt, k=3):
    items = [f"{name} = {fmt.format(v)}" for name, v in series.iloc[:k].items()]
    if len(series) > k:
        items.append("...")
    return ", ".join(items)


def summarize_autocorrelation(chainset, params=None, *, lag=None, phase="imputation", smooth=2):
    """Summarise autocorrelations at lag 1 and smoothed lags k and 2k, as mitml does.

    Parameters
    ----------
    chainset : ChainSet
        Stored chains.
    params : str or sequence of str, optional
        Selection (see :meth:`ChainSet.params`); default all.
    lag : int, optional
        Lag ``k``; default ``chainset.n_iter`` (iterations between
        imputations), as in mitml.
    phase : {"imputation", "burnin", "all"}, default "imputation"
        Draws to use.
    smooth : int, default 2
        Half-width of the lag window of :func:`mitml_smoothed_acf`.

    Returns
    -------
    table : pandas.DataFrame
        One row per parameter: ``group``, ``lag1`` (plain ACF at lag 1),
        ``lagk`` and ``lag2k`` (smoothed ACF), each averaged over chains.
    by_group : pandas.DataFrame
        Per group the Mean and Max of the three columns (like mitml's table)
        and ``worst``: the parameter with the largest ``|lagk|``.
    """
    if lag is None:
        lag = chainset.n_iter
    if lag is None:
        raise ValueError("lag is required when the chain set has no n_iter")
    ps = chainset.params(params)
    if not ps:
        raise ValueError("no parameters selected")
    x = chainset.flatten(ps, phase=phase)
    with np.errstate(all="ignore"):
        lag1 = autocorrelation(x, 1, axis=1)[1].mean(axis=0)
        lagk = np.asarray(mitml_smoothed_acf(x, lag, smooth, axis=1)).mean(axis=0)
        lag2k = np.asarray(mitml_smoothed_acf(x, 2 * lag, smooth, axis=1)).mean(axis=0)
    table = pd.DataFrame(
        {"group": [p.group for p in ps], "lag1": lag1, "lagk": lagk, "lag2k": lag2k},
        index=pd.Index([p.name for p in ps], name="name"),
    )
    rows = {}
    for g in chainset.group_names:
        sub = table[table["group"] == g]
        if not len(sub):
            continue
        row = {}
        for c in ("lag1", "lagk", "lag2k"):
            row[f"{c}_mean"] = sub[c].mean()
            row[f"{c}_max"] = sub[c].max()
        a = sub["lagk"].abs()
        row["worst"] = a.idxmax() if a.notna().any() else None
        rows[g] = row
    by_group = pd.DataFrame.from_dict(rows, orient="index")
    by_group.index.name = "group"
    return table, by_group
