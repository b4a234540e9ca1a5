"""The engine's one error type: every failure a caller can act on is an EngineError."""


class EngineError(Exception):
    """A failure with a stable machine-readable code and a message for people."""

    code = "engine_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class ObjectNotFound(EngineError):
    code = "object_not_found"


class IntegrityMismatch(EngineError):
    """A stored artifact's hash differs from the one recorded for it."""

    code = "integrity_mismatch"


class InvalidInput(EngineError):
    code = "invalid_input"


class UnsafeCheckpoint(InvalidInput):
    """A checkpoint in a format whose loading can run code (pickle: .bin, .pt, ...)."""

    code = "unsafe_checkpoint"


class CheckpointMismatch(InvalidInput):
    """A checkpoint whose tensors do not match its config: loading it would initialise weights at random."""

    code = "checkpoint_mismatch"
