"""SFTP into the host's sandbox: asyncssh's own SFTP server chrooted to the folder that plays
`/`, so files keep real modes (an `fchmod` on an open handle, `mkdir` modes, posix-rename), plus
a record of every change a client makes, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncssh
from asyncssh.constants import FXF_APPEND, FXF_CREAT, FXF_TRUNC, FXF_WRITE

Record = Callable[[str, str], None]  # (operation, path as the client named it)
_WRITE_FLAGS = FXF_WRITE | FXF_CREAT | FXF_TRUNC | FXF_APPEND


def _text(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


class SandboxSFTPServer(asyncssh.SFTPServer):
    def __init__(self, chan: asyncssh.SSHServerChannel[Any], *, root: str, record: Record) -> None:
        super().__init__(chan, chroot=root.encode())
        self._record = record
        self._open_paths: dict[int, str] = {}

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        file_obj = super().open(path, pflags, attrs)
        if pflags & _WRITE_FLAGS:
            self._record("write", _text(path))
        self._open_paths[id(file_obj)] = _text(path)
        return file_obj

    def close(self, file_obj: object) -> None:
        self._open_paths.pop(id(file_obj), None)
        super().close(file_obj)

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        super().fsetstat(file_obj, attrs)
        self._record("setstat", self._open_paths.get(id(file_obj), "?"))

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        super().setstat(path, attrs)
        self._record("setstat", _text(path))

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        super().mkdir(path, attrs)
        self._record("mkdir", _text(path))

    def rmdir(self, path: bytes) -> None:
        super().rmdir(path)
        self._record("rmdir", _text(path))

    def remove(self, path: bytes) -> None:
        super().remove(path)
        self._record("remove", _text(path))

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().rename(oldpath, newpath)
        self._record("rename", _text(newpath))

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().posix_rename(oldpath, newpath)
        self._record("rename", _text(newpath))

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        super().symlink(oldpath, newpath)
        self._record("symlink", _text(newpath))

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        super().link(oldpath, newpath)
        self._record("link", _text(newpath))
