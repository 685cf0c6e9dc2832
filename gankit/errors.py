"""The one error type a user can cause; the CLI prints its message and exits with code 2."""


class UserError(Exception):
    """A problem with something the user gave (path, key, value, file): one sentence, no traceback."""
