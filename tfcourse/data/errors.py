"""The error every data-source problem raises (introduced in lesson L01's setup)."""


class DataSourceError(RuntimeError):
    """A dataset source is missing, corrupt, truncated or unsafe. Introduced in lesson L00.

    The message says which file, what was wrong, and (for a missing source) the exact
    command that installs it.
    """
