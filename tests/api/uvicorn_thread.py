"""A real uvicorn server for tests: the app in a background thread on a free 127.0.0.1 port."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager


@contextmanager
def running(app, startup_timeout: float = 30.0):
    """Serve ``app`` with uvicorn in a background thread on a free loopback port; yield its URL; stop it after."""
    import uvicorn

    from conflict_ie.api.service import bind, url_of

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
