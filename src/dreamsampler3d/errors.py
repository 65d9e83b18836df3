"""One exception type for mistakes a user can fix; the CLI prints it as one line and exits non-zero."""


class UserError(Exception):
    """Bad input (model path, image, mask, config value): reported without a traceback."""


def require(cond: bool, message: str) -> None:
    """A config check: ``message`` (which names its key) as a UserError unless ``cond``."""
    if not cond:
        raise UserError(message)
