"""Named errors of the mail-server function; their class names appear in the ASL Retry/Catch."""

from __future__ import annotations


class MailuInstallerError(Exception):
    pass


class SshUnreachable(MailuInstallerError):
    """No SSH session could be opened, or it dropped under a command (refused, timed out, the
    connection lost before the command's end was reported): retry later."""


class HostKeyMismatch(MailuInstallerError):
    """The server presented a host key other than the pinned one: never connect; a human looks."""


class SshAuthRejected(MailuInstallerError):
    """The platform key was refused."""


class RemoteCommandFailed(MailuInstallerError):
    def __init__(self, command: str, exit_status: int, stderr_tail: str) -> None:
        super().__init__(f"{command} exited {exit_status}: {stderr_tail}")
        self.command = command
        self.exit_status = exit_status
        self.stderr_tail = stderr_tail


class MailuNotReady(MailuInstallerError):
    """The stack is not (yet) running and healthy, or its API is not answering: poll again."""


class MailuApiError(MailuInstallerError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Mailu API answered {status}: {message}")
        self.status = status


class MailboxNotFound(MailuApiError):
    pass


class InvalidMailuCommand(ValueError):
    pass
