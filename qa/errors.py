"""Domain errors. Library code raises these; only the CLI and UI turn them into short messages."""


class QAError(Exception):
    """Base class: the message is meant for a person and fits on one line."""


class ArticleError(QAError):
    """An article file cannot be read or holds no usable text."""


class IndexMissingError(QAError):
    pass


class IndexMismatchError(QAError):
    """The index was built by another embedder or format."""


class IndexLockedError(QAError):
    pass


class IndexConflictError(QAError):
    """Another writer committed a generation while this one was being built: write again on the newer one."""


class IndexStoreError(QAError):
    """The store named in QA_VECTOR_STORE cannot be reached or used."""


class ModelError(QAError):
    """Model weights are missing, corrupt or cannot be loaded."""


class QuestionError(QAError):
    """The question is empty, too long or otherwise unusable."""


class SettingsError(QAError):
    """A QA_* setting has a value of the wrong form."""
