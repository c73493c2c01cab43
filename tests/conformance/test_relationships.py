"""Relationships through a foreign-key column: many-to-one and one-to-many."""

from __future__ import annotations

from typing import Any

import pytest

from pytuck import Column, Relationship, Session, declarative_base


def declare_customer(base: Any, orders_target: Any) -> Any:
    """The parent model; its ``orders`` are found through ``Order.customer_id``."""

    class Customer(base):  # type: ignore[misc, valid-type]
        __tablename__ = "customers"
        id = Column(int, primary_key=True)
        name = Column(str)
        orders = Relationship(orders_target, foreign_key="customer_id")

    return Customer


def declare_order(base: Any, customer_target: Any) -> Any:
    """The child model; its ``customer_id`` holds the parent's key."""

    class Order(base):  # type: ignore[misc, valid-type]
        __tablename__ = "orders"
        id = Column(int, primary_key=True)
        item = Column(str)
        customer_id = Column(int, index=True)
        customer = Relationship(customer_target, foreign_key="customer_id")

    return Order


@pytest.fixture(params=["many-to-one by class", "one-to-many by class", "table names", "class names"])
def shop(request: pytest.FixtureRequest, storage: Any, Base: Any) -> tuple[Any, Any]:
    """Customer and Order linked both ways, each target given as the parameter says.

    A class target must exist when the relationship is declared, so the
    other side of a two-way pair names its target.
    """
    if request.param == "many-to-one by class":
        Customer = declare_customer(Base, "orders")
        Order = declare_order(Base, Customer)
    elif request.param == "one-to-many by class":
        Order = declare_order(Base, "customers")
        Customer = declare_customer(Base, Order)
    elif request.param == "table names":
        Customer = declare_customer(Base, "orders")
        Order = declare_order(Base, "customers")
    else:
        Customer = declare_customer(Base, "Order")
        Order = declare_order(Base, "Customer")

    with Session(storage) as session:
        ann, bob = Customer(name="Ann"), Customer(name="Bob")
        session.add_all([ann, bob, Customer(name="Cy")])
        session.flush()
        session.add_all(
            [
                Order(item="pen", customer_id=ann.id),
                Order(item="ink", customer_id=ann.id),
                Order(item="cap", customer_id=bob.id),
                Order(item="orphan", customer_id=None),
            ]
        )
    return Customer, Order


def test_many_to_one_loads_the_parent(storage: Any, shop: Any) -> None:
    customer, order = shop
    with Session(storage) as session:
        pen = session.query(order).filter_by(item="pen").one()
        assert pen.customer is not None and pen.customer.name == "Ann"


def test_many_to_one_parent_is_the_identity_mapped_instance(storage: Any, shop: Any) -> None:
    customer, order = shop
    with Session(storage) as session:
        ann = session.query(customer).filter_by(name="Ann").one()
        pen = session.query(order).filter_by(item="pen").one()
        assert pen.customer is ann


def test_many_to_one_with_an_empty_key_is_none(storage: Any, shop: Any) -> None:
    customer, order = shop
    with Session(storage) as session:
        assert session.query(order).filter_by(item="orphan").one().customer is None


def test_one_to_many_loads_the_children(storage: Any, shop: Any) -> None:
    customer, order = shop
    with Session(storage) as session:
        ann = session.query(customer).filter_by(name="Ann").one()
        assert sorted(o.item for o in ann.orders) == ["ink", "pen"]


def test_one_to_many_without_children_is_an_empty_list(storage: Any, shop: Any) -> None:
    customer, order = shop
    with Session(storage) as session:
        assert session.query(customer).filter_by(name="Cy").one().orders == []


def test_loaded_relationship_stays_readable_after_close(storage: Any, shop: Any) -> None:
    customer, order = shop
    with Session(storage) as session:
        bob = session.query(customer).filter_by(name="Bob").one()
        _ = bob.orders
    assert [o.item for o in bob.orders] == ["cap"]


def test_unknown_target_name_is_a_schema_error(storage: Any, Base: Any) -> None:
    from pytuck import SchemaError

    class Lonely(Base):
        __tablename__ = "lonely"
        id = Column(int, primary_key=True)
        friend_id = Column(int)
        friend = Relationship("nobody", foreign_key="friend_id")

    with Session(storage) as session:
        session.add(Lonely(friend_id=1))
        session.flush()
        with pytest.raises(SchemaError, match="nobody"):
            _ = session.query(Lonely).one().friend


def test_relationships_of_active_record_models_load_outside_a_session(storage: Any) -> None:
    base = declarative_base(storage, crud=True)

    class Author(base):  # type: ignore[misc, valid-type]
        __tablename__ = "authors"
        id = Column(int, primary_key=True)
        name = Column(str)
        books = Relationship("books", foreign_key="author_id")

    class Book(base):  # type: ignore[misc, valid-type]
        __tablename__ = "books"
        id = Column(int, primary_key=True)
        title = Column(str)
        author_id = Column(int)
        author = Relationship(Author, foreign_key="author_id")

    author = Author.create(name="Ann")
    Book.create(title="One", author_id=author.id)
    Book.create(title="Two", author_id=author.id)
    assert sorted(b.title for b in Author.get(author.id).books) == ["One", "Two"]
    assert Book.filter_by(title="Two").one().author.name == "Ann"


@pytest.mark.parametrize("reload", ["expire", "refresh"])
def test_loaded_one_to_many_reloads_with_its_instance(
    storage: Any, Base: Any, reload: str  # noqa: N803
) -> None:
    Customer = declare_customer(Base, "orders")
    Order = declare_order(Base, Customer)
    with Session(storage) as session:
        ann = Customer(name="Ann")
        session.add(ann)
        session.flush()
        assert ann.orders == []
        session.add(Order(item="tea", customer_id=ann.id))
        session.flush()
        getattr(session, reload)(ann)
        assert [o.item for o in ann.orders] == ["tea"]
