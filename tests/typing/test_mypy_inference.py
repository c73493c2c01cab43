"""mypy infers list[User] (and friends) from pytuck's API, as STYLE.md promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

CASE = Path(__file__).parent / "cases" / "typed_models.py"


@pytest.fixture(scope="module")
def mypy_output() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--strict", "--no-error-summary", str(CASE)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr


def _revealed(output: str) -> list[str]:
    """Revealed types, with module prefixes dropped (mypy versions spell them differently)."""
    found = []
    for line in output.splitlines():
        if "Revealed type is " in line:
            text = line.split("Revealed type is ", 1)[1].strip().strip('"')
            text = re.sub(r"[\w.]*typed_models\.", "", text).replace("builtins.", "")
            found.append(text)
    return found


def test_typed_example_has_no_errors_besides_reveals(mypy_output: str) -> None:
    errors = [line for line in mypy_output.splitlines() if "error:" in line]
    assert errors == []


def test_query_all_is_list_of_model(mypy_output: str) -> None:
    assert _revealed(mypy_output)[0] == "list[User]"


def test_execute_select_scalars_all_is_list_of_model(mypy_output: str) -> None:
    assert _revealed(mypy_output)[1] == "list[User]"


def test_first_and_get_are_optional_model(mypy_output: str) -> None:
    revealed = _revealed(mypy_output)
    assert revealed[2] == "User | None"
    assert revealed[3] == "User | None"


def test_instance_attribute_has_column_type(mypy_output: str) -> None:
    assert _revealed(mypy_output)[4] == "str"


def test_class_attribute_is_column_expression(mypy_output: str) -> None:
    assert _revealed(mypy_output)[5] == "pytuck.query.expressions.ColumnRef[int]"
