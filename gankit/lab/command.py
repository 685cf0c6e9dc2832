"""The body of ``gankit lab``: bind the port (a port in use is one sentence and exit 2, as
every error a user can cause), open the page, serve until Ctrl-C, then stop the training
thread and return."""

from __future__ import annotations

import errno
import socket
import sys
import threading
import webbrowser

from gankit.errors import UserError


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a UserError saying why not."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is not a port; give one from 1 to 65,535.")
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        raise UserError(f"--host {host} is not an address this machine has.") from None
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(info[4])
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise UserError(
                f"port {port} on {host} is in use (another gankit lab?); give another with --port."
            ) from None
        raise UserError(f"cannot listen on {host}:{port} ({e.strerror}).") from None
    sock.listen(64)
    return sock


def serve(host: str = "127.0.0.1", port: int = 8765, open_page: bool = True) -> None:
    import uvicorn

    from gankit.lab.server import MAX_MESSAGE, create_app

    sock = bind(host, port)
    port = sock.getsockname()[1]  # --port 0: the one the system chose
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    app = create_app(host=host, port=port)
    config = uvicorn.Config(
        app, log_level="warning", ws_max_size=MAX_MESSAGE, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)

    def announce() -> None:
        # once uvicorn serves: the line (and the browser's first request) find it answering
        while not server.started and not server.should_exit:
            threading.Event().wait(0.05)
        if server.started:
            print(f"gankit lab at {url} (Ctrl-C stops it)", file=sys.stderr, flush=True)
            if open_page:
                webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down, then raises the Ctrl-C it caught again
        pass
    finally:
        sock.close()
    print("gankit lab stopped.", file=sys.stderr, flush=True)
