"""What the benchmarks share: a lean loopback HTTP/1.1 client and a free port."""

from __future__ import annotations

import re
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """A lean HTTP/1.1 keep-alive client: the load generator shares the server's two cores,
    so every millisecond it spends parsing is a millisecond taken from the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf = b""
        return self.sock

    def request(self, raw: bytes) -> tuple[int, bytes, bytes]:
        """Send one request; return (status, head, body). Bounded: at most 1 MiB read."""
        sock = self._connect()
        sock.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            self._recv(sock)
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        if re.search(rb"(?i)\r\ntransfer-encoding: *chunked", head):
            body, self.buf = self._chunked(sock, rest)
            return int(head[9:12]), head, body
        match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        length = int(match.group(1)) if match else 0
        while len(rest) < length:
            rest += self._recv(sock, keep=False)
        body, self.buf = rest[:length], rest[length:]
        if re.search(rb"(?i)\r\nconnection: *close", head):
            self.close()
        return int(head[9:12]), head, body

    def _chunked(self, sock: socket.socket, data: bytes) -> tuple[bytes, bytes]:
        """Decode a chunked body; return (body, what follows it)."""
        body = b""
        for _ in range(10_000):
            while b"\r\n" not in data:
                data += self._recv(sock, keep=False)
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                data += self._recv(sock, keep=False)
            body, data = body + data[:size], data[size + 2:]
            if size == 0:
                return body, data
        raise ConnectionError("too many chunks")

    def _recv(self, sock: socket.socket, keep: bool = True) -> bytes:
        chunk = sock.recv(65536)
        if not chunk or len(self.buf) > 1 << 20:
            self.close()
            raise ConnectionError("server closed the connection")
        if keep:
            self.buf += chunk
        return chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def wait_port(port: int, proc, attempts: int = 300) -> None:  # type: ignore[no-untyped-def]
    """Wait (bounded) until something listens on ``port``; fail if ``proc`` died first."""
    import time

    for _ in range(attempts):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                raise SystemExit(f"server exited: {err}")
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")
