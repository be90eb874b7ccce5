"""Time per row-iteration and peak memory from a thousand to a million rows.

Usage::

    python benchmarks/bench_scaling.py [--sizes 1000 10000 100000 1000000]
        [--cluster-size 100] [--plot doc/_static/scaling.png]

The model is the two-level mixed model of
:func:`skjomo.datasets.make_multilevel_data` (level-1 outcomes ``y1``, ``y2``
continuous and ``b`` binary given the covariate ``x``, level-2 outcomes
``w`` continuous and ``g`` binary, a random intercept; a quarter of every
outcome missing), fitted by ``MultilevelJointImputer`` with one chain. The
columns are fixed; the rows grow with clusters of ``cluster_size`` rows
(10 to 10,000 clusters for the default sizes).

Each size runs in a process of its own, one after the other. The process
first fits a small data set (the kernels are loaded from numba's cache, or
compiled, so no compilation is timed), then draws the data and fits it with
one iteration: that fit less one iteration is the set-up (encoding, priors,
starts, summaries). The chain then continues for ``repeats`` blocks of
``k`` iterations (about 2 CPU seconds each), and the time of an iteration is
that of the fastest block over ``k``. Times are the CPU time of the process
(``time.process_time``; one chain runs on one core), which other work on a
shared machine disturbs less than wall time, and the fastest block is the
one it disturbed least.

Memory: once the data are drawn, the process's peak resident memory is
reset (Linux: ``/proc/self/clear_refs``), and the figure is its peak during
the fit and the iterations less its resident memory before them: the
encoded arrays, the state of the chain, the stored imputation and the
temporaries of the fit, on top of the user's data frame (whose size is shown
next to it). The table goes to standard output (reStructuredText) and the
log-log plot to ``--plot``.
"""

import argparse
import gc
import json
import platform
import subprocess
import sys
import time
import warnings

import numpy as np


def _status_megabytes(field):
    """``VmRSS`` (resident) or ``VmHWM`` (peak resident) of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


def _reset_peak():
    """Start the peak resident memory afresh; returns the resident memory (MB)."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # Linux >= 4.0: reset VmHWM to VmRSS
    return _status_megabytes("VmRSS")


def _fitted(frame, n_burn):
    """A fitted imputer of the benchmark's model and the CPU seconds of its fit."""
    from skjomo import MultilevelJointImputer

    imputer = MultilevelJointImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        level2_cols=["w", "g"],
        n_burn=n_burn,
        n_between=1,
        n_imputations=1,
        random_state=0,
    )
    start = time.process_time()
    imputer.fit(frame)
    return imputer, time.process_time() - start


def _iteration_seconds(imputer, iterations, repeats):
    """CPU seconds of one iteration: the fastest of ``repeats`` blocks of
    ``iterations`` iterations continuing the fitted chain."""
    from skjomo._gibbs._chain import dimensions, empty_trace, new_tally, run_chain

    model = imputer._encoded.model
    state = imputer._chains.final_states[0]
    rng, trace, tally = np.random.default_rng(1), empty_trace(dimensions(model)), new_tally(state)
    blocks = []
    for _ in range(repeats):
        start = time.process_time()
        run_chain(rng, model, state, tally, iterations, trace, 0)
        blocks.append((time.process_time() - start) / iterations)
    return min(blocks)


def measure(n_rows, cluster_size, iterations, repeats=5):
    """Set-up and per-iteration seconds and memory of one size (in this process)."""
    from skjomo.datasets import make_multilevel_data

    warnings.simplefilter("ignore")  # short chains warn about convergence
    warm = make_multilevel_data(n_clusters=10, cluster_size=20, random_state=1).frame
    _iteration_seconds(_fitted(warm, 1)[0], 2, 1)
    n_clusters = max(1, n_rows // cluster_size)
    frame = make_multilevel_data(
        n_clusters=n_clusters, cluster_size=cluster_size, random_state=0
    ).frame
    baseline = _reset_peak()
    imputer, fit_seconds = _fitted(frame, 0)  # one iteration
    per_iteration = _iteration_seconds(imputer, iterations, repeats)
    return {
        "rows": len(frame),
        "clusters": n_clusters,
        "iterations": iterations,
        "setup_s": fit_seconds - per_iteration,
        "iteration_s": per_iteration,
        "row_iteration_us": per_iteration / len(frame) * 1e6,
        "memory_mb": _status_megabytes("VmHWM") - baseline,
        "data_mb": frame.memory_usage(deep=True).sum() / 2**20,
    }


def _iterations(n_rows):
    """About 2 CPU seconds per block (about 0.1 microseconds a row-iteration)."""
    return int(min(2000, max(10, 1.5e7 // n_rows)))


def table(results):
    """The results as a reStructuredText table."""
    header = (
        "rows",
        "clusters",
        "CPU µs per row-iteration",
        "ratio to smallest",
        "CPU s per iteration",
        "set-up (CPU s)",
        "data (MB)",
        "fit's peak memory (MB)",
        "bytes per row",
    )
    first = results[0]["row_iteration_us"]
    rows = [
        (
            f"{r['rows']:,}",
            f"{r['clusters']:,}",
            f"{r['row_iteration_us']:.3f}",
            f"{r['row_iteration_us'] / first:.2f}",
            f"{r['iteration_s']:.4f}",
            f"{r['setup_s']:.2f}",
            f"{r['data_mb']:.1f}",
            f"{r['memory_mb']:.1f}",
            f"{r['memory_mb'] * 2**20 / r['rows']:.0f}",
        )
        for r in results
    ]
    widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines + [rule])


def plot(results, path):
    """Log-log plot of time per iteration and memory against rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r["rows"] for r in results]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    seconds = [r["iteration_s"] for r in results]
    axes[0].loglog(rows, seconds, "o-", label="measured")
    axes[0].loglog(rows, [seconds[0] * n / rows[0] for n in rows], "--", label="linear in rows")
    axes[0].set(xlabel="rows", ylabel="CPU seconds per iteration", title="Time per iteration")
    memory = [r["memory_mb"] for r in results]
    axes[1].loglog(rows, memory, "o-", label="measured")
    axes[1].loglog(rows, [memory[-1] * n / rows[-1] for n in rows], "--", label="linear in rows")
    axes[1].set(xlabel="rows", ylabel="MB above the data", title="Peak memory of a fit")
    for ax in axes:
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**3, 10**4, 10**5, 10**6])
    parser.add_argument("--cluster-size", type=int, default=100)
    parser.add_argument("--plot", default=None, help="where to save the log-log plot (PNG)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one, args.cluster_size, _iterations(args.one))))
        return
    results = []
    for n_rows in args.sizes:  # one process per size, one at a time
        command = [sys.executable, __file__, "--one", str(n_rows)]
        command += ["--cluster-size", str(args.cluster_size)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(table(results))
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
