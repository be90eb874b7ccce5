"""Chains, groups and the m analysis fits on a dask distributed cluster.

A ``LocalCluster`` on the loopback interface (2 workers speaking TCP, so
every task and its result are serialised as they would be for workers on
other machines) runs a ``MultipleImputationPipeline`` whose imputer fits
two groups with two chains each, under joblib's dask backend. The
imputations (their fingerprint) and the pooled results must be identical
to the local run with the same seed, and the cluster's task stream must
show that the chains, the groups and the analysis fits ran on its workers
(doc/distributed.rst). Those workers are threads of this process; a worker
in a process of its own must load the sampler's kernels from numba's
on-disk cache, not compile them again.
"""

import re
from collections import Counter

import joblib
import pandas as pd
import pytest
from distributed import Client, LocalCluster, get_task_stream

from skjomo import (
    JointModelImputer,
    MultilevelJointImputer,
    MultipleImputationPipeline,
    StatsmodelsModel,
)
from skjomo._warmup import warmup
from skjomo.datasets import load_jspmiss

SHORT = dict(n_burn=10, n_between=2, random_state=5)
M = 3


def _loopback_cluster(n_workers, processes):
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=processes,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # a free port, on loopback only
    )


@pytest.fixture(scope="module")
def client():
    # threads of this process: quick to start; tasks still cross TCP (pickled)
    with _loopback_cluster(2, processes=False) as cluster, Client(cluster) as client:
        yield client


def _pipeline():
    imputer = JointModelImputer(group_col="sex", n_chains=2, n_imputations=M, **SHORT)
    return MultipleImputationPipeline(
        imputer, StatsmodelsModel("english ~ ravens + behaviour"), n_imputations=M, random_state=1
    )


def _calls(task_stream):
    """Number of calls of each function in the tasks that ran on the workers
    (joblib names a task ``batch_of_<function>_<n>_calls-<id>``)."""
    calls = Counter()
    for task in task_stream:
        found = re.match(r"batch_of_(\w+?)_(\d+)_calls-", task["key"])
        if found:
            calls[found.group(1)] += int(found.group(2))
    return calls


def test_pipeline_on_a_cluster_equals_the_local_run(client):
    data = load_jspmiss()[["sex", "fluent", "ravens", "english", "behaviour"]]
    X, y = data.drop(columns="english"), data["english"]
    local = _pipeline().fit(X, y)
    with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = _pipeline().fit(X, y)
    assert remote.imputation_fingerprint_ == local.imputation_fingerprint_
    pd.testing.assert_frame_equal(remote.pooled_.to_frame(), local.pooled_.to_frame())
    assert list(remote.imputer_.groups_) == [0, 1]
    # 2 groups x 2 chains; 2 group fits + M analysis fits (both named _fit_one)
    assert _calls(stream.data) == {"_run_one_chain": 4, "_fit_one": 2 + M}


def test_multilevel_chains_and_their_continuation_on_a_cluster_equal_the_local_run(client):
    data = load_jspmiss()[["school", "english", "ravens", "sex"]]
    imputer = MultilevelJointImputer(cluster_col="school", n_chains=2, n_imputations=4, **SHORT)
    local = imputer.fit(data).sample(6)  # 4 stored imputations, the chains continued for 2
    with get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        remote = imputer.fit(data).sample(6)
    assert len(remote) == 6
    for ours, theirs in zip(remote, local):
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert _calls(stream.data) == {"_run_one_chain": 2 + 2}


@pytest.mark.slow  # starts a worker process (about 20 s); the thread tests stay in the suite
def test_a_worker_process_loads_the_kernels_from_the_cache():
    warmup(verbose=False)  # the cache is filled (a no-op when it is)
    with _loopback_cluster(1, processes=True) as cluster, Client(cluster) as client:
        compiled = client.run(warmup, False)  # every kind of fit, in the worker
    assert list(compiled.values()) == [0]
