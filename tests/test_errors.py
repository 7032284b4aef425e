"""emogan.errors: every one-line message is the first non-empty line of the error, or its type's name."""

from emogan.errors import DataError, first_line


def test_first_line_of_an_error():
    assert first_line(DataError("a.csv: bad row 3\n  detail")) == "a.csv: bad row 3"
    assert first_line(ValueError("\n\nsecond")) == "second"
    assert first_line(KeyError()) == "KeyError" and first_line(OSError("")) == "OSError"
