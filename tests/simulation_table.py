"""What the simulation studies of compatible imputation share: the table of
bias and coverage, the command-line arguments and the printed report.

Every study (``tests/smc_*_simulation.py``) fits each replicate with several
methods (complete data, compatible imputation, the plain joint model, ...)
and reports, per method and term: the bias of the pooled estimate and its
Monte Carlo standard error, the empirical standard deviation of the
estimates, the mean pooled standard error and the coverage of the 95%
intervals.
"""

import argparse
import time

import numpy as np


def term_rows(method, terms, truth, point, se, covered, spread=None, **columns):
    """One table row per term of one method.

    Parameters
    ----------
    method : str
        The method's label.
    terms : sequence of str
        Term names, in the order of the columns of the arrays.
    truth : array of shape (n_terms,)
        True values, on the scale of ``point``.
    point : array of shape (n_replicates, n_terms)
        Pooled estimates: bias and its Monte Carlo standard error.
    se : array of shape (n_replicates, n_terms)
        Pooled standard errors (on the scale of ``spread``).
    covered : bool array of shape (n_replicates, n_terms)
        Whether each 95% interval covers the truth.
    spread : array of shape (n_replicates, n_terms), optional
        Estimates whose standard deviation is compared with ``se`` (for
        variances, their logarithm when ``se`` is on the log scale);
        ``point`` by default.
    **columns : arrays of shape (n_terms,)
        Further columns of the rows.
    """
    reps = point.shape[0]
    spread = point if spread is None else spread
    rows = []
    for t, term in enumerate(terms):
        row = {
            "method": method,
            "term": term,
            "reps": reps,
            "bias": point[:, t].mean() - truth[t],
            "mcse": point[:, t].std(ddof=1) / np.sqrt(reps),
            "emp_se": spread[:, t].std(ddof=1),
            "mean_se": se[:, t].mean(),
            "coverage": covered[:, t].mean(),
        }
        row.update({name: values[t] for name, values in columns.items()})
        rows.append(row)
    return rows


def study_parser(doc, reps=200, imputations=5):
    """Arguments of a study's ``main``: ``--reps``, ``--seed`` and (unless
    ``imputations`` is None) ``--imputations``; add more to the result."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--reps", type=int, default=reps)
    parser.add_argument("--seed", type=int, default=0)
    if imputations is not None:
        parser.add_argument("--imputations", type=int, default=imputations)
    return parser


def report(header, table, start):
    """Print ``header`` with the seconds since ``start``, then ``table``."""
    print(f"{header}, {time.time() - start:.0f} s")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
