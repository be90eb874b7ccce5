"""Cold-start cost: numba compilation per kernel and ``import skjomo`` time.

Usage::

    python benchmarks/bench_compile.py [--scenarios demo all ...] [--top 25]
                                       [--json results.json]

Each scenario runs in a fresh Python process whose numba cache is an empty
temporary directory (``NUMBA_CACHE_DIR``), so every kernel it needs is
compiled from scratch, as after a fresh installation. The child process
listens to numba's ``numba:compile`` events and records the CPU time
(``time.process_time``) of every compilation, with the kernel and its
signature; a kernel compiled while compiling its caller is nested in the
caller's event, so the *exclusive* time of an event is its time minus that
of the compilations nested in it. Reported per scenario:

* the CPU seconds of the whole scenario and of compilation (the outermost
  compile events), and the number of compiled specialisations;
* per kernel: exclusive compile CPU seconds, the number of signatures it was
  compiled for and, when there are several, how they differ (array layout
  ``C``/``A``, dtypes);
* ``import skjomo``: CPU and wall seconds of the import in a fresh process
  (best of five), and of ``from skjomo import JointModelImputer``.

Scenarios: ``demo`` (the model of ``python -m skjomo demo``: JSPmiss
english, ravens, fluent ~ sex, single level, fit and sample), ``single``,
``multilevel``, ``hetero_fixed``, ``hetero_random`` (fit, sample and
transform of new rows with each estimator), ``all`` (those four in one
process: every estimator of the package) and ``warmup`` (``python -m skjomo
warmup``, when the package has that command). ``kind_*`` (or ``kinds`` for
all of them): each kind of model of the warm-up (:data:`skjomo._warmup.KINDS`:
single level, single level with a compatible analysis model, two-level
joint models, two-level compatible) in a process of its own, what a user of
that kind compiles. ``--opt N`` sets ``NUMBA_OPT`` (default: numba's, 3, as
for a user; the test suite uses 1), ``--repeat N`` runs each scenario N
times (the machine's load moves CPU times too).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

SCENARIOS = ("demo", "single", "multilevel", "hetero_fixed", "hetero_random", "all")
# the kinds of model of ``python -m skjomo warmup`` (skjomo._warmup.KINDS),
# each in a process of its own: what a user of one kind compiles
KIND_SCENARIOS = {
    "kind_single": "_single_level",
    "kind_single_compatible": "_single_level_compatible",
    "kind_two_level": "_two_level",
    "kind_two_level_compatible": "_two_level_compatible",
}


# ---------------------------------------------------------------- child side


def _scenario_demo():
    import contextlib
    import io

    from skjomo.__main__ import demo

    with contextlib.redirect_stdout(io.StringIO()):
        demo(n_imputations=20, random_state=2026)


def _jsp(columns):
    from skjomo.datasets import load_jspmiss

    return load_jspmiss()[columns]


def _fit_sample_transform(imputer, data):
    imputer.fit(data)
    imputer.sample(n_imputations=2)
    imputer.transform(data.iloc[:60])


def _scenario_single():
    from skjomo import JointModelImputer

    _fit_sample_transform(
        JointModelImputer(
            covariate_cols=["sex"], n_burn=20, n_between=5, n_imputations=2, random_state=0
        ),
        _jsp(["english", "ravens", "fluent", "sex"]),
    )


def _scenario_multilevel():
    from skjomo import MultilevelJointImputer
    from skjomo.datasets import load_examscores

    data = load_examscores()[["school", "normexam", "standlrt", "vrband", "sex", "avslrt", "schav"]]
    imputer = MultilevelJointImputer(
        cluster_col="school",
        covariate_cols=["sex"],
        level2_cols=["avslrt", "schav"],
        n_burn=20,
        n_between=5,
        n_imputations=2,
        random_state=0,
    )
    imputer.fit(data)
    imputer.sample(n_imputations=2)
    imputer.transform(data.iloc[:200])


def _scenario_hetero(method):
    from skjomo import HeteroscedasticMultilevelImputer

    _fit_sample_transform(
        HeteroscedasticMultilevelImputer(
            cluster_col="school",
            cov_method=method,
            covariate_cols=["sex"],
            n_burn=20,
            n_between=5,
            n_imputations=2,
            random_state=0,
        ),
        _jsp(["school", "english", "ravens", "fluent", "sex"]),
    )


def _scenario_all():
    _scenario_single()
    _scenario_multilevel()
    _scenario_hetero("fixed")
    _scenario_hetero("random")


def _scenario_warmup():
    from skjomo.__main__ import main

    main(["warmup"])


def _kind(function):
    def run():
        from skjomo import _warmup

        _warmup._compile_kinds([(getattr(_warmup, function), False)])

    return run


def _kernel_name(dispatcher):
    func = dispatcher.py_func
    module = func.__module__.replace("skjomo._gibbs.", "")
    return f"{module}.{func.__qualname__}"


def _describe_args(args):
    return ", ".join(str(a) for a in args)


def run_child(scenario):
    """Run one scenario and print its compile events as JSON."""
    import numba.core.event as ev

    events = []
    stack = []

    class Recorder(ev.Listener):
        def on_start(self, event):
            stack.append([time.process_time(), 0.0])

        def on_end(self, event):
            start, nested = stack.pop()
            seconds = time.process_time() - start
            if stack:
                stack[-1][1] += seconds
            data = event.data
            events.append(
                {
                    "kernel": _kernel_name(data["dispatcher"]),
                    "signature": _describe_args(data["args"]),
                    "inclusive": seconds,
                    "exclusive": seconds - nested,
                    "outermost": not stack,
                }
            )

    start = time.process_time()
    with ev.install_listener("numba:compile", Recorder()):
        {
            "demo": _scenario_demo,
            "single": _scenario_single,
            "multilevel": _scenario_multilevel,
            "hetero_fixed": lambda: _scenario_hetero("fixed"),
            "hetero_random": lambda: _scenario_hetero("random"),
            "all": _scenario_all,
            "warmup": _scenario_warmup,
            **{name: _kind(function) for name, function in KIND_SCENARIOS.items()},
        }[scenario]()
    total = time.process_time() - start
    print("@@RESULT@@" + json.dumps({"scenario": scenario, "cpu": total, "events": events}))


def import_child(statement):
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    exec(statement, {})
    print(
        "@@RESULT@@"
        + json.dumps(
            {"cpu": time.process_time() - start_cpu, "wall": time.perf_counter() - start_wall}
        )
    )


# --------------------------------------------------------------- parent side


def _child(args, cache_dir, opt=None):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env.pop("NUMBA_OPT", None)  # numba's default (3) unless --opt
    if opt is not None:
        env["NUMBA_OPT"] = str(opt)
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    line = [x for x in out.stdout.splitlines() if x.startswith("@@RESULT@@")][-1]
    return json.loads(line[len("@@RESULT@@") :])


def measure_import(repeats=5):
    """Best CPU / wall seconds of two import statements in fresh processes
    (after one untimed run that warms the operating system's file cache)."""
    result = {}
    with tempfile.TemporaryDirectory() as cache:
        for statement in ("import skjomo", "from skjomo import JointModelImputer"):
            _child(["--import", statement], cache)
            runs = [_child(["--import", statement], cache) for _ in range(repeats)]
            result[statement] = {
                "cpu": min(r["cpu"] for r in runs),
                "wall": min(r["wall"] for r in runs),
            }
    return result


def measure_scenario(scenario, opt=None):
    with tempfile.TemporaryDirectory() as cache:
        return _child(["--child", scenario], cache, opt)


def summarize(result):
    """Totals and per-kernel rows of one scenario."""
    events = result["events"]
    compile_cpu = sum(e["inclusive"] for e in events if e["outermost"])
    kernels = defaultdict(lambda: {"exclusive": 0.0, "signatures": []})
    for e in events:
        k = kernels[e["kernel"]]
        k["exclusive"] += e["exclusive"]
        k["signatures"].append(e["signature"])
    return {
        "scenario": result["scenario"],
        "cpu": result["cpu"],
        "compile_cpu": compile_cpu,
        "n_compiled": len(events),
        "n_kernels": len(kernels),
        "kernels": dict(kernels),
    }


def _print_summary(summary, top):
    print(
        f"\n== {summary['scenario']}: {summary['cpu']:.1f} s CPU in all, "
        f"{summary['compile_cpu']:.1f} s compiling {summary['n_compiled']} specialisations "
        f"of {summary['n_kernels']} kernels"
    )
    rows = sorted(summary["kernels"].items(), key=lambda kv: -kv[1]["exclusive"])
    print(f"   {'kernel':<58} {'CPU s':>6} {'sigs':>4}")
    for name, k in rows[:top]:
        print(f"   {name:<58} {k['exclusive']:6.2f} {len(k['signatures']):4d}")
    multi = [(n, k) for n, k in rows if len(k["signatures"]) > 1]
    if multi:
        print("   kernels compiled for several signatures:")
        for name, k in multi:
            print(f"   - {name}:")
            for sig in k["signatures"]:
                print(f"       ({sig[:150]}{'...' if len(sig) > 150 else ''})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios",
        nargs="*",
        default=["demo", "all"],
        choices=SCENARIOS + tuple(KIND_SCENARIOS) + ("kinds", "warmup"),
        help="'kinds': every kind_* scenario (one kind of model per process)",
    )
    parser.add_argument("--opt", type=int, help="NUMBA_OPT of the scenarios (default: numba's)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each scenario")
    parser.add_argument("--no-import", action="store_true", help="skip the import timing")
    parser.add_argument("--top", type=int, default=25, help="kernels listed per scenario")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--import", dest="import_statement", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return run_child(args.child)
    if args.import_statement:
        return import_child(args.import_statement)

    report = {}
    if not args.no_import:
        report["import"] = measure_import()
        for statement, t in report["import"].items():
            print(
                f"{statement}: {t['cpu']:.2f} s CPU, {t['wall']:.2f} s wall "
                "(best of 5, fresh processes)"
            )
    report["scenarios"] = []
    scenarios = []
    for scenario in args.scenarios:
        scenarios += list(KIND_SCENARIOS) if scenario == "kinds" else [scenario]
    for scenario in scenarios:
        for _ in range(args.repeat):
            summary = summarize(measure_scenario(scenario, args.opt))
            report["scenarios"].append(summary)
            _print_summary(summary, args.top)
    print("\nscenario                        compile CPU s  compiles  (all CPU s)")
    for summary in report["scenarios"]:
        print(
            f"{summary['scenario']:<32}{summary['compile_cpu']:>13.1f}"
            f"{summary['n_compiled']:>10d}  ({summary['cpu']:.1f})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
