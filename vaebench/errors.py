"""The one exception type that means "the user asked for something we cannot do"."""


class VaebenchError(Exception):
    """Bad input: the CLI prints the message on one line and exits with code 2."""
