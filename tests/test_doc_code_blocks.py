"""Every Python code block of the user-facing pages runs (doc/ and README).

The blocks are executed in order, one namespace per page, with short chains
(the estimators' run lengths are capped: this checks that the code runs and
that the API the pages show exists, not the numbers, which the executed
gallery checks). A block that uses data the page assumes the reader has
(``data``, ``datasets``, ``X``, ``y``) gets a small prelude defined here; a
dask scheduler address is replaced by a local in-process cluster. A new
code block must be registered in ``PRELUDES`` (the count is checked).
"""

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skjomo import MultipleImputationPipeline
from skjomo._base import BaseJointImputer

ROOT = Path(__file__).resolve().parents[1]

_SIMULATED_XY = """
import numpy as np, pandas as pd
_rng = np.random.default_rng(0)
_n = 200
data = pd.DataFrame({"x1": _rng.normal(size=_n), "x2": _rng.normal(size=_n)})
data["y"] = 1 + data.x1 + data.x2 + data.x1 * data.x2 + _rng.normal(size=_n)
data.loc[_rng.random(_n) < 0.3, "x1"] = np.nan
"""

_POOLING_DATASETS = """
import numpy as np, pandas as pd
from skjomo import JointModelImputer
_rng = np.random.default_rng(1)
_frame = pd.DataFrame(_rng.normal(size=(60, 3)), columns=["x1", "x2", "x3"])
_frame["y"] = _frame.x1 + 0.5 * _frame.x2 + _rng.normal(size=60)
_frame.loc[_rng.random(60) < 0.2, "x2"] = np.nan
datasets = JointModelImputer(random_state=0).fit(_frame).sample(5)
"""

_POOLING_ARRAYS = """
import numpy as np
from skjomo.pooling import (
    pool_chi2, pool_estimates, pool_lrt, pool_stacked_lrt, pool_wald,
)
_rng = np.random.default_rng(2)
Q = _rng.normal(size=(5, 3))
U = np.stack([np.eye(3) * 0.1] * 5)
V = np.full((5, 3), 0.1)
statistics = _rng.chisquare(2, size=5) + 3
k = 2
l_full = -100 + _rng.normal(size=5)
l_null = l_full - 4
l_full_pooled, l_null_pooled = l_full + 0.1, l_null + 0.1
l_full_stacked, l_null_stacked = 5 * l_full.mean(), 5 * l_null.mean()
"""

_JSP_XY = """
from skjomo.datasets import load_jspmiss
_jsp = load_jspmiss()
X, y = _jsp[["ravens", "sex", "fluent"]], _jsp["english"]
X_new = X.head(10)
"""

_COHORTS = """
import numpy as np, pandas as pd
_rng = np.random.default_rng(3)
X = pd.DataFrame({"x1": _rng.normal(size=120), "x2": _rng.normal(size=120),
                  "cohort": np.repeat(["a", "b"], 60)})
y = pd.Series(X.x1 - X.x2 + _rng.normal(size=120), name="y")
X.loc[_rng.random(120) < 0.2, "x1"] = np.nan
"""

_SURVIVAL = """
import numpy as np, pandas as pd
_rng = np.random.default_rng(4)
_n = 300
surdata = pd.DataFrame({"measure": _rng.normal(size=_n),
                        "sex": _rng.integers(0, 2, _n).astype(float)})
_rate = np.exp(0.5 * surdata.measure - 0.3 * surdata.sex)
_event = _rng.exponential(1 / _rate)
_censor = _rng.exponential(2.0, size=_n)
surdata["time"] = np.minimum(_event, _censor)
surdata["status"] = (_event <= _censor).astype(int)
surdata.loc[_rng.random(_n) < 0.25, "measure"] = np.nan
"""

# page -> prelude of each of its python code blocks, in order ("" = none)
PRELUDES = {
    "README.rst": ["", ""],
    "doc/user_guide.rst": ["", "", _SIMULATED_XY, "df = data"],
    "doc/formula.rst": ["", "from skjomo.datasets import load_jspmiss\ndata = load_jspmiss()"],
    "doc/pooling.rst": [_POOLING_DATASETS, _POOLING_ARRAYS, _JSP_XY],
    "doc/diagnostics.rst": [
        "from skjomo import MultilevelJointImputer\nfrom skjomo.datasets import load_jspmiss\n"
        "data = load_jspmiss()"
    ],
    "doc/distributed.rst": [_COHORTS],
    "doc/smc.rst": [_SURVIVAL],
}

