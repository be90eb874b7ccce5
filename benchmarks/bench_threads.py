"""One chain on one thread against the same chain on two threads.

Usage::

    python benchmarks/bench_threads.py [--rows 50000] [--clusters 200]
        [--seconds 0.5] [--repeats 10] [--threads 2] [--models continuous,mixed]

Data: :func:`skjomo.datasets.make_multilevel_data` with ``clusters``
clusters of ``rows / clusters`` rows (a quarter of every outcome missing),
fitted by ``MultilevelJointImputer`` with one chain, for two models:

* "continuous": outcomes ``y1``, ``y2`` given ``x``, level-2 outcome ``w``
  (the binary ``b`` and ``g`` dropped);
* "mixed": the dataset's model, with the binary ``b`` at level 1 and ``g``
  at level 2, whose latents are drawn by rejection samplers that stay
  serial.

After a short fit on each (which compiles or loads both chains from
numba's cache, so no compilation is timed), the fitted chain continues for
blocks of about ``seconds`` seconds, alternating one thread and
``threads`` threads (``run_chain(..., n_threads)``), ``repeats`` times
each. Times are wall-clock (threads share the process's CPU time); the
figure per setting is its fastest block, the one other work on a shared
machine disturbed least, and the speed-up is one thread over ``threads``.
"others' load" is the share of the machine's cores that other processes
used during those two blocks (from ``/proc/stat``): a speed-up measured
while they used much of the machine understates what threads give.
The script also checks that a fit gives bit-identical imputations on one
and on ``threads`` threads.
"""

import argparse
import os
import platform
import time
import warnings

import numpy as np


def _imputer(frame, n_threads, n_burn=2):
    from skjomo import MultilevelJointImputer

    return MultilevelJointImputer(
        cluster_col="cluster",
        covariate_cols=["x"],
        level2_cols=[c for c in ("w", "g") if c in frame],
        n_burn=n_burn,
        n_between=1,
        n_imputations=1,
        random_state=0,
        n_threads=n_threads,
    )


def _jiffies():
    """(busy jiffies of the whole machine, jiffies of this process)."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    with open("/proc/self/stat") as own:
        fields = own.read().rsplit(")", 1)[1].split()
    return sum(ticks) - ticks[3] - ticks[4], int(fields[11]) + int(fields[12])


def _block(run, n_threads, iterations):
    """Wall seconds per iteration of one block, and the share of the
    machine's cores that other processes used meanwhile (Linux)."""
    busy, own = _jiffies()
    start = time.perf_counter()
    run(iterations, n_threads)
    seconds = time.perf_counter() - start
    busy_after, own_after = _jiffies()
    capacity = seconds * os.sysconf("SC_CLK_TCK") * os.cpu_count()
    others = max(0.0, (busy_after - busy) - (own_after - own)) / capacity
    return seconds / iterations, others


def measure(frame, threads, seconds, repeats):
    """Fastest wall seconds per iteration on 1 and on ``threads`` threads,
    with the share of the cores other processes used during that block."""
    from skjomo._gibbs._chain import dimensions, empty_trace, new_tally, run_chain

    serial = _imputer(frame, 1).fit(frame)
    threaded = _imputer(frame, threads).fit(frame)
    if not np.array_equal(
        serial._chains.imputed, threaded._chains.imputed, equal_nan=True
    ) or not np.array_equal(serial._chains.imputed2, threaded._chains.imputed2, equal_nan=True):
        raise AssertionError(f"imputations differ between 1 and {threads} threads")
    model = serial._encoded.model
    state = serial._chains.final_states[0]
    trace = empty_trace(dimensions(model))
    tally = new_tally(state)
    rng = np.random.default_rng(1)

    def run(iterations, n_threads):
        run_chain(rng, model, state, tally, iterations, trace, 0, n_threads)

    per_iteration, _ = _block(run, 1, 20)
    iterations = max(10, int(seconds / per_iteration))
    blocks = {1: [], threads: []}
    for _ in range(repeats):
        for n in (1, threads):
            blocks[n].append(_block(run, n, iterations))
    return {n: min(b) for n, b in blocks.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of a block")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--models", default="continuous,mixed", help="comma-separated: continuous, mixed"
    )
    args = parser.parse_args(argv)
    from skjomo.datasets import make_multilevel_data

    warnings.simplefilter("ignore")  # short chains warn about convergence
    frame = make_multilevel_data(
        n_clusters=args.clusters, cluster_size=args.rows // args.clusters, random_state=0
    ).frame
    models = {"continuous": frame.drop(columns=["b", "g"]), "mixed": frame}
    models = {name: models[name] for name in args.models.split(",")}
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {len(frame):,} rows, {args.clusters} clusters"
    )
    header = (
        "model",
        "ms per iteration, 1 thread",
        f"{args.threads} threads",
        "speed-up",
        "others' load",
    )
    rows = []
    for name, data in models.items():
        best = measure(data, args.threads, args.seconds, args.repeats)
        rows.append(
            (
                name,
                f"{best[1][0] * 1e3:.2f}",
                f"{best[args.threads][0] * 1e3:.2f}",
                f"{best[1][0] / best[args.threads][0]:.2f}",
                f"{best[1][1]:.0%}, {best[args.threads][1]:.0%}",
            )
        )
    import numba

    print(f"numba {numba.__version__}, threading layer {numba.threading_layer()}")
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)
    print(rule)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print(rule)
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    print(rule)


if __name__ == "__main__":
    main()
