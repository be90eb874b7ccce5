"""Wall time of several chains run in parallel against one after another.

Usage::

    python benchmarks/bench_parallel_chains.py [--chains 2] [--iterations 4000]

Fits MultilevelJointImputer on JSPmiss (english, ravens, fluent ~ sex, random
intercept by school) with ``n_chains`` chains, once with ``n_jobs=1`` and once
with ``n_jobs=n_chains``, after a warm-up fit that fills the numba cache in
the worker processes, and prints the ratio parallel / sequential (the goal is
at most 0.6 for 2 chains on 2 cores). Both runs give identical imputations.
"""

import argparse
import time

import numpy as np

from skjomo import MultilevelJointImputer
from skjomo.datasets import load_jspmiss


def fit_seconds(data, n_chains, n_jobs, iterations):
    imputer = MultilevelJointImputer(
        cluster_col="school",
        covariate_cols=["sex"],
        n_burn=iterations,
        n_between=10,
        n_imputations=n_chains,
        n_chains=n_chains,
        n_jobs=n_jobs,
        random_state=0,
    )
    start = time.perf_counter()
    imputer.fit(data)
    return time.perf_counter() - start, imputer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=4000)
    args = parser.parse_args(argv)
    data = load_jspmiss()[["school", "english", "ravens", "fluent", "sex"]]
    fit_seconds(data, args.chains, args.chains, 20)  # warm up workers and caches
    sequential, one = fit_seconds(data, args.chains, 1, args.iterations)
    parallel, many = fit_seconds(data, args.chains, args.chains, args.iterations)
    assert np.array_equal(one._chains.imputed, many._chains.imputed)
    print(
        f"{args.chains} chains x {args.iterations} iterations: sequential {sequential:.2f} s, "
        f"parallel {parallel:.2f} s, ratio {parallel / sequential:.2f}"
    )


if __name__ == "__main__":
    main()
