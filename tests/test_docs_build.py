"""The documentation builds with warnings as errors and its internal links resolve.

The default test builds the whole site as CI must: the API reference, the
user guide and the gallery, every script named ``plot_*.py`` executed, but
with capped chains (``SKJOMO_EXAMPLES_CAPPED=1``, doc/_gallery_caps.py:
every line runs and every figure is drawn, in seconds, and the numbers mean
nothing). It checks that each script's output and figures are on its page,
then follows every internal link and anchor of the HTML. Under ``-m slow``
the site is built as published, with the short chains that
``SKJOMO_EXAMPLES_QUICK=1`` selects (set by ``doc/conf.py``).

Sphinx writes its generated sources into ``doc/generated`` and
``doc/auto_examples`` (ignored by git); the HTML goes to a temporary
directory.
"""

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "doc"
EXAMPLES = ROOT / "examples"


class _Links(HTMLParser):
    """Anchors defined by a page and the links and resources it refers to."""

    def __init__(self):
        super().__init__()
        self.anchors, self.targets = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key) and (key == "id" or tag == "a"):
                self.anchors.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key):
                self.targets.append(attrs[key])


def _parse(page):
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def broken_internal_links(site):
    """Links between the site's own pages (and to their anchors) that do not resolve."""
    site = site.resolve()
    pages = {
        page: _parse(page)
        for page in site.rglob("*.html")
        if not page.relative_to(site).parts[0].startswith("_")  # theme templates, sources
    }
    broken = []
    for page, parsed in pages.items():
        for target in parsed.targets:
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith(("mailto:", "javascript:")):
                continue  # external: not checked here (no network in CI)
            path = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{page.relative_to(site)}: {target} (no such file)")
                continue
            fragment = unquote(parts.fragment)
            if fragment and path.suffix == ".html":
                anchors = pages[path].anchors if path in pages else _parse(path).anchors
                if fragment not in anchors:
                    broken.append(f"{page.relative_to(site)}: {target} (no such anchor)")
    return broken


def build(outdir, *options, timeout, capped=False):
    """Run sphinx with warnings as errors; return (seconds, output)."""
    import time

    import skjomo

    # The copy under test (the checkout, or an installed copy under
    # .ci/oldest), whose numba cache the suite's warm-up filled; run outside
    # the checkout so that Python does not put it first on the path.
    package_dir = Path(skjomo.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(package_dir), MPLBACKEND="Agg")
    if capped:
        env["SKJOMO_EXAMPLES_CAPPED"] = "1"
    command = [
        sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
        "-d", str(outdir / "doctrees"), *options, str(DOC), str(outdir / "html"),
    ]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=outdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"sphinx failed:\n{output[-6000:]}"
    return seconds, output


def gallery_scripts(executed):
    names = sorted(p.stem for p in EXAMPLES.glob("*.py"))
    return [n for n in names if n.startswith("plot_") == executed]


# re-run every script, also those whose source did not change since the last
# build (sphinx-gallery skips them otherwise)
RUN_EVERY_SCRIPT = ("-D", "sphinx_gallery_conf.run_stale_examples=True")


def check_site(site):
    """Every page a reader reaches is there, with the scripts' output and figures."""
    for page in ["index", "api", "tutorials/index", "guidance/grid_search", "moving_from_r"]:
        assert (site / f"{page}.html").exists(), page
    for name in gallery_scripts(executed=False):
        assert (site / "auto_examples" / f"{name}.html").exists(), name
    tutorials = (site / "tutorials" / "index.html").read_text(encoding="utf-8")
    for name in gallery_scripts(executed=True):
        page = (site / "auto_examples" / f"{name}.html").read_text(encoding="utf-8")
        assert "sphx-glr-script-out" in page, f"{name}: no output on the page"
        source = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
        if re.search(r"plt\.subplots|plot_trace|plot_autocorrelation", source):
            assert list((site / "_images").glob(f"sphx_glr_{name}_0*.png")), f"{name}: no figure"
        if name.startswith("plot_jomo_"):
            assert f"auto_examples/{name}.html" in tutorials, f"{name} not in the tutorials"
    assert broken_internal_links(site) == []


def test_site_builds_with_the_gallery_executed_on_capped_chains(tmp_path):
    seconds, output = build(tmp_path, *RUN_EVERY_SCRIPT, timeout=900, capped=True)
    assert not re.search(r"WARNING|ERROR", output), output[-4000:]
    check_site(tmp_path / "html")
    print(f"docs build executing the gallery on capped chains: {seconds:.0f} s")


@pytest.mark.slow
def test_site_builds_as_published(tmp_path):
    seconds, output = build(tmp_path, *RUN_EVERY_SCRIPT, timeout=1800)
    assert not re.search(r"WARNING|ERROR", output), output[-4000:]
    check_site(tmp_path / "html")
    print(f"docs build executing the gallery: {seconds:.0f} s")


def test_link_checker_finds_missing_pages_and_anchors(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#here">ok</a> <a href="sub/page.html#gone">bad anchor</a>'
        ' <a href="missing.html">bad page</a> <a href="https://example.org/x">external</a>'
        ' <a href="#top">ok</a><h1 id="top">t</h1>',
        encoding="utf-8",
    )
    (tmp_path / "sub" / "page.html").write_text(
        '<section id="here"></section><a href="../index.html">ok</a>', encoding="utf-8"
    )
    assert broken_internal_links(tmp_path) == [
        "index.html: sub/page.html#gone (no such anchor)",
        "index.html: missing.html (no such file)",
    ]
