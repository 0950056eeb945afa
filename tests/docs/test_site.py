"""The documentation site as a student sees it: every page in headless Chromium, offline.

Builds the site (``sphinx-build -W``: a warning fails), serves it on 127.0.0.1 (a free
port) and opens every page in one Chromium session (Debian's ``chromium``, driven by
Playwright over its DevTools pipe) with the network cut: every request to another host
is aborted and the host resolver maps every name except 127.0.0.1 to nothing. From the
rendered DOM, once MathJax has typeset the page, it checks that

* MathJax ran from the site itself and typeset every formula: no raw TeX (``\\(``,
  ``\\[``, ``$$``, a ``\\command``) is left outside code, and no MathJax error box;
* every course notebook page shows its figures (loaded images with alt text) and
  its printed outputs;
* every internal link points to an existing page and, with a ``#fragment``, to an
  existing anchor of that page;
* no page asked for anything outside 127.0.0.1.

Screenshots of a few pages are kept in ``build/docs-screenshots/`` (CI artefacts).
``make test`` installs chromium when it is missing (``apt-get install -y chromium``).
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "docs-test"
SHOTS = ROOT / "build" / "docs-screenshots"
SCREENSHOT_PAGES = (
    "index.html",
    "concepts/encoding.html",
    "api/eval.html",
    "api/losses.html",
    "api/nms.html",
    "notebooks/01_box_encoding.html",
    "notebooks/03_nms_and_soft_nms.html",
    "notebooks/09_faster_rcnn.html",
)
SHOT_MAX_HEIGHT = 8000  # px: the top of the long API pages is enough
NOTEBOOK_PAGE = re.compile(r"^notebooks/\d\d_\w+\.html$")
SKIPPED_PAGES = ("_modules/", "_static/", "genindex.html", "search.html", "py-modindex.html")

# TeX left as text: a delimiter MathJax should have consumed, or a TeX command.
RAW_TEX = re.compile(
    r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(?:frac|mathrm|sum|log|exp|max|min|left|right"
    r"|lvert|rvert|sqrt|cdot|hat|tilde|operatorname|text|qquad|quad|in|le|ge)\b"
    r"|\$[^$\s][^$\n]{0,80}?[\\^_{][^$\n]{0,80}?\$"  # $t_x$ left as text
)

# Markup shown as text: an mkdocs admonition, a MyST role or directive left unparsed.
RAW_MARKUP = re.compile(r"!!! \w+|\?\?\? \w+|::: ?\w|\{(?:py:\w+|doc|ref|math)\}`|```\{")

# The visible text of the page outside code, scripts and typeset maths.
PAGE_TEXT_JS = """
() => {
  const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "MJX-CONTAINER", "TEXTAREA",
                        "NOSCRIPT", "SVG", "KBD", "SAMP", "MJX-ASSISTIVE-MML"]);
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { out.push(node.textContent); return; }
    if (node.nodeType !== Node.ELEMENT_NODE || skip.has(node.tagName)) return;
    if (node.classList.contains("highlight")) return;
    for (const child of node.childNodes) walk(child);
  };
  walk(document.body);
  return out.join(" ");
}
"""

PAGE_FACTS_JS = """
() => ({
  mathjax: typeof window.MathJax === "object" && !!window.MathJax.startup,
  formulas: document.querySelectorAll("mjx-container").length,
  errors: Array.from(document.querySelectorAll("mjx-merror")).map(e => e.textContent),
  images: Array.from(document.querySelectorAll("article img")).map(img => ({
    src: img.getAttribute("src"), alt: img.getAttribute("alt") || "",
    loaded: img.complete && img.naturalWidth > 0})),
  outputs: document.querySelectorAll("article .cell_output").length,
  // a docstring line read by docutils as an enumerated list ("B." alone) leaves empty items
  emptyItems: document.querySelectorAll("article li:empty").length,
  // reST that docutils could not read ("[1]_" without its entry, a bad role)
  unreadable: Array.from(document.querySelectorAll(".problematic, .system-message"))
    .map(e => e.textContent.slice(0, 80)),
  // display equations wider than the text column must scroll inside their block
  overflowing: Array.from(document.querySelectorAll('mjx-container[display="true"]'))
    .filter(e => {
      const article = e.closest("article");
      if (!article) return false;
      const r = e.getBoundingClientRect(), a = article.getBoundingClientRect();
      return r.right > a.right + 2 || r.left < a.left - 2;
    })
    .map(e => (e.getAttribute("aria-label") || e.textContent).slice(0, 80)),
  links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
})
"""


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def _anchors(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def _chromium() -> str:
    path = os.environ.get("BBOXCORE_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.fail(
            "the documentation test needs Debian's chromium: `apt-get install -y chromium` "
            "(as root; `make test` does it), or set BBOXCORE_CHROMIUM to a Chromium binary"
        )
    return path


@pytest.fixture(scope="module")
def site() -> Path:
    """The site, built from docs/ with warnings as errors (or BBOXCORE_DOCS_SITE, prebuilt)."""
    if os.environ.get("BBOXCORE_DOCS_SITE"):
        return Path(os.environ["BBOXCORE_DOCS_SITE"]).resolve()
    shutil.rmtree(SITE, ignore_errors=True)
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    result = subprocess.run(
        [*cmd, "docs", str(SITE)], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout}\n{result.stderr}"
    return SITE


@pytest.fixture(scope="module")
def server(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no line per request on stderr
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def render(site: Path, server: str) -> dict:
    """Every page loaded once in one Chromium session: {page: facts}."""
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    pages = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if not p.relative_to(site).as_posix().startswith(SKIPPED_PAGES)
    )
    outside: list[str] = []
    facts: dict[str, dict] = {}
    SHOTS.mkdir(parents=True, exist_ok=True)

    def cut_network(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", cut_network)
        page = context.new_page()
        console_errors: list[str] = []
        page.on("pageerror", lambda exc: console_errors.append(str(exc)))
        for name in pages:
            console_errors.clear()
            page.goto(server + name, wait_until="load")
            # MathJax typesets after "load": wait for its startup promise.
            page.evaluate(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
                " ? MathJax.startup.promise.then(() => true) : false"
            )
            facts[name] = page.evaluate(PAGE_FACTS_JS)
            facts[name]["text"] = page.evaluate(PAGE_TEXT_JS)
            facts[name]["js_errors"] = list(console_errors)
            if name in SCREENSHOT_PAGES:
                shot = SHOTS / (name.replace("/", "_").removesuffix(".html") + ".png")
                height = min(page.evaluate("document.body.scrollHeight"), SHOT_MAX_HEIGHT)
                clip = {"x": 0, "y": 0, "width": 1280, "height": height}
                page.screenshot(path=str(shot), full_page=True, clip=clip)
        browser.close()
    return {"pages": facts, "outside": outside, "base": server}


# Each check returns its problems (empty when the site is right). They run in ONE test, so
# that `pytest -n 2` (make test) builds the site and starts the browser once, in one worker.


def check_pages_loaded(rendered, site) -> list[str]:
    names = set(rendered["pages"])
    wanted = {"index.html"} | {f"concepts/{p}.html" for p in ("encoding", "iou", "nms", "losses")}
    found = [f"missing page {n}" for n in sorted(wanted - names)]
    if sum(bool(NOTEBOOK_PAGE.match(n)) for n in names) < 10:
        found.append(f"fewer than 10 notebook pages: {sorted(names)}")
    if sum(n.startswith("api/") for n in names) < 10:
        found.append("fewer than 10 API pages")
    return found


def check_offline(rendered, site) -> list[str]:
    return [
        f"asked outside 127.0.0.1 (the site must work offline): {u}" for u in rendered["outside"]
    ]


def check_javascript(rendered, site) -> list[str]:
    return [f"{n}: {e}" for n, f in rendered["pages"].items() for e in f["js_errors"]]


def check_maths(rendered, site) -> list[str]:
    found = []
    for name, f in rendered["pages"].items():
        raw = sorted({m.group(0) for m in RAW_TEX.finditer(f["text"])})
        if raw:
            i = RAW_TEX.search(f["text"]).start()
            found.append(f"{name}: raw TeX {raw} near {f['text'][max(0, i - 60) : i + 60]!r}")
        if f["errors"]:
            found.append(f"{name}: MathJax errors {f['errors'][:3]}")
    # Sphinx loads MathJax only on pages with maths; these must have been typeset:
    typeset = {n for n, f in rendered["pages"].items() if f["mathjax"] and f["formulas"] > 0}
    for name in ("concepts/encoding.html", "notebooks/01_box_encoding.html", "api/eval.html"):
        if name not in typeset:
            found.append(f"{name}: no typeset formula")
    return found


def check_raw_markup(rendered, site) -> list[str]:
    found = []
    for name, f in rendered["pages"].items():
        m = RAW_MARKUP.search(f["text"])
        if m:
            found.append(
                f"{name}: markup shown as text near {f['text'][m.start() : m.start() + 60]!r}"
            )
    return found


def check_list_items(rendered, site) -> list[str]:
    return [f"{n}: {f['emptyItems']} empty list items" for n, f in rendered["pages"].items()
            if f["emptyItems"]]  # fmt: skip


def check_unreadable_rest(rendered, site) -> list[str]:
    return [f"{n}: {f['unreadable'][:3]}" for n, f in rendered["pages"].items()
            if f["unreadable"]]  # fmt: skip


def check_equation_width(rendered, site) -> list[str]:
    return [f"{n}: wider than the column: {f['overflowing']}"
            for n, f in rendered["pages"].items() if f["overflowing"]]  # fmt: skip


def check_notebook_figures(rendered, site) -> list[str]:
    found = []
    for name, f in rendered["pages"].items():
        if not NOTEBOOK_PAGE.match(name):
            continue
        images = f["images"]
        if not images:
            found.append(f"{name}: no image")
        if not all(i["loaded"] for i in images):
            found.append(f"{name}: not loaded {[i['src'] for i in images if not i['loaded']]}")
        if not all(i["alt"].strip() for i in images):
            found.append(f"{name}: {sum(not i['alt'].strip() for i in images)} images without alt")
        if f["outputs"] < 2:
            found.append(f"{name}: only {f['outputs']} cell outputs")
    return found


def check_links(rendered, site) -> list[str]:
    base = rendered["base"]
    # the links are absolute URLs of the site (else the check below would see none)
    index = rendered["pages"].get("index.html", {"links": []})
    found = set()
    if not any(urljoin(base, "concepts/") in href for href in index["links"]):
        found.add("index.html has no link into concepts/")
    for name, f in rendered["pages"].items():
        for href in f["links"]:
            if not href.startswith(base):
                continue
            url = urlsplit(href)
            rel = unquote(url.path)[len(urlsplit(base).path) :]
            target = site / rel
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                found.add(f"{name} -> {rel} (no such page)")
            elif url.fragment and target.suffix == ".html":
                if unquote(url.fragment) not in _anchors(target):
                    found.add(f"{name} -> {rel}#{url.fragment} (no such anchor)")
    return sorted(found)


def check_screenshots(rendered, site) -> list[str]:
    found = []
    for name in SCREENSHOT_PAGES:
        shot = SHOTS / (name.replace("/", "_").removesuffix(".html") + ".png")
        if not (shot.is_file() and shot.stat().st_size > 10_000):
            found.append(f"no screenshot {shot}")
    return found


CHECKS = (
    check_pages_loaded,
    check_offline,
    check_javascript,
    check_maths,
    check_raw_markup,
    check_list_items,
    check_unreadable_rest,
    check_equation_width,
    check_notebook_figures,
    check_links,
    check_screenshots,
)


def test_the_site_in_a_browser(site, server):
    rendered = render(site, server)
    problems = {check.__name__: check(rendered, site) for check in CHECKS}
    assert {name: found for name, found in problems.items() if found} == {}
