"""Diagnostic plots of stored chains (matplotlib, imported lazily)."""

from __future__ import annotations

import math

import numpy as np

from ._acf import autocorrelation, mitml_smoothed_acf, moving_average
from ._ess import ess_bulk, ess_tail
from ._rhat import mitml_rhat, rhat

__all__ = ["plot_trace", "plot_autocorrelation", "plot_density", "plot_diagnostics"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skjomo's diagnostic plots need matplotlib; install it with "
            "`pip install skjomo[plots]` (or `pip install matplotlib`)."
        ) from exc
    return plt


def _chain_colors(n):
    plt = _pyplot()
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    return [cycle[i % len(cycle)] for i in range(n)]


def _grid(plt, n, ncols, panel_size, sharex=False):
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    w, h = panel_size
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False, sharex=sharex
    )
    axes_flat = axes.ravel()
    for ax in axes_flat[n:]:
        ax.remove()
    return fig, axes_flat[:n]


def _selected(chainset, params):
    ps = chainset.params(params)
    if not ps:
        raise ValueError("no parameters selected")
    return ps


def _thinned(chainset, ps, phase, thin):
    thin = int(thin)
    if thin < 1:
        raise ValueError("thin must be >= 1")
    x = chainset.flatten(ps, phase=phase)[:, ::thin]
    it = chainset.iterations(phase)[::thin]
    return x, it, thin


def _finish(fig, axes, n_chains, xlabel=None, ncols=1):
    """Bottom-row x labels, one legend for the chains above the panels, tight layout."""
    n = len(axes)
    ncols = max(1, min(int(ncols), n))
    if xlabel:
        for k, ax in enumerate(axes):
            if k + ncols >= n:
                ax.set_xlabel(xlabel)
    top = 1.0
    if n_chains > 1:
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(
                handles,
                labels,
                loc="upper center",
                ncol=min(n_chains, 8),
                fontsize="small",
                frameon=False,
            )
            top = 1.0 - 0.35 / fig.get_figheight()
    fig.tight_layout(rect=(0, 0, 1, top))


def _nrd0(x):
    """R's default bandwidth: 0.9 min(sd, IQR / 1.34) n^(-1/5)."""
    x = x[np.isfinite(x)]
    n = x.size
    if n < 2:
        return 1.0
    sd = np.std(x, ddof=1)
    q75, q25 = np.quantile(x, [0.75, 0.25])
    lo = min(sd, (q75 - q25) / 1.34)
    if not lo > 0:
        lo = sd if sd > 0 else (abs(x[0]) if x[0] != 0 else 1.0)
    return 0.9 * lo * n ** (-0.2)


def kde(x, n_grid=512, cut=3.0, bw=None):
    """Gaussian kernel density estimate on a regular grid (R's ``density`` defaults).

    Parameters
    ----------
    x : array_like
        Sample (non-finite values are dropped).
    n_grid : int, default 512
        Number of grid points.
    cut : float, default 3
        The grid extends ``cut`` bandwidths beyond the data range.
    bw : float, optional
        Bandwidth; default Silverman's rule of thumb ``nrd0``.

    Returns
    -------
    grid, density : ndarray
    """
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if bw is None:
        bw = _nrd0(x)
    if x.size == 0:
        return np.zeros(0), np.zeros(0)
    grid = np.linspace(x.min() - cut * bw, x.max() + cut * bw, n_grid)
    dens = np.zeros(n_grid)
    for start in range(0, x.size, 4096):
        chunk = x[start : start + 4096]
        u = (grid[:, None] - chunk[None, :]) / bw
        dens += np.exp(-0.5 * u * u).sum(axis=1)
    dens /= x.size * bw * math.sqrt(2 * math.pi)
    return grid, dens


