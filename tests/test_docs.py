"""The documentation's examples run: every ```python block of docs/*.md, page by page.

Each page's runnable blocks execute in order in one fresh namespace, so a page
reads (and runs) top to bottom like a script. A block fenced ```python no-run
is shown to readers but not executed (file engines still being written, code
that would change process-wide state). Any other fence that looks like Python
(```py, ```python3, ```python norun ...) is an error, so no example can drop
out of the test by a typo. Global event listeners are cleared after each page.
"""

from __future__ import annotations

import linecache
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytuck import event

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = DOCS.parent / "README.md"
#: Every page whose examples run: the docs, and README's tour.
PAGES = [*sorted(DOCS.glob("*.md")), README]

RUN = "python"
NO_RUN = "python no-run"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<marks>`{3,}|~{3,})[ \t]*(?P<info>.*?)[ \t]*$")
_LINK = re.compile(r"\]\((?P<target>[^)#\s]+\.md)(?:#[^)]*)?\)")


class DocsFormatError(Exception):
    """A page's code fences are malformed (unterminated, or an unknown Python tag)."""


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page.

    Attributes:
        page: the page's file name.
        number: 1-based position among the page's Python blocks (run or not).
        line: 1-based line of the opening fence.
        code: the block's text, dedented to the fence's indentation.
        runs: False for ```python no-run blocks.
    """

    page: str
    number: int
    line: int
    code: str
    runs: bool


def _closes(line: str, marks: str) -> bool:
    """True when ``line`` closes a fence opened with ``marks`` (same character, no shorter)."""
    closing = _FENCE.match(line)
    return (
        closing is not None
        and not closing["info"]
        and closing["marks"][0] == marks[0]
        and len(closing["marks"]) >= len(marks)
    )


def parse_blocks(text: str, page: str) -> list[Block]:
    """Return the Python blocks of a Markdown page, in order.

    Raises:
        DocsFormatError: a fence is never closed, or its info string looks like
            Python but is neither ``python`` nor ``python no-run``.
    """
    blocks: list[Block] = []
    lines = text.splitlines()
    position = 0
    while position < len(lines):
        opening = _FENCE.match(lines[position])
        if opening is None:
            position += 1
            continue
        marks, indent, info = opening["marks"], opening["indent"], opening["info"]
        start = position
        body: list[str] = []
        position += 1
        while position < len(lines):
            if _closes(lines[position], marks):
                break
            line = lines[position]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            position += 1
        else:
            raise DocsFormatError(f"{page}, line {start + 1}: code fence is never closed")
        position += 1
        tag = " ".join(info.split())
        if tag not in (RUN, NO_RUN):
            if tag.lower().startswith("py"):
                raise DocsFormatError(
                    f"{page}, line {start + 1}: fence tag {info!r}; write "
                    f"```{RUN} (runs in tests) or ```{NO_RUN} (shown only)"
                )
            continue
        blocks.append(
            Block(page, len(blocks) + 1, start + 1, "\n".join(body) + "\n", runs=tag == RUN)
        )
    return blocks


def run_page(blocks: list[Block]) -> None:
    """Execute the runnable blocks in one namespace; fail naming page, block and error."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    for block in blocks:
        if not block.runs:
            continue
        filename = f"<docs/{block.page} block {block.number} (line {block.line})>"
        # Registered so tracebacks show the example's own lines.
        linecache.cache[filename] = (len(block.code), None, block.code.splitlines(True), filename)
        failure = None
        try:
            exec(compile(block.code, filename, "exec"), namespace)
        except Exception as exc:
            detail = "".join(traceback.format_exception(exc))
            failure = (
                f"docs/{block.page}, block {block.number} (line {block.line}) raised "
                f"{type(exc).__name__}: {exc}\n\n{detail}"
            )
        finally:
            linecache.cache.pop(filename, None)
        if failure is not None:
            pytest.fail(failure, pytrace=False)


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = parse_blocks(page.read_text(encoding="utf-8"), page.name)
    if not any(block.runs for block in blocks):
        pytest.skip(f"{page.name} has no runnable python blocks")
    monkeypatch.chdir(tmp_path)  # any file an example writes lands in a temporary directory
    try:
        run_page(blocks)
    finally:
        event.clear()


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_page_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    targets = [match["target"] for match in _LINK.finditer(text)]
    missing = [target for target in targets if not (page.parent / target).is_file()]
    assert not missing, f"{page.name} links to missing pages: {missing}"


def test_index_links_every_page() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    linked = {m["target"] for m in _LINK.finditer(index)}
    unlinked = [p.name for p in PAGES if p.parent == DOCS and p.name != "index.md" and p.name not in linked]
    assert not unlinked, f"docs/index.md does not link: {unlinked}"


def test_parse_blocks_skips_no_run_blocks() -> None:
    text = "```python\nx = 1\n```\n\n```python no-run\nopen('f')\n```\n"
    blocks = parse_blocks(text, "page.md")
    assert [(b.number, b.runs, b.code) for b in blocks] == [
        (1, True, "x = 1\n"),
        (2, False, "open('f')\n"),
    ]


def test_parse_blocks_ignores_other_languages() -> None:
    text = "```bash\npip install pytuck\n```\n```text\nUser(id=1)\n```\n"
    assert parse_blocks(text, "page.md") == []


def test_parse_blocks_dedents_indented_fences() -> None:
    text = "1. Step:\n\n   ```python\n   if True:\n       y = 2\n   ```\n"
    (block,) = parse_blocks(text, "page.md")
    assert block.code == "if True:\n    y = 2\n"


def test_parse_blocks_rejects_misspelled_python_tag() -> None:
    with pytest.raises(DocsFormatError, match="page.md, line 1"):
        parse_blocks("```python3\nx = 1\n```\n", "page.md")


def test_parse_blocks_rejects_unclosed_fence() -> None:
    with pytest.raises(DocsFormatError, match="never closed"):
        parse_blocks("text\n```python\nx = 1\n", "page.md")


def test_run_page_failure_names_page_block_and_error() -> None:
    text = "```python\nx = 1\n```\n```python\nassert x == 2, 'x is 1'\n```\n"
    expected = r"docs/p\.md, block 2 \(line 4\) raised AssertionError: x is 1"
    with pytest.raises(pytest.fail.Exception, match=expected):
        run_page(parse_blocks(text, "p.md"))


def test_run_page_shares_one_namespace_across_blocks() -> None:
    text = "```python\nx = 1\n```\n```python\nassert x == 1\n```\n"
    run_page(parse_blocks(text, "p.md"))  # fails if the second block cannot see x
