"""MkDocs hook: publish the course notebooks of ``notebooks/`` on the documentation site.

The notebooks live at the top of the repository (``notebooks/NN_topic.ipynb`` and
``notebooks/assignments/*.ipynb``), where ``make test`` executes them with nbmake.
This hook adds them to the site as ``notebooks/<name>.ipynb`` without copying them
into ``docs/``; mkdocs-jupyter then renders them (``execute: false``, so the site
shows the committed cells, and the build stays fast).

Registered in ``mkdocs.yml`` under ``hooks:``.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

NOTEBOOK_DIR = "notebooks"
NOTEBOOK_GLOBS = ("*.ipynb", "assignments/*.ipynb")


@event_priority(100)  # before mkdocs-jupyter (priority 0) turns .ipynb files into pages
def on_files(files: Files, config) -> Files:
    repo = Path(config.config_file_path).resolve().parent
    for pattern in NOTEBOOK_GLOBS:
        for path in sorted((repo / NOTEBOOK_DIR).glob(pattern)):
            src_uri = path.relative_to(repo).as_posix()  # "notebooks/01_box_encoding.ipynb"
            if files.get_file_from_path(src_uri) is None:
                # A plain File whose source directory is the repository root (not a
                # File.generated: mkdocs-jupyter's wrapper needs a real src_dir).
                files.append(File(src_uri, str(repo), config.site_dir, config.use_directory_urls))
    return files


# The notebook template of mkdocs-jupyter loads its own MathJax 2 with every notebook;
# the site already loads MathJax 3 (docs/javascripts/mathjax.js), which also typesets the
# notebooks' $...$, and two MathJax versions on one page fight. Drop the notebook's copy.
_NOTEBOOK_MATHJAX = re.compile(
    r'<script src="[^"]*mathjax[^"]*">\s*</script>'
    r'|<script type="text/x-mathjax-config">.*?</script>',
    flags=re.DOTALL,
)


def on_page_content(html: str, page, config, files) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        return _NOTEBOOK_MATHJAX.sub("", html)
    return html