def plot_trace(
    chainset,
    params=None,
    *,
    phase="imputation",
    thin=1,
    smooth=3,
    ncols=1,
    panel_size=(8.0, 2.0),
):
    """Trace plots: one panel per parameter, one line per chain.

    Parameters
    ----------
    chainset : ChainSet
        Stored chains.
    params : str or sequence of str, optional
        Groups and/or parameter names (see :meth:`ChainSet.params`);
        default all parameters (select a few when there are many).
    phase : {"imputation", "burnin", "all"}, default "imputation"
        Draws to show.  With ``"all"`` the burn-in is shaded and separated
        by a dashed vertical line.
    thin : int, default 1
        Plot every ``thin``-th draw.
    smooth : int or None, default 3
        Overlay each chain's centred moving average with half-width
        ``floor(n_iter / (smooth * thin))`` as mitml does; only when the
        chain set knows ``n_iter`` and the half-width is at least 1.  ``None``
        or 0 switches it off.
    ncols : int, default 1
        Panels per row.
    panel_size : (float, float), default (8, 2)
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, with one axes per parameter (iteration on the x-axis)
        and, for several chains, one legend naming them.

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install skjomo[plots]``).
    """
    plt = _pyplot()
    ps = _selected(chainset, params)
    x, it, thin = _thinned(chainset, ps, phase, thin)
    C = x.shape[0]
    colors = _chain_colors(C)
    B = 0
    if smooth and chainset.n_iter:
        B = chainset.n_iter // (int(smooth) * thin)
    fig, axes = _grid(plt, len(ps), ncols, panel_size)
    for j, (ax, p) in enumerate(zip(axes, ps)):
        for c in range(C):
            ax.plot(it, x[c, :, j], color=colors[c], lw=0.8, alpha=0.85, label=f"chain {c + 1}")
            if B >= 1 and it.size:
                ax.plot(it, moving_average(x[c, :, j], B), color="black", lw=1.0, alpha=0.8)
        if phase == "all" and 0 < chainset.n_burn < chainset.n_draws:
            ax.axvspan(it[0] - 0.5, chainset.n_burn + 0.5, color="0.9", zorder=0)
            ax.axvline(chainset.n_burn + 0.5, color="0.4", ls="--", lw=0.8)
        ax.set_title(p.name, fontsize="medium", loc="left")
        ax.set_ylabel("value")
        _pad_ylim(ax, x[:, :, j])
    _finish(fig, axes, C, "iteration", ncols)
    return fig


def _pad_ylim(ax, values):
    v = values[np.isfinite(values)]
    if v.size:
        lo, hi = v.min(), v.max()
        pad = 0.03 * (hi - lo) if hi > lo else (abs(lo) * 0.03 or 1.0)
        ax.set_ylim(lo - pad, hi + pad)


def plot_autocorrelation(
    chainset,
    params=None,
    *,
    max_lag=None,
    phase="imputation",
    thin=1,
    ncols=2,
    panel_size=(4.0, 2.2),
):
    """Autocorrelation plots: one panel per parameter, one line per chain.

    Parameters
    ----------
    chainset : ChainSet
        Stored chains.
    params : str or sequence of str, optional
        Selection (see :meth:`ChainSet.params`); default all.
    max_lag : int, optional
        Largest lag.  Default ``ceil(n_iter / thin)`` as in mitml when the
        chain set knows ``n_iter``, else ``min(50, n_draws - 1)``.
    phase : {"imputation", "burnin", "all"}, default "imputation"
        Draws to use.
    thin : int, default 1
        Use every ``thin``-th draw.
    ncols : int, default 2
        Panels per row.
    panel_size : (float, float), default (4, 2.2)
        Size of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Lags 1..max_lag; reference lines at 0 and +-0.1, y-range at least
        [-0.1, 1] like mitml.

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install skjomo[plots]``).
    """
    plt = _pyplot()
    ps = _selected(chainset, params)
    x, _, thin = _thinned(chainset, ps, phase, thin)
    C, N, _ = x.shape
    L = _default_lag(chainset, max_lag, thin, N)
    ac = autocorrelation(x, L, axis=1)  # (L + 1, C, P)
    colors = _chain_colors(C)
    lags = np.arange(1, L + 1)
    fig, axes = _grid(plt, len(ps), ncols, panel_size)
    for j, (ax, p) in enumerate(zip(axes, ps)):
        for c in range(C):
            ax.plot(
                lags,
                ac[1:, c, j],
                color=colors[c],
                lw=1.0,
                marker="o",
                ms=2.5,
                label=f"chain {c + 1}",
            )
        ax.axhline(0.0, color="0.3", lw=0.8)
        for yv in (-0.1, 0.1):
            ax.axhline(yv, color="0.5", lw=0.7, ls="--")
        finite = ac[1:, :, j][np.isfinite(ac[1:, :, j])]
        lo = min(-0.1, finite.min() - 0.05) if finite.size else -0.1
        ax.set_ylim(lo, 1.0)
        ax.set_title(p.name, fontsize="medium", loc="left")
        ax.set_ylabel("ACF")
    _finish(fig, axes, C, "lag", ncols)
    return fig


