"""emogan/fields.py: dataclasses from JSON fields, with the types their annotations say."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from emogan.fields import from_fields, to_fields


@dataclass(frozen=True)
class Example:
    name: str = "x"
    count: int = 1
    rate: float = 0.5
    on: bool = False
    sizes: tuple[int, ...] = (1, 2)
    limit: int | None = None
    extras: dict = field(default_factory=dict)


def test_round_trip_and_defaults():
    e = Example(name="y", count=3, sizes=(4, 5), limit=7, extras={"a": 1})
    assert to_fields(e)["sizes"] == [4, 5]
    assert from_fields(Example, to_fields(e), "example") == e
    assert from_fields(Example, {}, "example") == Example()


def test_json_numbers_become_the_annotated_types():
    e = from_fields(Example, {"count": 3.0, "rate": 1, "sizes": [6.0], "limit": 2.0}, "example")
    assert (e.count, e.rate, e.sizes, e.limit) == (3, 1.0, (6,), 2)
    assert type(e.count) is int and type(e.rate) is float and type(e.limit) is int


@pytest.mark.parametrize("fields, message", [
    ({"colour": 1}, "unknown example keys: colour"),
    ({"count": 2.5}, "example count: expected int, got 2.5"),
    ({"count": True}, "example count: expected int, got True"),
    ({"rate": "0.1"}, "example rate: expected float, got '0.1'"),
    ({"on": 1}, "example on: expected bool, got 1"),
    ({"name": 3}, "example name: expected str, got 3"),
    ({"sizes": 3}, "example sizes: expected a list, got 3"),
    ({"sizes": ["a"]}, "example sizes: expected int, got 'a'"),
    ({"extras": [1]}, "example extras: expected an object, got \\[1\\]"),
])
def test_wrong_names_and_types_are_refused_naming_them(fields, message):
    with pytest.raises(ValueError, match=message):
        from_fields(Example, fields, "example")


def test_not_an_object_is_refused():
    with pytest.raises(ValueError, match="expected an object of fields, got list"):
        from_fields(Example, [1], "example")
