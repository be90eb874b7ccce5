"""The convergence check that ``fit`` runs on its own chains."""

import warnings

import numpy as np

from ._rhat import rhat
from ._summary import RHAT_THRESHOLD, ConvergenceWarning


def warn_if_not_converged(chains, estimator, rhat_threshold=RHAT_THRESHOLD, stacklevel=3):
    """Emit a :class:`ConvergenceWarning` when some traced parameter has a
    rank-normalised split Rhat above ``rhat_threshold``.

    Cheap: one Rhat per parameter from the stored traces after burn-in
    (:func:`rhat`; with one chain its two halves are compared).
    Constant parameters and chains of fewer than 4 draws give no Rhat and
    are never flagged.

    Parameters
    ----------
    chains : ChainSet
        The fitted imputer's ``chains_``.
    estimator : str
        Name of the estimator, for the message.
    rhat_threshold : float, default 1.05
    stacklevel : int, default 3
        Passed to :func:`warnings.warn` (3: the caller of ``fit``).

    Returns
    -------
    bool
        True if no parameter is flagged.
    """
    draws = chains.flatten()
    if draws.shape[1] < 4 or draws.shape[2] == 0:
        return True
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.atleast_1d(rhat(draws))
    bad = np.flatnonzero(values > rhat_threshold)
    if bad.size == 0:
        return True
    names = chains.param_names()
    worst = bad[np.argsort(values[bad])[::-1][:3]]
    listed = ", ".join(f"{names[i]} {values[i]:.2f}" for i in worst)
    advice = (
        "use n_chains >= 2 so that Rhat compares independent chains"
        if chains.n_chains == 1
        else "inspect plot_trace and convergence_summary()"
    )
    warnings.warn(
        f"{estimator}: the chains may not have converged: {bad.size} of {values.size} "
        f"parameters have rank-normalised split Rhat > {rhat_threshold:g} (worst: {listed}). "
        f"Increase n_burn and n_between, and {advice}.",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )
    return False