def _default_lag(chainset, max_lag, thin, N):
    if max_lag is None:
        max_lag = math.ceil(chainset.n_iter / thin) if chainset.n_iter else 50
    max_lag = int(min(max_lag, max(N - 1, 1)))
    if max_lag < 1:
        raise ValueError("max_lag must be >= 1")
    return max_lag


def plot_density(
    chainset,
    params=None,
    *,
    phase="imputation",
    combined=False,
    ncols=2,
    panel_size=(4.0, 2.2),
):
    """Posterior density plots (Gaussian KDE): one panel per parameter.

    Parameters
    ----------
    chainset : ChainSet
        Stored chains.
    params : str or sequence of str, optional
        Selection (see :meth:`ChainSet.params`); default all.
    phase : {"imputation", "burnin", "all"}, default "imputation"
        Draws to use.
    combined : bool, default False
        One density of all chains pooled instead of one line per chain.
    ncols : int, default 2
        Panels per row.
    panel_size : (float, float), default (4, 2.2)
        Size of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Kernel density estimates with R's default bandwidth (``nrd0``) on a
        512-point grid reaching 3 bandwidths beyond the data, as in mitml.

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install skjomo[plots]``).
    """
    plt = _pyplot()
    ps = _selected(chainset, params)
    x = chainset.flatten(ps, phase=phase)
    C = x.shape[0]
    colors = _chain_colors(C)
    fig, axes = _grid(plt, len(ps), ncols, panel_size)
    for j, (ax, p) in enumerate(zip(axes, ps)):
        if combined:
            g, d = kde(x[:, :, j])
            ax.plot(g, d, color="black", lw=1.2, label="all chains")
        else:
            for c in range(C):
                g, d = kde(x[c, :, j])
                ax.plot(g, d, color=colors[c], lw=1.0, label=f"chain {c + 1}")
        ax.set_title(p.name, fontsize="medium", loc="left")
        ax.set_ylabel("density")
        ax.set_ylim(bottom=0)
    _finish(fig, axes, 1 if combined else C, "value", ncols)
    return fig