_BLOCK = re.compile(r"^( *)\.\. code-block:: python\n((?:[ \t]*\n|\1 +.*\n)+)", re.M)


def code_blocks(page):
    """The python code blocks of an rst page: ``(line number, source)``."""
    text = (ROOT / page).read_text()
    return [
        (text[: m.start()].count("\n") + 1, textwrap.dedent(m.group(2)))
        for m in _BLOCK.finditer(text)
    ]


def test_every_code_block_has_a_prelude():
    for page, preludes in PRELUDES.items():
        assert len(code_blocks(page)) == len(preludes), page
    documented = {
        str(p.relative_to(ROOT))
        for p in [ROOT / "README.rst", *ROOT.joinpath("doc").rglob("*.rst")]
        if code_blocks(str(p.relative_to(ROOT)))
    }
    assert documented == set(PRELUDES), "register the new page's code blocks in PRELUDES"


@pytest.fixture
def short_chains(monkeypatch):
    """Cap the run lengths of every imputer and run the blocks in this
    process (``n_jobs=None``: starting worker processes that load the
    sampler costs seconds; tests/test_common.py and tests/test_pipeline.py
    check that ``n_jobs`` does not change results)."""
    fit = BaseJointImputer.fit
    pipeline_fit = MultipleImputationPipeline.fit

    def capped_fit(self, X, y=None):
        caps = {"n_burn": 20, "n_between": 2, "n_imputations": 3}
        self.set_params(**{k: min(getattr(self, k), v) for k, v in caps.items()}, n_jobs=None)
        return fit(self, X, y)

    def serial_pipeline_fit(self, X, y=None, **kwargs):
        self.set_params(n_jobs=None)
        return pipeline_fit(self, X, y, **kwargs)

    monkeypatch.setattr(BaseJointImputer, "fit", capped_fit)
    monkeypatch.setattr(MultipleImputationPipeline, "fit", serial_pipeline_fit)


@pytest.fixture
def local_dask(monkeypatch):
    """``Client("tcp://scheduler-host:8786")`` becomes an in-process cluster."""
    distributed = pytest.importorskip("dask.distributed")
    clients = []
    real_client = distributed.Client

    def local_client(*args, **kwargs):
        client = real_client(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        )
        clients.append(client)
        return client

    monkeypatch.setattr(distributed, "Client", local_client)
    yield
    for client in clients:
        client.close()


def _without_arviz(source):
    """The arviz export line, when arviz is absent: its clear ImportError."""
    try:
        import arviz  # noqa: F401
    except ImportError:
        return source.replace(
            "idata = imputer.to_inference_data()",
            "with __import__('pytest').raises(ImportError, match='arviz'):\n"
            "    imputer.to_inference_data()",
        )
    return source


@pytest.mark.parametrize("page", list(PRELUDES))
def test_code_blocks_run(page, short_chains, local_dask, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks may write files (to_csv)
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    namespace = {"__name__": "__doc_block__"}
    for (line, source), prelude in zip(code_blocks(page), PRELUDES[page]):
        exec(compile(prelude, f"<prelude of {page}:{line}>", "exec"), namespace)
        try:
            exec(compile(_without_arviz(source), f"{page}:{line}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"the code block at {page}:{line} fails: {error!r}") from error


def test_prelude_data_are_what_the_blocks_expect():
    """The preludes' frames have the columns the blocks name."""
    namespace = {}
    exec(_SIMULATED_XY, namespace)
    assert set(namespace["data"].columns) == {"x1", "x2", "y"}
    exec(_SURVIVAL, namespace)
    survival = namespace["surdata"]
    assert survival["status"].isin([0, 1]).all() and (survival["time"] > 0).all()
    assert isinstance(survival, pd.DataFrame) and np.isnan(survival["measure"]).any()
