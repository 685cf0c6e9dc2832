"""The one error type a user can cause; the CLI prints its message and exits with code 2."""


class UserError(Exception):
    """A problem with something the user gave (a path, key, value or file).

    Its message is one sentence naming the input and what would be accepted; no traceback."""
