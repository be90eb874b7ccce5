"""Numba's cache when skjomo is installed where it cannot write.

skjomo is installed with ``pip install --target`` into a temporary
directory that is then made read-only (``chmod -R a-w``; as root, whom file
modes do not stop, the directory is also bind-mounted read-only in a private
mount namespace). A first process compiles a kernel, which numba must cache
in the per-user cache directory (``$XDG_CACHE_HOME/numba``), and a second
process must load it from there and compile nothing. With no writable cache
directory at all, ``import skjomo`` and the kernels still work, with a
warning that says how to enable the cache.
"""

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import json, warnings
    import numba.core.event as ev
    import numpy as np

    compiled = []

    class Recorder(ev.Listener):
        def on_start(self, event):
            pass

        def on_end(self, event):
            compiled.append(event.data["dispatcher"].py_func.__qualname__)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import skjomo
        from skjomo._gibbs._linalg import spd_inverse
        with ev.install_listener("numba:compile", Recorder()):
            inverse = spd_inverse(np.array([[2.0, 1.0], [1.0, 2.0]]))
    print(json.dumps({
        "file": skjomo.__file__,
        "inverse": inverse.tolist(),
        "compiled": compiled,
        "cache_hits": sum(spd_inverse.stats.cache_hits.values()),
        "warnings": [str(w.message) for w in caught if "cache" in str(w.message)],
    }))
""")


def _install_read_only(target):
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--target",
        str(target),
        str(ROOT),
    ]
    # build with the installed setuptools when it can, else in pip's isolated
    # build environment (which fetches the build requirements)
    if (
        importlib.util.find_spec("setuptools") is None
        or subprocess.run(
            command[:4] + ["--no-build-isolation"] + command[4:], capture_output=True
        ).returncode
        != 0
    ):
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(command, check=True, capture_output=True, text=True)
    for path in [target, *target.rglob("*")]:
        mode = path.stat().st_mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _run(target, cache_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(target), XDG_CACHE_HOME=str(cache_home), HOME=str(cache_home))
    command = [sys.executable, "-c", CHILD]
    if os.geteuid() == 0:  # file modes do not stop root: mount the install read-only
        command = [
            "unshare",
            "--mount",
            "sh",
            "-c",
            f'mount --bind -o ro "{target}" "{target}" && exec "$0" "$@"',
            *command,
        ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, cwd=target.parent)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def read_only_install(tmp_path_factory):
    if os.geteuid() == 0 and shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: cannot make the install read-only")
    target = tmp_path_factory.mktemp("readonly") / "site"
    _install_read_only(target)
    yield target
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_second_process_loads_the_kernel_from_the_user_cache(read_only_install, tmp_path):
    cache_home = tmp_path / "cache"
    first = _run(read_only_install, cache_home)
    assert first["file"].startswith(str(read_only_install))
    assert "spd_inverse" in first["compiled"]
    assert first["warnings"] == []
    assert not list(read_only_install.rglob("*.nbi"))  # nothing written next to the package
    assert list((cache_home / "numba").rglob("*spd_inverse*.nbi"))

    second = _run(read_only_install, cache_home)
    assert second["compiled"] == []
    assert second["cache_hits"] >= 1
    assert second["inverse"] == first["inverse"]


def test_import_works_without_any_writable_cache_directory(read_only_install, tmp_path):
    cache_home = tmp_path / "no-cache"
    cache_home.mkdir()
    cache_home.chmod(0o555)
    if os.access(cache_home, os.W_OK):  # root: put the cache inside the read-only mount
        cache_home = read_only_install / "skjomo"
    result = _run(read_only_install, cache_home)
    assert np.allclose(result["inverse"], [[2 / 3, -1 / 3], [-1 / 3, 2 / 3]])
    assert len(result["warnings"]) == 1
    assert "NUMBA_CACHE_DIR" in result["warnings"][0]
