"""The SQL compiler: parameters, quoting, NULL placement and the statement-shape cache."""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import Column, Storage, declarative_base, func, not_, or_, select
from pytuck.engines.sql.compiler import Compiler, like_pattern
from pytuck.engines.sql.dialect import Dialect, Operand
from pytuck.errors import QueryError, SchemaError
from pytuck.query.statements import delete, update


class CountingDialect(Dialect):
    """The portable dialect, counting every hook call that renders SQL text."""

    def __init__(self) -> None:
        self.calls = 0

    def quote(self, name: str) -> str:
        self.calls += 1
        return super().quote(name)

    def placeholder(self, position: int) -> str:
        self.calls += 1
        return super().placeholder(position)

    def comparison(self, op: str, left: Operand, right: Operand) -> str:
        self.calls += 1
        return super().comparison(op, left, right)


@pytest.fixture
def User() -> Any:  # noqa: N802
    base: Any = declarative_base(Storage(in_memory=True))

    class User(base):  # type: ignore[misc, valid-type]
        __tablename__ = "users"
        id = Column(int, primary_key=True)
        name = Column(str)
        age = Column(int, nullable=True)

    return User


def test_a_cached_shape_returns_the_same_compiled_statement(User: Any) -> None:  # noqa: N803
    compiler = Compiler(Dialect())
    first, first_values = compiler.select(select(User).where(User.age > 30, User.name == "Ann"))
    second, second_values = compiler.select(select(User).where(User.age > 70, User.name == "Bob"))
    assert second is first
    assert first_values == [30, "Ann"] and second_values == [70, "Bob"]


def test_a_cache_hit_renders_no_sql(User: Any) -> None:  # noqa: N803
    dialect = CountingDialect()
    compiler = Compiler(dialect)
    compiler.select(select(User).where(User.age.in_([1, 2])).order_by(User.name).limit(3))
    assert dialect.calls > 0
    dialect.calls = 0
    compiler.select(select(User).where(User.age.in_([8, 9])).order_by(User.name).limit(5))
    assert dialect.calls == 0


def test_in_list_length_is_part_of_the_shape(User: Any) -> None:  # noqa: N803
    compiler = Compiler(Dialect())
    two, _ = compiler.select(select(User).where(User.age.in_([1, 2])))
    three, _ = compiler.select(select(User).where(User.age.in_([1, 2, 3])))
    assert two is not three
    assert three.sql.count("?") == 3


def test_values_travel_only_as_parameters(User: Any) -> None:  # noqa: N803
    hostile = "'; DROP TABLE users; --"
    compiled, values = Compiler(Dialect()).select(select(User).where(User.name == hostile))
    assert hostile not in compiled.sql
    assert compiled.parameters(values) == [hostile]


def test_update_and_delete_are_parameterised(User: Any) -> None:  # noqa: N803
    compiler = Compiler(Dialect())
    compiled, values = compiler.update(update(User).where(User.id == 4).values(age=User.age + 1))
    assert compiled.sql == 'UPDATE "users" SET "age" = ("age" + ?) WHERE ("id" = ?)'
    assert compiled.parameters(values) == [1, 4]
    compiled, values = compiler.delete(delete(User).where(User.name == "x"))
    assert compiled.sql == 'DELETE FROM "users" WHERE ("name" = ?)'


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("users", '"users"'),
        ("my table", '"my table"'),
        ('we"ird', '"we""ird"'),
        ("select", '"select"'),
        ("Ünïcødé", '"Ünïcødé"'),
    ],
)
def test_identifiers_are_always_quoted(name: str, quoted: str) -> None:
    assert Dialect().quote(name) == quoted


def test_an_identifier_with_nul_is_refused() -> None:
    with pytest.raises(SchemaError, match="NUL"):
        Dialect().quote("bad\x00name")


def test_order_by_always_names_null_placement(User: Any) -> None:  # noqa: N803
    compiler = Compiler(Dialect())
    compiled, _ = compiler.select(
        select(User.id).order_by(User.age, User.name.desc(), User.id.nulls_first())
    )
    assert compiled.sql.endswith(
        'ORDER BY "age" ASC NULLS LAST, "name" DESC NULLS FIRST, "id" ASC NULLS FIRST'
    )


def test_empty_in_list_is_a_constant(User: Any) -> None:  # noqa: N803
    compiler = Compiler(Dialect())
    compiled, values = compiler.select(select(User.id).where(User.age.in_([])))
    assert compiled.sql.endswith("WHERE (1 = 0)") and values == []
    compiled, _ = compiler.select(select(User.id).where(User.age.not_in([])))
    assert compiled.sql.endswith("WHERE (1 = 1)")


def test_an_aggregate_in_where_is_refused(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match="aggregate"):
        Compiler(Dialect()).select(select(User.id).where(func.count() > 2))


def test_double_negation_and_nested_ors_render_flat(User: Any) -> None:  # noqa: N803
    condition = not_(not_(or_(or_(User.age == 1, User.age == 2), User.age == 3)))
    compiled, values = Compiler(Dialect()).select(select(User.id).where(condition))
    assert compiled.sql.endswith('WHERE (("age" = ?) OR ("age" = ?) OR ("age" = ?))')
    assert values == [1, 2, 3]


def test_limit_and_offset_are_parameters(User: Any) -> None:  # noqa: N803
    compiled, values = Compiler(Dialect()).select(select(User.id).limit(5).offset(10))
    assert compiled.sql.endswith("LIMIT ? OFFSET ?")
    assert compiled.parameters(values) == [5, 10]


@pytest.mark.parametrize(
    ("pattern", "sent"),
    [("a%", "a%"), ("a\\", "a\\\\"), ("a\\\\", "a\\\\"), ("a\\\\\\", "a\\\\\\\\"), ("", "")],
)
def test_a_trailing_lone_escape_is_sent_as_a_literal_backslash(pattern: str, sent: str) -> None:
    assert like_pattern(pattern) == sent
