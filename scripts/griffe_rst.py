r"""Griffe extension: render the Sphinx/numpydoc markup of bboxcore's docstrings as Markdown.

bboxcore's docstrings are numpydoc, written for ``help()``, doctest and Sphinx alike:
maths in ``.. math::`` blocks and ``:math:`...``` roles, cross-references as
``:func:`bbox2loc```, citations as ``[1]_`` with ``.. [1] ...`` entries. mkdocstrings
renders docstrings as Markdown, so this extension rewrites those few constructs before
the docstrings are parsed (the source files are never touched):

=====================================  ==================================================
docstring (reST)                       site (Markdown + pymdownx.arithmatex + MathJax)
=====================================  ==================================================
``.. math::`` + indented block         ``$$ ... $$`` display maths
``:math:`x```                          ``$x$`` inline maths
``:func:`name```, ``:data:``, ...      a link to the API entry when it exists, else code
``[1]_``                               ``[1]``
``.. [1] Author. "Title."``            ``- [1] Author. "Title."``
a simple table (``===  ===`` rules)    a Markdown table
``#: comment`` above a constant        the constant's docstring (as Sphinx autodoc)
=====================================  ==================================================

Registered in ``mkdocs.yml`` under the python handler's ``extensions:``.
"""

from __future__ import annotations

import re

import griffe

_MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)$")
_MATH_ROLE = re.compile(r":math:`(?P<tex>[^`]+)`")
_XREF_ROLE = re.compile(
    r":(?:py:)?(?:func|meth|class|mod|data|attr|obj|exc|const):`(?P<target>[^`]+)`"
)
_CITATION = re.compile(r"\[(?P<key>[0-9A-Za-z]+)\]_")
_REFERENCE_ENTRY = re.compile(
    r"^(?P<indent>[ \t]*)\.\. \[(?P<key>[0-9A-Za-z]+)\][ \t]+", re.MULTILINE
)


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


def _math_blocks(text: str) -> str:
    """``.. math::`` directives (with their indented body) -> ``$$`` blocks."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _MATH_DIRECTIVE.match(lines[i])
        if m is None:
            out.append(lines[i])
            i += 1
            continue
        indent = m["indent"]
        body = [m["first"].strip()] if m["first"].strip() else []
        i += 1
        while i < len(lines) and (not lines[i].strip() or _indent_of(lines[i]) > len(indent)):
            if lines[i].strip():
                body.append(lines[i].strip())
            i += 1
        if out and out[-1].strip():
            out.append("")  # arithmatex needs a blank line before a block
        out += [f"{indent}$$", *(f"{indent}{b}" for b in body), f"{indent}$$", ""]
    return "\n".join(out)


_TABLE_RULE = re.compile(r"^[ \t]*=+(?:[ \t]+=+)+[ \t]*$")


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    """Cut one table row at the column spans of the rule (the last column runs to the end)."""
    cells = [line[a:b].strip() for a, b in spans[:-1]]
    return [*cells, line[spans[-1][0] :].strip()]


def _table_rows(lines: list[str], spans: list[tuple[int, int]]) -> list[list[str]]:
    """Rows of a simple table; a row whose first cell is blank continues the previous one."""
    rows: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        cells = _cells(line, spans)
        if rows and not cells[0]:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    return rows


def _simple_tables(text: str) -> str:
    """reST simple tables -> Markdown tables.

    With a header: rule, header row, rule, rows, rule. Without: rule, rows, rule (the
    Markdown table then gets an empty header row).
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _TABLE_RULE.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        rules = [j for j in range(i + 1, len(lines)) if _TABLE_RULE.match(lines[j])][:2]
        if not rules:
            out.append(lines[i])
            i += 1
            continue
        spans = [m.span() for m in re.finditer(r"=+", lines[i])]
        indent = lines[i][: _indent_of(lines[i])]
        if rules[0] == i + 2 and len(rules) == 2:  # header row between the first two rules
            header = _cells(lines[i + 1], spans)
            body, end = lines[i + 3 : rules[1]], rules[1]
        else:
            header = [""] * len(spans)
            body, end = lines[i + 1 : rules[0]], rules[0]
        if out and out[-1].strip():
            out.append("")
        for cells in (header, ["---"] * len(spans), *_table_rows(body, spans)):
            out.append(indent + "| " + " | ".join(cells) + " |")
        out.append("")
        i = end + 1
    return "\n".join(out)


def _xref(obj: griffe.Object, target: str) -> str:
    """A ``:func:`target``` role -> an optional autorefs link (code text if it does not resolve)."""
    short = target.startswith("~")
    target = target.lstrip("~").rstrip("()")
    shown = target.rsplit(".", 1)[-1] if short else target
    code = f"<code>{shown}</code>"
    if target.startswith("bboxcore"):
        identifier = target
    else:
        scope = obj if obj.is_module or obj.is_class else obj.parent
        identifier = None
        while scope is not None:
            head = target.split(".", 1)[0]
            if head in scope.members:
                identifier = f"{scope.path}.{target}"
                break
            scope = scope.parent
        if identifier is None:
            return code
    # "optional": autorefs links it when the identifier is documented, else leaves the
    # code text and logs nothing, so a private or not-yet-documented name never fails
    # the strict build.
    return f'<autoref identifier="{identifier}" optional>{code}</autoref>'


def rst_to_markdown(text: str, obj: griffe.Object) -> str:
    """Rewrite the reST constructs of one docstring as Markdown (see the module docstring)."""
    text = _math_blocks(text)
    text = _simple_tables(text)
    text = _MATH_ROLE.sub(lambda m: f"${m['tex'].strip()}$", text)
    text = _XREF_ROLE.sub(lambda m: _xref(obj, m["target"]), text)
    text = _REFERENCE_ENTRY.sub(lambda m: f"{m['indent']}- [{m['key']}] ", text)
    return _CITATION.sub(lambda m: f"[{m['key']}]", text)


def _comment_docstring(obj: griffe.Object) -> str | None:
    """The ``#:`` comment lines just above a module constant (Sphinx autodoc's convention)."""
    if not obj.is_attribute or obj.lineno is None or not obj.parent.is_module:
        return None
    lines = obj.parent.lines  # the module's source lines
    i = obj.lineno - 2  # the line above the assignment, 0-based
    comment: list[str] = []
    while i >= 0 and lines[i].lstrip().startswith("#:"):
        comment.insert(0, lines[i].lstrip()[2:].strip())
        i -= 1
    return "\n".join(comment) or None


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring once the object tree is complete."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is None:
            text = _comment_docstring(obj)
            if text is None:
                return
            obj.docstring = griffe.Docstring(text, lineno=obj.lineno, parent=obj)
        obj.docstring.value = rst_to_markdown(obj.docstring.value, obj)
