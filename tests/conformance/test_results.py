"""Statements and their results: select/insert/update/delete through
``session.execute``, the Result and Row API, and the ``session.query`` façade.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import (
    MultipleResultsFound,
    NoResultFound,
    PytuckError,
    Query,
    Session,
    delete,
    func,
    insert,
    not_,
    select,
    update,
)

# --- select ------------------------------------------------------------------------


def test_select_of_a_model_yields_instances(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        users = session.execute(select(User).where(User.city == "Oslo").order_by(User.name)).all()
    assert all(isinstance(u, User) for u in users)
    assert [(u.name, u.age) for u in users] == [("Ann", 31), ("Dée", 18)]


def test_select_of_columns_yields_rows_by_name_and_index(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        row = session.execute(select(User.name, User.age).where(User.name == "Bob")).one()
    assert (row.name, row.age) == ("Bob", 70)
    assert (row["name"], row["age"]) == ("Bob", 70)
    assert (row[0], row[1]) == ("Bob", 70)
    assert tuple(row) == ("Bob", 70)
    assert row._mapping == {"name": "Bob", "age": 70}


def test_row_reports_an_unknown_name(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        row = session.execute(select(User.name).where(User.name == "Bob")).one()
    with pytest.raises(AttributeError, match="nope"):
        _ = row.nope
    with pytest.raises(KeyError, match="nope"):
        _ = row["nope"]


def test_result_keys_name_the_columns(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(select(User.name, User.age.label("years")))
    assert tuple(result.keys()) == ("name", "years")
    assert all(r.years == r[1] for r in result.all())


def test_select_with_filter_filter_by_order_limit_offset(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    stmt = (
        select(User.name, User.age)
        .filter(User.age != None)  # noqa: E711
        .filter_by(active=True)
        .order_by(User.age.desc(), User.name)
        .offset(1)
        .limit(2)
    )
    with Session(storage) as session:
        rows = session.execute(stmt).all()
    assert [tuple(r) for r in rows] == [("Ñu", 31), ("Dée", 18)]


def test_select_of_columns_with_distinct(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.execute(select(User.age).where(User.age < 60).distinct()).scalars().all()
    assert sorted(rows) == [18, 31]


def test_filter_by_on_a_select_of_columns(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        names = session.execute(select(User.name).filter_by(city="Bergen")).scalars().all()
    assert sorted(names) == ["Bob", "Ñu"]


def test_statements_are_immutable(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    base = select(User.name)
    narrowed = base.where(User.age > 60)
    with Session(storage) as session:
        assert len(session.execute(base).all()) == 6
        assert sorted(session.execute(narrowed).scalars().all()) == ["Bob", "Eve"]


# --- Result -----------------------------------------------------------------------


def test_all_returns_every_row(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert len(session.execute(select(User)).all()) == 6


def test_iterating_a_result_yields_its_rows(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        names = [row.name for row in session.execute(select(User.name).order_by(User.name))]
    assert names == ["Ann", "Bob", "Dée", "Eve", "cy", "Ñu"]


def test_first_returns_the_first_row_or_none(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        first = session.execute(select(User).order_by(User.age.desc().nulls_last())).first()
        none = session.execute(select(User).where(User.age > 100)).first()
    assert first is not None and first.name == "Bob"
    assert none is None


def test_one_returns_the_only_row(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        user = session.execute(select(User).where(User.name == "Eve")).one()
    assert user.age == 65


def test_one_raises_no_result_found(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session, pytest.raises(NoResultFound):
        session.execute(select(User).where(User.name == "Zed")).one()


def test_one_raises_multiple_results_found(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session, pytest.raises(MultipleResultsFound):
        session.execute(select(User).where(User.age == 31)).one()


def test_one_or_none(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.execute(select(User).where(User.name == "Zed")).one_or_none() is None
        found = session.execute(select(User).where(User.name == "Ann")).one_or_none()
        assert found is not None and found.name == "Ann"
        with pytest.raises(MultipleResultsFound):
            session.execute(select(User).where(User.age == 31)).one_or_none()


def test_scalar_returns_the_first_column_of_the_first_row(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        assert session.execute(select(User.name, User.age).order_by(User.name)).scalar() == "Ann"
        assert session.execute(select(User.name).where(User.age > 100)).scalar() is None
        assert session.scalar(select(func.max(User.age))) == 70


def test_scalars_returns_the_first_column_of_every_row(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        ages = session.execute(select(User.age, User.name).order_by(User.age)).scalars().all()
        users = session.execute(select(User).order_by(User.name)).scalars().all()
        assert sorted(session.scalars(select(User.age).where(User.age > 60))) == [65, 70]
    assert ages == [18, 31, 31, 65, 70, None]
    assert [u.name for u in users] == ["Ann", "Bob", "Dée", "Eve", "cy", "Ñu"]


def test_scalars_one_and_first(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.execute(select(User.age).where(User.name == "Bob")).scalars().one() == 70
        assert session.execute(select(User.age).where(User.name == "Zed")).scalars().first() is None
        with pytest.raises(NoResultFound):
            session.execute(select(User.age).where(User.name == "Zed")).scalars().one()


def test_null_values_come_back_as_none(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        row = session.execute(
            select(User.age, User.score, User.city, User.tags, User.email).where(User.name == "cy")
        ).one()
    assert tuple(row) == (None, None, None, None, None)


def test_each_row_of_one_model_is_one_instance_per_key(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        first = session.execute(select(User).where(User.name == "Ann")).one()
        again = session.execute(select(User).where(User.age == 31).order_by(User.name)).first()
    assert first is again


# --- insert -------------------------------------------------------------------------


def test_insert_values_dict(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(insert(User).values({"name": "Zed", "age": 40}))
        session.commit()
    assert result.rowcount == 1
    assert isinstance(result.inserted_primary_key, int)
    with Session(storage) as session:
        user = session.get(User, result.inserted_primary_key)
    assert user is not None and (user.name, user.age) == ("Zed", 40)


def test_insert_values_keywords(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(insert(User).values(name="Zed", city="Oslo"))
        session.commit()
    assert result.rowcount == 1
    with Session(storage) as session:
        user = session.query(User).filter_by(name="Zed").one()
    assert user.id == result.inserted_primary_key and user.city == "Oslo"


def test_insert_values_list_of_dicts(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(insert(User).values([{"name": "A"}, {"name": "B", "age": 2}]))
        session.commit()
    assert result.rowcount == 2
    assert len(result.inserted_primary_keys) == 2
    assert result.inserted_primary_key == result.inserted_primary_keys[-1]
    with Session(storage) as session:
        rows = session.execute(select(User.id, User.name, User.age).order_by(User.name)).all()
    assert [tuple(r) for r in rows] == [
        (result.inserted_primary_keys[0], "A", None), (result.inserted_primary_keys[1], "B", 2),
    ]


def test_insert_assigns_increasing_keys(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        keys = session.execute(insert(User).values([{"name": n} for n in "xyz"])).inserted_primary_keys
        biggest_before = session.execute(select(func.max(User.id)).where(User.name.in_(["Ann", "Ñu", "Bob"]))).scalar()
    assert keys == sorted(keys) and len(set(keys)) == 3
    assert keys[0] > biggest_before


def test_insert_with_an_explicit_key(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(insert(User).values(id=42, name="Zed"))
        session.commit()
    assert result.inserted_primary_key == 42
    with Session(storage) as session:
        assert session.get(User, 42) is not None


def test_insert_applies_column_defaults(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        session.execute(insert(User).values(name="Zed"))
        assert session.execute(select(User.active).where(User.name == "Zed")).scalar() is True


def test_insert_converts_values_to_column_types(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        session.execute(insert(User).values(name="Zed", age="41", score=3))
        row = session.execute(select(User.age, User.score).where(User.name == "Zed")).one()
    assert tuple(row) == (41, 3.0)
    assert type(row.age) is int and type(row.score) is float


def test_rows_inserted_but_not_committed_are_gone_after_rollback(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        session.execute(insert(User).values(name="Zed"))
        assert session.query(User).count() == 7
        session.rollback()
        assert session.query(User).count() == 6


# --- update and delete ---------------------------------------------------------------


def test_update_where_values_reports_rowcount(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(update(User).where(User.city == "Oslo").values(city="Bergen"))
        session.commit()
    assert result.rowcount == 2
    with Session(storage) as session:
        assert session.query(User).filter_by(city="Bergen").count() == 4


def test_update_with_an_expression(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(update(User).where(User.age < 40).values(age=User.age + 1))
        session.commit()
    assert result.rowcount == 3
    with Session(storage) as session:
        rows = session.execute(select(User.name, User.age).order_by(User.name)).all()
    assert [tuple(r) for r in rows] == [
        ("Ann", 32), ("Bob", 70), ("Dée", 19), ("Eve", 65), ("cy", None), ("Ñu", 32),
    ]


def test_update_with_an_expression_keeps_null_null(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(update(User).values(age=User.age * 2))
        ages = session.execute(select(User.age).order_by(User.age)).scalars().all()
    assert result.rowcount == 6
    assert ages == [36, 62, 62, 130, 140, None]


def test_update_reads_old_values_on_the_right_side(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    # Every assignment sees the row as it was: swapping two columns works.
    with Session(storage) as session:
        session.execute(
            update(User).where(User.name == "Ann").values(name=User.city, city=User.name)
        )
        row = session.execute(select(User.name, User.city).where(User.age == 31).order_by(User.name)).first()
    assert row is not None and tuple(row) == ("Oslo", "Ann")


def test_update_counts_matched_rows_even_when_unchanged(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        result = session.execute(update(User).where(User.age == 31).values(age=31))
    assert result.rowcount == 2


def test_update_matching_nothing_has_rowcount_zero(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(update(User).where(User.age > 100).values(age=1))
    assert result.rowcount == 0


def test_update_with_filter_by(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(update(User).filter_by(name="cy").values(age=20))
        assert result.rowcount == 1
        assert session.execute(select(User.age).where(User.name == "cy")).scalar() == 20


def test_update_sets_null_in_a_nullable_column(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        session.execute(update(User).where(User.name == "Ann").values(age=None))
        assert session.query(User).filter(User.age == None).count() == 2  # noqa: E711


def test_update_is_seen_by_instances_already_loaded(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        ann = session.query(User).filter_by(name="Ann").one()
        session.execute(update(User).where(User.name == "Ann").values(age=50))
        assert ann.age == 50


def test_delete_where_reports_rowcount(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(delete(User).where(User.age >= 65))
        session.commit()
    assert result.rowcount == 2
    with Session(storage) as session:
        assert sorted(u.name for u in session.query(User)) == ["Ann", "Dée", "cy", "Ñu"]


def test_delete_excludes_rows_where_the_condition_is_unknown(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        result = session.execute(delete(User).where(not_above(User)))
        assert result.rowcount == 3
        assert session.query(User).filter(User.name == "cy").count() == 1


def not_above(User: Any) -> Any:  # noqa: N803
    """Users not older than 40 (NULL ages are unknown, so not included)."""
    return not_(User.age > 40)


def test_delete_without_where_removes_every_row(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.execute(delete(User)).rowcount == 6
        assert session.query(User).count() == 0


def test_write_results_have_no_rows(storage: Any, User: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        result = session.execute(insert(User).values(name="Zed"))
        with pytest.raises(PytuckError):
            result.all()


# --- Query ---------------------------------------------------------------------------


def test_query_filter_and_filter_by(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.query(User).filter(User.age > 20).filter_by(city="Bergen").all()
    assert sorted(u.name for u in found) == ["Bob", "Ñu"]


def test_query_order_limit_offset(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        found = session.query(User).order_by(User.name.desc()).offset(1).limit(3).all()
    assert [u.name for u in found] == ["cy", "Eve", "Dée"]


def test_query_distinct_on_columns(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.query(User.city).filter(User.city != None).distinct().all()  # noqa: E711
    assert sorted(r.city for r in rows) == ["Bergen", "Oslo", "Trondheim"]


def test_query_first(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        first = session.query(User).order_by(User.age).first()
        assert first is not None and first.name == "Dée"
        assert session.query(User).filter(User.age > 100).first() is None


def test_query_one_and_one_or_none(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.query(User).filter_by(name="Eve").one().age == 65
        assert session.query(User).filter_by(name="Zed").one_or_none() is None
        with pytest.raises(NoResultFound, match="User"):
            session.query(User).filter_by(name="Zed").one()
        with pytest.raises(MultipleResultsFound, match="User"):
            session.query(User).filter_by(age=31).one()
        with pytest.raises(MultipleResultsFound):
            session.query(User).filter_by(age=31).one_or_none()


def test_query_scalar(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.query(User.name).order_by(User.name.desc()).scalar() == "Ñu"
        assert session.query(func.count(User.age)).scalar() == 5


def test_query_count(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.query(User).count() == 6
        assert session.query(User).filter(not_above(User)).count() == 3
        assert session.query(User.city).distinct().count() == 4
        assert session.query(User).order_by(User.name).offset(4).count() == 2


def test_query_exists(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        assert session.query(User).filter_by(name="Ann").exists() is True
        assert session.query(User).filter_by(name="Zed").exists() is False


def test_query_get_by_primary_key(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        ann = session.query(User).filter_by(name="Ann").one()
        assert session.query(User).get(ann.id) is ann
        assert session.query(User).get(10_000) is None


def test_query_iteration(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        names = [u.name for u in session.query(User).order_by(User.name)]
    assert names == ["Ann", "Bob", "Dée", "Eve", "cy", "Ñu"]


def test_query_update_returns_count_and_changes_rows(
    storage: Any, User: Any, people: Any  # noqa: N803
) -> None:
    with Session(storage) as session:
        count = session.query(User).filter(User.city == "Bergen").update({"age": User.age + 10})
        session.commit()
    assert count == 2
    with Session(storage) as session:
        ages = session.query(User.age).filter(User.city == "Bergen").order_by(User.age).all()
    assert [r.age for r in ages] == [41, 80]


def test_query_update_is_seen_by_loaded_instances(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        eve = session.query(User).filter_by(name="Eve").one()
        session.query(User).filter_by(name="Eve").update({"city": "Bodø"})
        assert eve.city == "Bodø"


def test_query_delete_returns_count(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        count = session.query(User).filter(User.active == False).delete()  # noqa: E712
        session.commit()
    assert count == 2
    with Session(storage) as session:
        assert session.query(User).count() == 4


def test_query_delete_detaches_loaded_instances(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        bob = session.query(User).filter_by(name="Bob").one()
        session.query(User).filter_by(name="Bob").delete()
        assert bob not in session
        assert session.query(User).get(bob.id) is None


def test_query_of_columns_yields_rows(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        rows = session.query(User.name, User.age).filter(User.age > 60).order_by(User.age).all()
    assert [(r.name, r["age"], r[1]) for r in rows] == [("Eve", 65, 65), ("Bob", 70, 70)]


def test_query_is_immutable(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        base: Query[Any] = session.query(User)
        base.filter(User.age > 60)
        assert base.count() == 6


def test_query_statement_runs_through_execute(storage: Any, User: Any, people: Any) -> None:  # noqa: N803
    with Session(storage) as session:
        stmt = session.query(User).filter(User.age > 60).statement
        assert len(session.execute(stmt).all()) == 2
