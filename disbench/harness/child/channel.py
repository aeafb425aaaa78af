"""How the harness and a submission's child process talk: JSON messages and shared memory.

Control messages are length-prefixed JSON over a pair of pipes, in both directions: the harness
never unpickles anything the child sends (unpickling is code execution), and a message is
refused above ``MAX_MESSAGE`` bytes. Observations and codes travel through float32 tensors in
memory both processes map (a ``memfd``), so a batch crosses the boundary without a copy through
a pipe: the harness writes observations the child only reads, the child writes codes and
pictures the harness checks before using.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import select
import struct
import time
from typing import Any

import torch

from disbench.error import DisbenchError

HEADER = struct.Struct(">I")
MAX_MESSAGE = 1 << 20


class ChannelClosed(DisbenchError):
    """The other side closed the channel (it exited or crashed)."""


class ChannelTimeout(DisbenchError):
    """The other side did not answer in time."""


class Channel:
    """One end of a duplex JSON channel over two pipe file descriptors."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd

    def send(self, kind: str, **payload: Any) -> None:
        data = json.dumps({"kind": kind, **payload}, allow_nan=False).encode()
        view = memoryview(HEADER.pack(len(data)) + data)
        while view:
            view = view[os.write(self.write_fd, view):]

    def recv(self, timeout: float | None = None) -> dict[str, Any]:
        """The next message; ``ChannelTimeout`` after ``timeout`` seconds, ``ChannelClosed`` at EOF."""
        deadline = None if timeout is None else time.monotonic() + timeout
        (size,) = HEADER.unpack(self._read(HEADER.size, deadline))
        if size > MAX_MESSAGE:
            raise ChannelClosed(f"a message of {size:,} bytes is over the {MAX_MESSAGE:,}-byte limit")
        try:
            message = json.loads(self._read(size, deadline))
        except ValueError as e:
            raise ChannelClosed(f"an unreadable message ({e})") from None
        if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
            raise ChannelClosed("a message without a kind")
        return message

    def _read(self, n: int, deadline: float | None) -> bytes:
        chunks, left = [], n
        while left:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.read_fd], [], [], wait)
            if not ready:
                raise ChannelTimeout("no answer in time")
            chunk = os.read(self.read_fd, left)
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


class SharedTensor:
    """A float32 tensor in an anonymous memory file (memfd) that a child process can map too."""

    def __init__(self, fd: int, shape: tuple[int, ...]) -> None:
        self.fd, self.shape = fd, tuple(shape)
        numel = math.prod(self.shape)
        self.tensor = torch.from_file(f"/proc/self/fd/{fd}", shared=True, size=numel, dtype=torch.float32).view(self.shape)

    @classmethod
    def create(cls, shape: tuple[int, ...], name: str = "disbench") -> SharedTensor:
        """Sealed at its size: a child that truncated it would make the harness's next write into
        the mapping a SIGBUS, killing the harness with no record and no reason."""
        fd = os.memfd_create(name, os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, 4 * math.prod(shape))
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
        os.set_inheritable(fd, True)
        return cls(fd, shape)

    def spec(self) -> dict[str, Any]:
        return {"fd": self.fd, "shape": list(self.shape)}

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
