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
