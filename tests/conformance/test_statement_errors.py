"""Mistakes caught when a statement is built, before any engine sees it
(DESIGN.md, Errors): unknown columns, operands of the wrong type, and Python
``and``/``or``/``not`` on conditions. Each message names the model and column.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import (
    Column,
    ColumnNotFoundError,
    PytuckError,
    QueryError,
    Session,
    UnsupportedOperationError,
    delete,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)

# --- unknown columns ---------------------------------------------------------------


def assert_names(error: PytuckError, *words: str) -> None:
    """The error message mentions every word."""
    message = str(error)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_filter_by_unknown_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(ColumnNotFoundError) as caught:
        select(User).filter_by(nickname="x")
    assert_names(caught.value, "User", "nickname")
    assert caught.value.column_name == "nickname"


def test_query_filter_by_unknown_column(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session, pytest.raises(ColumnNotFoundError) as caught:
        session.query(User).filter_by(nickname="x")
    assert_names(caught.value, "User", "nickname")


def test_order_by_unknown_column_name(User: Any) -> None:  # noqa: N803
    with pytest.raises(ColumnNotFoundError) as caught:
        select(User).order_by("nickname", desc=True)
    assert_names(caught.value, "User", "nickname")


def test_order_by_unknown_column_name_on_a_select_of_columns(User: Any) -> None:  # noqa: N803
    with pytest.raises(ColumnNotFoundError) as caught:
        select(User.name).order_by("nickname")
    assert_names(caught.value, "User", "nickname")


def test_group_by_unknown_column_name(User: Any) -> None:  # noqa: N803
    with pytest.raises(ColumnNotFoundError) as caught:
        select(User.city, func.count()).group_by("town")
    assert_names(caught.value, "User", "town")


def test_insert_values_unknown_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(ColumnNotFoundError) as caught:
        insert(User).values(name="Ann", nickname="A")
    assert_names(caught.value, "User", "nickname")


def test_insert_values_list_with_an_unknown_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(ColumnNotFoundError) as caught:
        insert(User).values([{"name": "Ann"}, {"name": "Bob", "nickname": "B"}])
    assert_names(caught.value, "User", "nickname")


def test_update_values_unknown_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(ColumnNotFoundError) as caught:
        update(User).values({"nickname": "A"})
    assert_names(caught.value, "User", "nickname")


def test_query_update_unknown_column(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session, pytest.raises(ColumnNotFoundError) as caught:
        session.query(User).filter_by(name="Ann").update({"nickname": "A"})
    assert_names(caught.value, "User", "nickname")


def test_unknown_attribute_on_the_model_class(User: Any) -> None:  # noqa: N803
    with pytest.raises(AttributeError, match="nickname"):
        _ = User.nickname


def test_column_not_found_is_a_query_error() -> None:
    assert issubclass(ColumnNotFoundError, QueryError)


def test_failed_statement_leaves_the_data_untouched(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        with pytest.raises(ColumnNotFoundError):
            session.execute(update(User).values(nickname="x"))
        assert session.query(User).count() == 6


# --- operands of the wrong type ------------------------------------------------------


def test_comparing_an_int_column_with_text_that_is_no_number(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        _ = User.age == "abc"
    assert_names(caught.value, "User.age", "'abc'")


@pytest.mark.parametrize(
    "build",
    [
        lambda U: U.age > "old",
        lambda U: U.score <= "high",
        lambda U: U.active == "maybe",
        lambda U: U.name > b"\xff\xfe",
        lambda U: U.name == {"a": 1},
        lambda U: U.age == [1],
    ],
    ids=["int-gt-text", "float-le-text", "bool-eq-text", "text-gt-bytes", "text-eq-dict", "int-eq-list"],
)
def test_comparison_with_a_value_that_cannot_convert(User: Any, build: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match=r"User\.\w+"):
        build(User)


def test_comparing_two_columns_of_unrelated_types(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        _ = User.age == User.name
    assert_names(caught.value, "User.age", "User.name")


def test_ordering_comparison_on_a_json_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        _ = User.tags > ["a"]
    assert_names(caught.value, "User.tags")


def test_in_with_a_value_that_cannot_convert(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        User.age.in_([1, "two"])
    assert_names(caught.value, "User.age", "'two'")


def test_in_with_a_string_instead_of_a_list(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        User.name.in_("Ann")
    assert_names(caught.value, "User.name", "in_")


def test_between_with_bounds_that_cannot_convert(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        User.age.between("young", 30)
    assert_names(caught.value, "User.age", "'young'")


@pytest.mark.parametrize("method", ["like", "ilike", "startswith", "endswith", "contains", "icontains"])
def test_text_matching_on_an_int_column(User: Any, method: str) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        getattr(User.age, method)("1%")
    assert_names(caught.value, "User.age", method)


def test_text_matching_with_a_pattern_that_is_not_text(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        User.name.like(5)
    assert_names(caught.value, "User.name")
    with pytest.raises(QueryError):
        User.name.startswith(None)


@pytest.mark.parametrize(
    "build",
    [
        lambda U: U.name + 1,
        lambda U: 1 + U.name,
        lambda U: U.name * 2,
        lambda U: U.city - "x",
        lambda U: U.name / 2,
        lambda U: U.name // 2,
        lambda U: U.active + 1,
        lambda U: U.tags + [1],
        lambda U: U.age + "1",
    ],
    ids=["str-add", "radd-str", "str-mul", "str-sub", "str-div", "str-floordiv", "bool-add", "list-add", "int-add-str"],
)
def test_arithmetic_on_values_that_are_not_numbers(User: Any, build: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match=r"User\.\w+"):
        build(User)


def test_arithmetic_error_names_the_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        _ = User.name + 1
    assert_names(caught.value, "User.name", "str")


def test_arithmetic_error_names_the_column_when_the_value_is_wrong(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        _ = User.age + "1"
    assert_names(caught.value, "User.age", "'1'", "str")


def test_aggregate_needing_numbers_on_text(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        func.sum(User.name)
    assert_names(caught.value, "User.name")
    with pytest.raises(QueryError):
        func.avg(User.city)


def test_min_and_max_of_a_json_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        func.max(User.tags)
    assert_names(caught.value, "User.tags")


def test_ordering_by_a_json_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        select(User).order_by(User.tags)
    assert_names(caught.value, "User.tags")


def test_is_with_a_value_other_than_none(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        User.age.is_(3)
    assert_names(caught.value, "User.age")


def test_unknown_function(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match="median"):
        func.median(User.age)


# --- values and conditions in statements ------------------------------------------------


def test_update_assigning_an_expression_of_another_type(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        update(User).values(age=User.name)
    assert_names(caught.value, "User.age", "User.name")


def test_update_assigning_a_float_expression_to_an_int_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        update(User).values(age=User.age / 2)
    assert_names(caught.value, "User.age", "float", "//")


def test_update_assigning_an_int_expression_to_a_float_column_stores_a_float(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        session.execute(update(User).where(User.name == "Bob").values(score=User.age // 2))
        score = session.execute(select(User.score).where(User.name == "Bob")).scalar()
    assert score == 35.0 and type(score) is float


def test_update_of_the_primary_key(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        update(User).values(id=5)
    assert_names(caught.value, "User.id")


def test_update_without_values(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match="values"):
        update(User).values()


def test_where_with_a_string(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match="age > 5"):
        select(User).where("age > 5")


@pytest.mark.parametrize("build", [lambda U: U.age, lambda U: U.age + 1, lambda U: U.name])
def test_where_with_a_value_that_is_not_a_condition(User: Any, build: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        select(User).where(build(User))
    assert_names(caught.value, "User.")


def test_a_bool_column_is_a_condition(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        active = session.execute(select(User.name).where(User.active)).scalars().all()
        inactive = session.execute(select(User.name).where(not_(User.active))).scalars().all()
    assert sorted(active) == ["Ann", "Dée", "cy", "Ñu"]
    assert sorted(inactive) == ["Bob", "Eve"]


@pytest.mark.parametrize("combine", ["and_", "or_", "not_"])
def test_boolean_operators_refuse_values_that_are_not_conditions(
    User: Any, combine: str  # noqa: N803
) -> None:
    import pytuck

    with pytest.raises(QueryError) as caught:
        if combine == "not_":
            pytuck.not_(User.age)
        else:
            getattr(pytuck, combine)(User.age > 1, User.score * 2)
    assert_names(caught.value, "User.")


def test_boolean_operators_refuse_plain_python_values(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError):
        or_(User.age > 1, True)


def test_having_with_a_value_that_is_not_a_condition(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match="count"):
        select(User.city).group_by(User.city).having(func.count())


def test_update_and_delete_where_refuse_values_that_are_not_conditions(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError):
        update(User).where(User.age).values(age=1)
    with pytest.raises(QueryError):
        delete(User).where(User.name)


def test_limit_and_offset_refuse_negative_counts(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match="limit"):
        select(User).limit(-1)
    with pytest.raises(QueryError, match="offset"):
        select(User).offset(-5)
    with pytest.raises(QueryError, match="limit"):
        select(User).limit("10")  # type: ignore[arg-type]


def test_select_of_something_that_is_not_a_model_or_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match="'name'"):
        select("name")


def test_insert_of_something_that_is_not_a_model() -> None:
    with pytest.raises(QueryError):
        insert("users")


def test_execute_of_something_that_is_not_a_statement(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session, pytest.raises(QueryError):
        session.execute("SELECT 1")  # type: ignore[call-overload]


# --- conditions from another table ------------------------------------------------------


@pytest.fixture
def Order(Base: Any) -> Any:  # noqa: N802, N803
    """A second model, for statements that mix tables."""

    class Order(Base):  # type: ignore[misc, valid-type]
        __tablename__ = "orders"
        id = Column(int, primary_key=True)
        total = Column(int)

    return Order


def test_select_where_on_another_table_is_refused(User: Any, Order: Any) -> None:  # noqa: N803
    with pytest.raises(UnsupportedOperationError, match="orders"):
        select(User).where(Order.total > 5)


def test_update_and_delete_where_on_another_table_are_refused(User: Any, Order: Any) -> None:  # noqa: N803
    with pytest.raises(UnsupportedOperationError, match="orders"):
        update(User).where(Order.total > 5).values(age=1)
    with pytest.raises(UnsupportedOperationError, match="orders"):
        delete(User).where(Order.total > 5)
    with pytest.raises(UnsupportedOperationError, match="orders"):
        update(User).values(age=Order.total)


def test_select_of_columns_from_two_tables_is_refused(User: Any, Order: Any) -> None:  # noqa: N803
    with pytest.raises(UnsupportedOperationError):
        select(User.name, Order.total)


# --- Python's and/or/not on conditions --------------------------------------------------


def test_python_and_on_conditions(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        _ = (User.age > 5) and (User.age < 10)
    assert_names(caught.value, "User.age", "and_()")


def test_python_or_on_conditions(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        _ = (User.name == "Ann") or (User.name == "Bob")
    assert_names(caught.value, "User.name", "or_()")


def test_python_not_on_a_condition(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        _ = not (User.age > 5)
    assert_names(caught.value, "User.age", "not_()")


def test_chained_comparison(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError) as caught:
        _ = 5 < User.age < 10
    assert_names(caught.value, "User.age")


def test_if_on_a_condition(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match=r"User\.age"):
        if User.age == 5:
            pass


def test_python_in_on_a_column(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match=r"User\.age"):
        _ = User.age in [1, 2]


def test_nan_operand_is_refused_when_built(User: Any) -> None:  # noqa: N803
    with pytest.raises(QueryError, match="User.score"):
        User.score > float("nan")  # noqa: B015 - building it must raise
