"""What a supervisor action can fail with: an HTTP status, a code and a message for people."""

from __future__ import annotations


class CoachError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
