"""Text matching: ``like``/``ilike`` and the prefix/suffix/substring helpers
(DESIGN.md, Text matching): case-sensitive unless the name starts with ``i``,
``ilike`` folds ASCII case only, helpers escape ``%`` and ``_``.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import Column, Session, not_, select

TEXTS = [
    "Apple", "apple", "APPLE", "pineapple", "Ébène", "ébène", "straße", "STRASSE",
    "100%", "100 percent", "a_b", "axb", "back\\slash", "backslash", "line\nbreak", "Dée",
]


@pytest.fixture
def Note(Base: Any, storage: Any) -> Any:  # noqa: N802, N803
    """Notes whose text is both indexed and plain, plus one NULL."""

    class Note(Base):  # type: ignore[misc, valid-type]
        __tablename__ = "notes"
        id = Column(int, primary_key=True)
        text = Column(str, index=True)
        plain = Column(str)

    with Session(storage) as session:
        for text in TEXTS:
            session.add(Note(text=text, plain=text))
        session.add(Note(text=None, plain=None))
        session.commit()
    return Note


def matching(storage: Any, Note: Any, condition: Any) -> list[str]:  # noqa: N803
    """Texts of the notes matching ``condition``, sorted."""
    with Session(storage) as session:
        return sorted(session.execute(select(Note.plain).where(condition)).scalars().all())


COLUMNS = pytest.mark.parametrize("column", ["text", "plain"])


@COLUMNS
def test_like_is_case_sensitive(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.like("apple")) == ["apple"]
    assert matching(storage, Note, col.like("A%")) == ["APPLE", "Apple"]


@COLUMNS
def test_like_percent_matches_any_run_including_none(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.like("%apple")) == ["apple", "pineapple"]
    assert matching(storage, Note, col.like("%pp%")) == ["Apple", "apple", "pineapple"]


@COLUMNS
def test_like_underscore_matches_exactly_one_character(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.like("a_b")) == ["a_b", "axb"]
    assert matching(storage, Note, col.like("D_e")) == ["Dée"]
    assert matching(storage, Note, col.like("D__e")) == []


@COLUMNS
def test_like_must_match_the_whole_value(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.like("appl")) == []
    assert matching(storage, Note, col.like("pple")) == []


@COLUMNS
def test_like_percent_spans_line_breaks(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.like("line%break")) == ["line\nbreak"]


@COLUMNS
def test_like_backslash_escapes_wildcards(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.like("100\\%")) == ["100%"]
    assert matching(storage, Note, col.like("a\\_b")) == ["a_b"]


@COLUMNS
def test_like_excludes_null_and_so_does_its_negation(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    everything = matching(storage, Note, col.like("%"))
    assert everything == sorted(TEXTS)
    assert matching(storage, Note, not_(col.like("%"))) == []
    assert matching(storage, Note, col.not_like("A%")) == sorted(
        t for t in TEXTS if not t.startswith("A")
    )


@COLUMNS
def test_ilike_folds_ascii_case(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.ilike("apple")) == ["APPLE", "Apple", "apple"]
    assert matching(storage, Note, col.ilike("DÉE")) == []
    assert matching(storage, Note, col.ilike("dée")) == ["Dée"]


@COLUMNS
def test_ilike_does_not_fold_non_ascii_letters(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.ilike("ébène")) == ["ébène"]
    assert matching(storage, Note, col.ilike("ÉBÈNE")) == []
    assert matching(storage, Note, col.ilike("Éb%")) == ["Ébène"]
    # No Unicode case mapping either: ß is not SS.
    assert matching(storage, Note, col.ilike("strasse")) == ["STRASSE"]


@COLUMNS
def test_startswith_is_case_sensitive(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.startswith("App")) == ["Apple"]
    assert matching(storage, Note, col.startswith("É")) == ["Ébène"]


@COLUMNS
def test_endswith_is_case_sensitive(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.endswith("ple")) == ["Apple", "apple", "pineapple"]
    assert matching(storage, Note, col.endswith("PLE")) == ["APPLE"]


@COLUMNS
def test_contains_is_case_sensitive(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.contains("ppl")) == ["Apple", "apple", "pineapple"]
    assert matching(storage, Note, col.contains("PPL")) == ["APPLE"]


@COLUMNS
def test_istartswith_iendswith_icontains_fold_ascii_case(
    storage: Any, Note: Any, column: str  # noqa: N803
) -> None:
    col = getattr(Note, column)
    assert matching(storage, Note, col.istartswith("app")) == ["APPLE", "Apple", "apple"]
    assert matching(storage, Note, col.iendswith("PLE")) == ["APPLE", "Apple", "apple", "pineapple"]
    assert matching(storage, Note, col.icontains("PpL")) == ["APPLE", "Apple", "apple", "pineapple"]


@COLUMNS
def test_case_folding_helpers_do_not_fold_non_ascii_letters(
    storage: Any, Note: Any, column: str  # noqa: N803
) -> None:
    col = getattr(Note, column)
    assert matching(storage, Note, col.istartswith("éb")) == ["ébène"]
    assert matching(storage, Note, col.iendswith("ÈNE")) == []
    assert matching(storage, Note, col.icontains("ÉE")) == []


@COLUMNS
def test_helpers_escape_percent_in_their_argument(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.contains("%")) == ["100%"]
    assert matching(storage, Note, col.endswith("0%")) == ["100%"]
    assert matching(storage, Note, col.startswith("100%")) == ["100%"]
    assert matching(storage, Note, col.icontains("%")) == ["100%"]


@COLUMNS
def test_helpers_escape_underscore_in_their_argument(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.startswith("a_")) == ["a_b"]
    assert matching(storage, Note, col.contains("_")) == ["a_b"]
    assert matching(storage, Note, col.iendswith("_B")) == ["a_b"]


@COLUMNS
def test_helpers_match_a_backslash_literally(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.contains("\\")) == ["back\\slash"]
    assert matching(storage, Note, col.contains("k\\s")) == ["back\\slash"]


@COLUMNS
def test_empty_affix_matches_every_non_null_value(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, col.contains("")) == sorted(TEXTS)
    assert matching(storage, Note, col.startswith("")) == sorted(TEXTS)


@COLUMNS
def test_negated_helpers_exclude_null(storage: Any, Note: Any, column: str) -> None:  # noqa: N803
    col = getattr(Note, column)
    assert matching(storage, Note, not_(col.contains("p"))) == sorted(
        t for t in TEXTS if "p" not in t
    )


def test_contains_on_the_user_model_differs_from_pytuck_1x_folding(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    # Pytuck 1.x folded case in contains(); 2.x is case-sensitive (docs list it).
    with Session(storage) as session:
        assert [u.name for u in session.query(User).filter(User.name.contains("ann"))] == []
        assert [u.name for u in session.query(User).filter(User.name.icontains("ann"))] == ["Ann"]
