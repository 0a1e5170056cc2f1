"""Why a command stopped, said in one line (no traceback): what the operator can act on."""

from __future__ import annotations


class CommandFailed(Exception):
    """A command cannot do what it was asked; the message says why, for the operator."""
