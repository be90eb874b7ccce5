"""Smallest bulk effective sample size per parameter group, and per second.

Usage::

    python benchmarks/bench_ess.py [--models single,common,fixed,random]
                                   [--draws 1000] [--between 20] [--burn 1000]
                                   [--seed 0] [--json out.json]

The JSPmiss mixed model ``english, ravens, fluent ~ sex`` (``fluent`` has
three categories, two of them rare) is fitted with

* ``single``: :class:`skjomo.JointModelImputer` (one level);
* ``common``: :class:`skjomo.MultilevelJointImputer` (school random
  intercepts, common level-1 covariance);
* ``fixed`` / ``random``: :class:`skjomo.HeteroscedasticMultilevelImputer`
  with ``cov_method="fixed"`` / ``"random"``.

Each fit runs 2 chains one after the other (``n_jobs=1``, so the wall time
is the cost of both) of ``--burn`` iterations, then ``--draws`` draws
``--between`` iterations apart. The stored traces are thinned to those
draws and the rank-normalised bulk ESS and split Rhat of every parameter
are computed (:func:`skjomo.diagnostics.rank_diagnostics`). Printed per
model and parameter group (``beta``, ``omega``, ``sigma``, ``u_mean``,
``a``): the smallest bulk ESS, the largest Rhat, the worst parameter, and
the smallest bulk ESS per second of fit time. ``tests/test_latent_mixing.py``
runs the same design under ``-m slow``.
"""

import argparse
import json
import time

import numpy as np

from skjomo import HeteroscedasticMultilevelImputer, JointModelImputer, MultilevelJointImputer
from skjomo.datasets import load_jspmiss
from skjomo.diagnostics import ChainSet, summarize_convergence

MODELS = ("single", "common", "fixed", "random")
GROUPS = ("beta", "omega", "sigma", "u_mean", "a")


def jsp_mixed():
    """JSPmiss columns of the design (school, sex and the three outcomes)."""
    return load_jspmiss()[["school", "english", "ravens", "fluent", "sex"]]


def make_imputer(model, n_draws=1000, n_between=20, n_burn=1000, seed=0):
    """The imputer of ``model`` (see the module docstring), 2 chains."""
    common = dict(
        covariate_cols=["sex"],
        n_burn=n_burn,
        n_between=n_between,
        n_imputations=2 * n_draws,
        n_chains=2,
        n_jobs=1,
        random_state=seed,
    )
    if model == "single":
        return JointModelImputer(exclude_cols=["school"], **common)
    if model == "common":
        return MultilevelJointImputer(cluster_col="school", **common)
    if model in ("fixed", "random"):
        return HeteroscedasticMultilevelImputer(cluster_col="school", cov_method=model, **common)
    raise ValueError(f"unknown model {model!r}; expected one of {MODELS}")


def thinned_chains(imputer):
    """The imputer's chains after burn-in, one draw every ``n_between`` iterations
    (the iterations whose state is kept as an imputation)."""
    chains = imputer.chains_
    step = imputer.n_between
    return ChainSet(
        {g: chains[g][:, step - 1 :: step] for g in chains.group_names},
        {g: chains.labels(g) for g in chains.group_names},
        symmetric=list(chains.symmetric),
    )


def measure(model, n_draws=1000, n_between=20, n_burn=1000, seed=0):
    """Fit ``model`` and return its per-group convergence figures.

    Returns
    -------
    dict
        ``seconds`` (fit wall time), and per group in ``groups``:
        ``ess_bulk_min``, ``rhat_max``, ``worst`` (the parameter with the
        smallest bulk ESS) and ``ess_per_second``.
    """
    imputer = make_imputer(model, n_draws, n_between, n_burn, seed)
    data = jsp_mixed()
    start = time.perf_counter()
    imputer.fit(data)
    seconds = time.perf_counter() - start
    table = summarize_convergence(thinned_chains(imputer)).table
    table = table[~(table["sd"] == 0)]  # fixed latent variances and covariances
    groups = {}
    for group in GROUPS:
        sub = table[table["group"] == group]
        if len(sub):
            groups[group] = {
                "ess_bulk_min": float(sub["ess_bulk"].min()),
                "rhat_max": float(sub["rhat"].max()),
                "worst": str(sub["ess_bulk"].idxmin()),
                "ess_per_second": float(sub["ess_bulk"].min() / seconds),
            }
    return {
        "model": model,
        "seconds": seconds,
        "groups": groups,
        "ess_bulk_min": min(g["ess_bulk_min"] for g in groups.values()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--between", type=int, default=20)
    parser.add_argument("--burn", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    # fill the numba cache before timing
    make_imputer("random", 5, 2, 5).fit(jsp_mixed())
    results = []
    for model in args.models.split(","):
        result = measure(model, args.draws, args.between, args.burn, args.seed)
        results.append(result)
        print(f"{model}: {result['seconds']:.1f} s, smallest bulk ESS {result['ess_bulk_min']:.0f}")
        for group, row in result["groups"].items():
            print(
                f"  {group:<7} ESS {row['ess_bulk_min']:7.0f}  Rhat {row['rhat_max']:.3f}  "
                f"ESS/s {row['ess_per_second']:7.1f}  worst {row['worst']}"
            )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
