"""Command line entry point: ``python -m skjomo demo`` and ``warmup``.

The demo imputes the bundled JSPmiss data with a joint model and prints the
pooled analysis a statistician would run next. ``warmup`` compiles the
sampler's numba kernels ahead of time (for container images and CI).
"""

import argparse
import logging
import sys
import time


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
    imputer = JointModelImputer(covariate_cols=["sex"], n_burn=1000, n_between=100,
                                n_imputations=n_imputations, random_state=random_state)
    start = time.perf_counter()
    datasets = imputer.fit(data).sample()
    seconds = time.perf_counter() - start
    print(f"Joint model english, ravens, fluent ~ sex: {imputer.n_iter_} Gibbs "
          f"iterations, {n_imputations} imputations in {seconds:.2f} s.\n")
    print("Posterior means of the fixed effects:")
    print(imputer.beta_.round(3).to_string(), "\n")
    fits = [smf.ols("english ~ ravens + sex + C(fluent)", data=d).fit() for d in datasets]
    pooled = pool_estimates(fits)
    print("Analysis: OLS english ~ ravens + sex + fluent on each data set, pooled by "
          "Rubin's rules.")
    print(pooled)
    return pooled


def main(argv=None):
    """Run the command line interface."""
    parser = argparse.ArgumentParser(prog="python -m skjomo")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("demo", help="impute the bundled JSPmiss data and pool an analysis")
    run.add_argument("-m", "--n-imputations", type=int, default=20)
    run.add_argument("--seed", type=int, default=2026)
    sub.add_parser("warmup", help="compile the sampler's numba kernels into numba's cache")
    args = parser.parse_args(argv)
    _show_notes()
    if args.command == "demo":
        demo(n_imputations=args.n_imputations, random_state=args.seed)
    elif args.command == "warmup":
        from ._warmup import warmup

        warmup()
    return 0


def _show_notes():
    """Show the ``skjomo`` logger's notes (such as "compiling ...") on stderr."""
    logger = logging.getLogger("skjomo")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