def plot_diagnostics(
    chainset,
    param,
    *,
    phase="imputation",
    thin=1,
    smooth=3,
    n_segments=3,
    max_lag=None,
    figsize=(9.0, 5.5),
):
    """Plot a 2x2 diagnostic panel for one parameter, as mitml does.

    Upper left: trace (one line per chain, moving average as in
    :func:`plot_trace`); upper right: kernel density drawn sideways on the
    trace's y-axis; lower left: autocorrelation; lower right: posterior
    summary (EAP, MAP, SD, 2.5% and 97.5% quantiles, rank-normalised Rhat,
    mitml's single-chain Rhat (largest over chains), bulk and tail ESS, and
    the smoothed autocorrelation at the largest lag shown).

    Parameters
    ----------
    chainset : ChainSet
        Stored chains.
    param : str
        Name of one scalar parameter, e.g. ``"beta[sex, english]"``.
    phase : {"imputation", "burnin", "all"}, default "imputation"
        Draws shown in the trace.  The density, ACF and summary use the
        imputation phase for ``"all"`` (like mitml) and ``phase`` otherwise.
    thin : int, default 1
        Use every ``thin``-th draw.
    smooth : int or None, default 3
        Moving-average setting, see :func:`plot_trace`.
    n_segments : int, default 3
        Segments of :func:`mitml_rhat`.
    max_lag : int, optional
        Largest ACF lag; see :func:`plot_autocorrelation`.
    figsize : (float, float), default (9, 5.5)
        Width and height of the figure in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure with the four axes described above.

    Raises
    ------
    ValueError
        If ``param`` does not select exactly one scalar parameter.
    ImportError
        If matplotlib is not installed (``pip install skjomo[plots]``).
    """
    plt = _pyplot()
    ps = chainset.params(param)
    if len(ps) != 1:
        raise ValueError(f"{param!r} selects {len(ps)} parameters; give one parameter name")
    p = ps[0]
    x_tr, it, thin = _thinned(chainset, ps, phase, thin)
    x_tr = x_tr[:, :, 0]
    summary_phase = "imputation" if phase == "all" else phase
    x, _, _ = _thinned(chainset, ps, summary_phase, thin)
    x = x[:, :, 0]
    C, N = x.shape
    colors = _chain_colors(C)

    fig = plt.figure(figsize=figsize)
    gs = fig.add_gridspec(2, 2, width_ratios=(3, 1), height_ratios=(1, 1))
    ax_tr = fig.add_subplot(gs[0, 0])
    ax_de = fig.add_subplot(gs[0, 1], sharey=ax_tr)
    ax_ac = fig.add_subplot(gs[1, 0])
    ax_tx = fig.add_subplot(gs[1, 1])

    B = chainset.n_iter // (int(smooth) * thin) if smooth and chainset.n_iter else 0
    for c in range(C):
        ax_tr.plot(it, x_tr[c], color=colors[c], lw=0.8, alpha=0.85, label=f"chain {c + 1}")
        if B >= 1 and it.size:
            ax_tr.plot(it, moving_average(x_tr[c], B), color="black", lw=1.0, alpha=0.8)
    if phase == "all" and 0 < chainset.n_burn < chainset.n_draws:
        ax_tr.axvspan(it[0] - 0.5, chainset.n_burn + 0.5, color="0.9", zorder=0)
        ax_tr.axvline(chainset.n_burn + 0.5, color="0.4", ls="--", lw=0.8)
    _pad_ylim(ax_tr, x_tr)
    ax_tr.set_title(p.name, fontsize="medium", loc="left")
    ax_tr.set_xlabel("iteration")
    ax_tr.set_ylabel("value")
    if C > 1:
        ax_tr.legend(fontsize="x-small", frameon=False, loc="best")

    grid, dens = kde(x)
    ax_de.plot(dens, grid, color="black", lw=1.2)
    ax_de.set_xlim(left=0)
    ax_de.set_xlabel("density")
    ax_de.tick_params(labelleft=False)

    L = _default_lag(chainset, max_lag, thin, N)
    ac = autocorrelation(x, L, axis=1)  # (L + 1, C)
    lags = np.arange(1, L + 1)
    for c in range(C):
        ax_ac.plot(lags, ac[1:, c], color=colors[c], lw=1.0, marker="o", ms=2.5)
    ax_ac.axhline(0.0, color="0.3", lw=0.8)
    for yv in (-0.1, 0.1):
        ax_ac.axhline(yv, color="0.5", lw=0.7, ls="--")
    finite = ac[1:][np.isfinite(ac[1:])]
    ax_ac.set_ylim(min(-0.1, finite.min() - 0.05) if finite.size else -0.1, 1.0)
    ax_ac.set_xlabel("lag")
    ax_ac.set_ylabel("ACF")

    with np.errstate(all="ignore"):
        flat = x.ravel()
        q_lo, q_hi = np.quantile(flat, [0.025, 0.975]) if flat.size else (np.nan, np.nan)
        r_m = np.asarray(mitml_rhat(x, n_segments, axis=1)) if N // n_segments >= 2 else np.nan
        r_m = float(np.nanmax(r_m)) if np.any(np.isfinite(r_m)) else float("nan")
        rows = [
            ("EAP", flat.mean()),
            ("MAP", grid[np.argmax(dens)] if dens.size else np.nan),
            ("SD", flat.std(ddof=1)),
            ("2.5%", q_lo),
            ("97.5%", q_hi),
            ("Rhat", rhat(x)),
            (f"Rhat (mitml, S={n_segments})", r_m),
            ("ESS bulk", ess_bulk(x)),
            ("ESS tail", ess_tail(x)),
            (f"ACF-{L}", float(np.mean(mitml_smoothed_acf(x, L, axis=1)))),
        ]
    text = "\n".join(
        f"{k:<20s}{v:>9.0f}" if k.startswith("ESS") else f"{k:<20s}{v:>9.3f}" for k, v in rows
    )
    ax_tx.axis("off")
    ax_tx.text(
        0.02,
        0.98,
        text,
        family="monospace",
        fontsize="small",
        va="top",
        ha="left",
        transform=ax_tx.transAxes,
    )
    fig.tight_layout()
    return fig
