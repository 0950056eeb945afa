"""Sphinx configuration of the bboxcore documentation site.

``make docs`` builds it into ``site/``; ``make test`` builds it with ``-W`` (a warning is an
error) and then opens every page in headless Chromium (``tests/docs/``).

The toolchain is the one of the scientific-Python projects whose docstring style bboxcore
follows (NumPy, SciPy, scikit-image): Sphinx + numpydoc for the API pages, so the
docstrings' reST (``.. math::`` blocks, ``:func:`` roles, ``[1]_`` citations, See Also)
renders as written, and MyST-NB for the Markdown pages and the course notebooks, which are
committed *executed* by ``scripts/build_notebooks.py`` and rendered here with their
outputs (nothing runs at build time). MathJax is served by the site itself, copied from
the npm package ``mathjax`` that the Makefile installs into ``build/mathjax/``.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "bboxcore"
author = "bboxcore developers"
copyright = "bboxcore developers, MIT licence"
try:  # the installed version, without importing bboxcore at configuration time
    release = version = importlib.metadata.version("bboxcore")
except importlib.metadata.PackageNotFoundError:
    release = version = ""

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",  # MyST Markdown pages and .ipynb notebooks (includes myst_parser)
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]
# A module docstring may list references that only its functions cite (a reading list).
suppress_warnings = ["ref.citation"]

# --- API pages: autodoc + numpydoc ----------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters section states the types, in words
autodoc_default_options = {"show-inheritance": True}
numpydoc_show_class_members = False  # autodoc's :members: lists them, in source order
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
add_module_names = False
python_display_short_literal_types = True

# --- Markdown and notebooks: MyST-NB ---------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3  # links such as page.md#a-section resolve
myst_dmath_double_inline = True
nb_execution_mode = "off"  # committed executed; `make test` checks they are in step
nb_merge_streams = True

# --- HTML -----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "bboxcore"
html_static_path = ["_static"]
html_css_files = ["extra.css"]
html_show_sourcelink = False
# The notebook pages and the comparison (wide tables, figures) get the width of the left column.
html_sidebars = {"notebooks/[0-9]*": [], "comparison": []}
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}

# MathJax from the site itself (the site must work offline).
MATHJAX_SRC = ROOT / "build" / "mathjax" / "node_modules" / "mathjax" / "es5"
# What tex-mml-chtml.js loads at run time: its fonts, TeX extensions (autoload), the menu.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y")
mathjax_path = "mathjax/tex-mml-chtml.js"  # relative to _static/


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src = MATHJAX_SRC / part
        if src.is_dir():
            shutil.copytree(src, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)


_HEADING = re.compile(r"^(?P<title>[^\s].*)\n(?P<rule>-{3,})[ \t]*$", flags=re.MULTILINE)


def _module_headings_as_rubrics(app, what, name, obj, options, lines) -> None:
    """Module docstrings: numpydoc-style headings ("References", then a rule) as rubrics.

    numpydoc parses the sections of function and class docstrings but leaves a module
    docstring as raw reST, where a heading becomes a document section: two modules on one
    page then both define a "references" section (duplicate ids) and the headings enter
    the page's table of contents. Written as ``.. rubric::``, as numpydoc does for
    functions; the text under them is untouched (numpydoc then renames the citations).
    """
    if what != "module" or not lines:
        return
    text = _HEADING.sub(lambda m: f".. rubric:: {m['title'].strip()}\n", "\n".join(lines))
    lines[:] = text.split("\n")


_CITED = re.compile(r"\[(\w+)\]_")
_ENTRY = re.compile(r"^(?P<indent>[ \t]*)\.\. \[(?P<key>\w+)\][ \t]")
_LONE_INITIAL = re.compile(r"^(?P<head>[ \t]*[A-Z])\.(?=[ \t]*$)")
_ENTRY_INITIAL = re.compile(r"^(?P<head>[ \t]*\.\. \[\w+\][ \t]+[A-Z])\.(?= )")


def _reference_entries(doc: str | None) -> dict[str, list[str]]:
    """The ``.. [key] ...`` entries of a docstring, each with its continuation lines."""
    entries: dict[str, list[str]] = {}
    lines = inspect.cleandoc(doc or "").split("\n")
    for i, line in enumerate(lines):
        m = _ENTRY.match(line)
        if m is None:
            continue
        body = [line.strip()]
        for more in lines[i + 1 :]:
            if not more.strip() or len(more) - len(more.lstrip()) <= len(m["indent"]):
                break
            body.append("   " + more.strip())
        entries.setdefault(m["key"], body)
    return entries


def _borrow_references(app, what, name, obj, options, lines) -> None:
    """Give a docstring the entries of the citations it makes but does not define.

    bboxcore's docstrings sometimes cite, as ``[2]_``, a paper listed in the References of
    their module (or a module cites one listed by its functions). In Sphinx every docstring
    is its own document fragment (numpydoc renames citations per docstring), so such a
    citation would dangle: append the entry it means, from the module docstring or else
    the first function or class of the module that lists it.
    """
    # "R. Girshick. ..." as the first words of an entry would be read by docutils as an
    # enumerated list item "R."; an escaped period keeps it text.
    # So would a description that is one capital letter ("B." for the paper's B).
    for i, line in enumerate(lines):
        lines[i] = _LONE_INITIAL.sub(r"\g<head>\\.", _ENTRY_INITIAL.sub(r"\g<head>\\.", line))
    text = "\n".join(lines)
    missing = sorted(set(_CITED.findall(text)) - set(_reference_entries(text)))
    if not missing:
        return
    module = obj if what == "module" else inspect.getmodule(obj)
    if module is None or what in ("data", "attribute"):  # a constant: its module by name
        parts = name.split(".")
        prefixes = (".".join(parts[:k]) for k in range(len(parts) - 1, 0, -1))
        module = next((sys.modules[p] for p in prefixes if p in sys.modules), module)
    sources = [module.__doc__ if module else None]
    if module is not None:  # then its functions and classes, in source order
        sources += [getattr(m, "__doc__", None) for m in vars(module).values()]
    found: dict[str, list[str]] = {}
    for doc in sources:
        for key, body in _reference_entries(doc).items():
            found.setdefault(key, body)
    borrowed = [
        _ENTRY_INITIAL.sub(r"\g<head>\\.", line)
        for key in missing
        if key in found
        for line in found[key]
    ]
    if not borrowed:
        return
    if any(re.match(r"^\s*References\s*$", line) for line in lines):
        # numpydoc allows one References section: the entries go at its end (the last
        # section of a numpydoc docstring before Examples).
        at = next(
            (i for i, line in enumerate(lines) if re.match(r"^\s*Examples\s*$", line)),
            len(lines),
        )
        lines[at:at] = ["", *borrowed, ""]
    elif what == "module":
        lines += ["", ".. rubric:: References", "", *borrowed]
    else:
        at = next(
            (i for i, line in enumerate(lines) if re.match(r"^\s*Examples\s*$", line)),
            len(lines),
        )
        lines[at:at] = ["References", "----------", "", *borrowed, ""]


_MANGLED_CITATION = re.compile(r"\[R[0-9a-f]{8,}-(\w+)\](_?)")


def _unmangle_citations(app, doctree, docname) -> None:
    """Show ``[1]`` where numpydoc's per-docstring citation label ``[R<hash>-1]`` remains.

    numpydoc renames every citation of a docstring (``[1]`` -> ``[R<hash>-1]``) so that two
    docstrings on one page do not clash, then relabels the citations back; with Sphinx 9 it
    relabels the reference list but not the references in the text, nor a citation
    written inside a formula (``\\text{([1]_, Eq. 2)}``). The links keep their unique
    targets; only the shown text changes.
    """
    from docutils import nodes

    for node in list(doctree.findall(nodes.Text)):
        text = str(node)
        if "[R" in text and _MANGLED_CITATION.search(text):
            node.parent.replace(node, nodes.Text(_MANGLED_CITATION.sub(r"[\1]", text)))
    for node in doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block))):
        if "latex" in node.attributes and "[R" in node["latex"]:
            node["latex"] = _MANGLED_CITATION.sub(r"[\1]", node["latex"])


def _link_notebooks() -> None:
    """``docs/notebooks/<name>`` -> ``../../notebooks/<name>``, made at every build.

    The notebooks live at the top of the repository, where ``make test`` runs them; the
    site reads them through symbolic links, made here (and ignored by git, see
    ``docs/notebooks/.gitignore``), so that a new notebook needs no step of its own.
    A link whose notebook is gone is removed.
    """
    pages = ROOT / "docs" / "notebooks"
    for link in pages.iterdir():
        if link.is_symlink() and not link.exists():
            link.unlink()
    sources = [*sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    if (ROOT / "notebooks" / "assignments").is_dir():
        sources.append(ROOT / "notebooks" / "assignments")
    for source in sources:
        link = pages / source.name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(Path("..", "..", "notebooks", source.name))


def _glue_from_linked_notebooks(app, doctree) -> None:
    """Cross-document glue from a course notebook: name the notebook's document, keep the key.

    A page shows an output of a notebook with MyST-NB's ``{glue} key`` directive and
    ``:doc: notebooks/NN_topic.ipynb``. MyST-NB finds that document with
    ``Path.resolve()``, which follows the symbolic link of :func:`_link_notebooks` out of
    ``docs/`` and yields the document name ``/.../notebooks/NN_topic`` instead of
    ``notebooks/NN_topic``, so the reference would not resolve: rename it (at
    ``doctree-read``). Each reference is also wrapped in a container that remembers its
    document and key, so that :func:`_glued_alt_text` can give the glued image its alt text.
    """
    from docutils import nodes
    from myst_nb.ext.glue.utils import PendingGlueReference

    linked = (ROOT / "notebooks").resolve()
    for node in list(doctree.findall(PendingGlueReference)):
        ref = Path(node["refdoc"])
        if ref.is_absolute() and ref.parent == linked:
            node["refdoc"] = f"notebooks/{ref.name}"
        box = nodes.container("", classes=["glued-output"])
        box["glue_ref"] = (node["refdoc"], node["key"])
        node.replace_self(box)
        box += node


def _glued_alt_text(app, doctree, docname) -> None:
    """Alt text of a glued image: the one ``scripts/build_notebooks.py`` gave its output.

    MyST-NB's cross-document glue draws an image without alt text; the notebook's output
    carries it in ``metadata["image/png"]["alt"]`` (the cell's ``alt="..."`` header), read
    here from MyST-NB's glue cache of that notebook.
    """
    import json

    from docutils import nodes

    folder = Path(app.env.mystnb_config.output_folder)
    for box in doctree.findall(nodes.container):
        if "glue_ref" not in box.attributes:
            continue
        refdoc, key = box["glue_ref"]
        *parts, name = refdoc.split("/")
        cache = folder.joinpath(*parts, f"{name}.glue.json")
        try:
            output = json.loads(cache.read_text())[key]
        except (OSError, KeyError, ValueError):
            continue
        meta = output.get("metadata", {})
        alt = next(
            (meta[m]["alt"] for m in meta if isinstance(meta[m], dict) and "alt" in meta[m]), None
        )
        for image in box.findall(nodes.image):
            if alt and not image.get("alt"):
                image["alt"] = alt


def setup(app) -> None:
    if not (MATHJAX_SRC / "tex-mml-chtml.js").is_file():
        from sphinx.errors import ConfigError

        raise ConfigError(
            f"MathJax is missing from {MATHJAX_SRC}: the site serves its own copy so that "
            "it works offline. `make docs` installs it; by hand: `npm install --no-save "
            "--prefix build/mathjax mathjax@3.2.2` (npm: `apt-get install -y npm`)."
        )
    _link_notebooks()
    app.connect("autodoc-process-docstring", _borrow_references, priority=390)
    app.connect("autodoc-process-docstring", _module_headings_as_rubrics, priority=400)
    app.connect("doctree-resolved", _unmangle_citations)
    app.connect("doctree-read", _glue_from_linked_notebooks)
    app.connect("doctree-resolved", _glued_alt_text)
    app.connect("build-finished", _copy_mathjax)
