"""Convergence diagnostics for the MCMC chains of the imputation models.

Array-level statistics (numpy / scipy; vectorised over parameters):

* :func:`rhat` -- rank-normalised split Rhat (Vehtari et al. 2021);
* :func:`ess_bulk`, :func:`ess_tail`, :func:`ess_mean` -- effective sample sizes
  (:func:`rank_diagnostics`: Rhat, bulk and tail ESS in one pass);
* :func:`mitml_rhat` -- mitml's single-chain Rhat (reproduces mitml's numbers);
* :func:`autocorrelation`, :func:`mitml_smoothed_acf`, :func:`moving_average`.

Chains of a fitted imputer are held in a :class:`ChainSet`, summarised by
:func:`summarize_convergence` / :func:`summarize_autocorrelation`, checked by
:func:`check_convergence` (which emits :class:`ConvergenceWarning`), plotted
by :func:`plot_trace`, :func:`plot_autocorrelation`, :func:`plot_density` and
:func:`plot_diagnostics` (matplotlib, ``pip install skjomo[plots]``) and
exported by :func:`to_inference_data` (arviz, ``pip install skjomo[diagnostics]``).
"""

from ._acf import autocorrelation, mitml_smoothed_acf, moving_average
from ._arviz import to_inference_data
from ._chains import SYMMETRIC_GROUPS, ChainSet, Param
from ._ess import ess_bulk, ess_mean, ess_tail, rank_diagnostics
from ._plots import plot_autocorrelation, plot_density, plot_diagnostics, plot_trace
from ._rhat import mitml_rhat, rhat
from ._summary import (
    ConvergenceSummary,
    ConvergenceWarning,
    check_convergence,
    summarize_autocorrelation,
    summarize_convergence,
)

__all__ = [
    "ChainSet",
    "Param",
    "SYMMETRIC_GROUPS",
    "rhat",
    "mitml_rhat",
    "ess_bulk",
    "ess_tail",
    "ess_mean",
    "rank_diagnostics",
    "autocorrelation",
    "mitml_smoothed_acf",
    "moving_average",
    "summarize_convergence",
    "summarize_autocorrelation",
    "check_convergence",
    "ConvergenceSummary",
    "ConvergenceWarning",
    "plot_trace",
    "plot_autocorrelation",
    "plot_density",
    "plot_diagnostics",
    "to_inference_data",
]
