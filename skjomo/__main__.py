"""Command line entry point: ``skjomo demo``, ``skjomo impute`` and ``skjomo warmup``.

The demo imputes the bundled JSPmiss data with a joint model and prints the
pooled analysis a statistician would run next. ``impute`` imputes a CSV (or
Stata) file under a model stated as a formula and writes the imputations in
long format (doc/formula.rst, "From the command line"). ``warmup`` compiles
the sampler's numba kernels ahead of time (for container images and CI).

Exit codes: 0 success; 1 the data or the model is wrong (a missing file, an
unknown column, a bad formula), with a one-line message; 2 a bad command
line (argparse).
"""

import argparse
import logging
import sys
import time
from pathlib import Path


def demo(n_imputations=20, random_state=2026):
    """Impute JSPmiss and print pooled estimates of english ~ ravens + sex + fluent.

    Parameters
    ----------
    n_imputations : int, default=20
        Number of imputed data sets.
    random_state : int, default=2026
        Seed of the sampler.

    Returns
    -------
    pooled : skjomo.pooling.PooledEstimates
    """
    import statsmodels.formula.api as smf

    from . import JointModelImputer
    from .datasets import load_jspmiss
    from .pooling import pool_estimates

    data = load_jspmiss()[["english", "ravens", "fluent", "sex"]]
    print("JSPmiss: 1119 pupils; missing values per column:")
    print(data.isna().sum().to_string(), "\n")
    imputer = JointModelImputer(
        covariate_cols=["sex"],
        n_burn=1000,
        n_between=100,
        n_imputations=n_imputations,
        random_state=random_state,
    )
    start = time.perf_counter()
    datasets = imputer.fit(data).sample()
    seconds = time.perf_counter() - start
    print(
        f"Joint model english, ravens, fluent ~ sex: {imputer.n_iter_} Gibbs "
        f"iterations, {n_imputations} imputations in {seconds:.2f} s.\n"
    )
    print("Posterior means of the fixed effects:")
    print(imputer.beta_.round(3).to_string(), "\n")
    fits = [smf.ols("english ~ ravens + sex + C(fluent)", data=d).fit() for d in datasets]
    pooled = pool_estimates(fits)
    print(
        "Analysis: OLS english ~ ravens + sex + fluent on each data set, pooled by Rubin's rules."
    )
    print(pooled)
    return pooled


def _read(path):
    """A data file as a DataFrame (CSV, or Stata ``.dta``)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} not found")
    if path.suffix.lower() == ".dta":
        return pd.read_stata(path)
    return pd.read_csv(path)


def impute(
    data,
    formula,
    level2_formula=None,
    n_imputations=20,
    out=None,
    group=None,
    seed=None,
    n_burn=1000,
    n_between=100,
    cov_method="common",
    n_chains=1,
):
    """Impute a data file under a formula and write the long format.

    Parameters
    ----------
    data : str or path-like
        CSV file (or Stata ``.dta``).
    formula : str
        The imputation model, e.g. ``"y1 + y2 ~ x + (1 | cluster)"``.
    level2_formula : str, default=None
        Outcomes measured on clusters, e.g. ``"w ~ v"``.
    n_imputations : int, default=20
        Imputations to draw.
    out : str or path-like, default=None
        Output CSV: long format, an ``imputation`` column first, the original
        data as imputation 0. ``None`` writes nothing.
    group : str, default=None
        Impute separately within each level of this column.
    seed : int, default=None
        Seed of the sampler.
    n_burn, n_between, n_chains : int
        Burn-in, iterations between imputations, chains.
    cov_method : {"common", "fixed", "random"}, default="common"
        Level-1 covariance of a two-level model.

    Returns
    -------
    ImputationList
        The imputations.
    """
    from . import JointModelImputer, MultilevelJointImputer
    from ._formula import parse_formula

    frame = _read(data)
    formula = formula if level2_formula is None else (formula, level2_formula)
    run = dict(
        formula=formula,
        group_col=group,
        n_imputations=n_imputations,
        random_state=seed,
        n_burn=n_burn,
        n_between=n_between,
        n_chains=n_chains,
        verbose=1,
    )
    if parse_formula(formula).cluster is None:
        imputer = JointModelImputer(**run)
    else:
        imputer = MultilevelJointImputer(cov_method=cov_method, **run)
    start = time.perf_counter()
    implist = imputer.fit(frame).sample()
    print(
        f"Imputed {int(implist.imputed_mask.to_numpy().sum())} missing values, "
        f"{n_imputations} times, in {time.perf_counter() - start:.1f} s.\n"
    )
    print(imputer.summary())
    if out is not None:
        implist.to_csv(out, index=False)
        print(
            f"\nWrote {out}: {len(frame)} rows x {n_imputations + 1} (the original as "
            "imputation 0), long format."
        )
    return implist


def main(argv=None):
    """Run the command line interface (returns the exit code)."""
    parser = argparse.ArgumentParser(prog="skjomo")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("demo", help="impute the bundled JSPmiss data and pool an analysis")
    run.add_argument("-m", "--n-imputations", type=int, default=20)
    run.add_argument("--seed", type=int, default=2026)
    imp = sub.add_parser(
        "impute",
        help="impute a CSV file under a formula, write long format",
        description="Impute a CSV (or .dta) file under a joint model stated "
        "as a formula; print the roles and the convergence summary; write "
        "the imputations in long format (original = imputation 0).",
    )
    imp.add_argument("data", help="CSV or .dta file")
    imp.add_argument("--formula", required=True, help='e.g. "y1 + y2 ~ x + (1 | cluster)"')
    imp.add_argument("--level2-formula", help='outcomes measured on clusters, e.g. "w ~ v"')
    imp.add_argument("-m", "--n-imputations", type=int, default=20)
    imp.add_argument("--out", help="output CSV (long format)")
    imp.add_argument("--group", help="impute separately within each level of this column")
    imp.add_argument("--seed", type=int)
    imp.add_argument("--burn", type=int, default=1000, help="burn-in iterations")
    imp.add_argument("--between", type=int, default=100, help="iterations between imputations")
    imp.add_argument("--chains", type=int, default=1)
    imp.add_argument("--cov-method", choices=["common", "fixed", "random"], default="common")
    sub.add_parser("warmup", help="compile the sampler's numba kernels into numba's cache")
    args = parser.parse_args(argv)
    _show_notes()
    if args.command == "demo":
        demo(n_imputations=args.n_imputations, random_state=args.seed)
        return 0
    if args.command == "warmup":
        from ._warmup import warmup

        warmup()
        return 0
    try:
        impute(
            args.data,
            args.formula,
            args.level2_formula,
            args.n_imputations,
            args.out,
            args.group,
            args.seed,
            args.burn,
            args.between,
            args.cov_method,
            args.chains,
        )
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"skjomo impute: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a message is emitted."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _show_notes():
    """Show the ``skjomo`` logger's notes (such as "compiling ...") on stderr."""
    logger = logging.getLogger("skjomo")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
