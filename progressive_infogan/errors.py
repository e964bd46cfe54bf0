"""The error a user can fix: the commands print its message on one line, without a traceback."""


class UserError(ValueError):
    """Bad input (a flag, a path, a run directory that does not match): the message says what to change.

    A ValueError, so library callers that catch ValueError keep working; `command_line.run`
    prints it as `<command>: error: <message>` and exits with status 2.
    """


class MissingPathError(UserError, FileNotFoundError):
    """A path the user gave that is not there, or lacks what it should hold (a checkpoint, a record file).

    Also a FileNotFoundError, which is what library callers of the loaders catch."""
