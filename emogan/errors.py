"""The project's user-facing errors: each str() is one line that names the problem and the file."""


class EmoganError(Exception):
    """A mistake in the user's input. The CLI prints it on one line and exits with status 2."""


class DataError(EmoganError):
    """A dataset path, image, CSV row or emotion selection that cannot be used."""


class RunError(EmoganError):
    """A run folder that is missing, damaged or does not hold what was asked for."""


class CheckpointError(RunError):
    """A weights file that is not a valid safetensors file for the model it claims to hold."""


class PathError(EmoganError):
    """A run name or path that would leave its root folder."""


def first_line(e: BaseException) -> str:
    """The first non-empty line of an exception's message, or its type's name when it has none: every one-line
    message the project prints is made from this (`str(e).splitlines()[0]` fails on an empty message)."""
    lines = [line for line in str(e).splitlines() if line.strip()]
    return lines[0] if lines else type(e).__name__
