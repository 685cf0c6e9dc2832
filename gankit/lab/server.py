"""The lab's web app (Starlette, served by uvicorn): the page and its files from the package,
and one WebSocket per page over which commands go in and frames come out.

Safety: a WebSocket is accepted only from the lab's own page, its Origin one of the
lab's own addresses (``http://127.0.0.1:PORT``, ``http://localhost:PORT``, the host it binds),
so no other web site open in the same browser can drive it; the Host header is checked the
same way, so a site that rebinds its DNS name to 127.0.0.1 gets no page either.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from gankit.lab.session import Session
from gankit.lab.worker import Worker

STATIC = Path(__file__).parent / "static"
MAX_MESSAGE = 32 * 2**20  # bytes: a 20 MiB upload, base64-encoded, fits
UNREADABLE = "the lab could not read that request (not a JSON object)."


def control_choices() -> dict[str, Any]:
    """The values each of the page's menus offers, from gankit's own config and tables (so
    the page never lists a value the config refuses), and the palettes' colours."""
    from typing import get_args

    from gankit.config import Config
    from gankit.lab.controls import ENGINES, TOY_DATA
    from gankit.losses import LOSSES
    from gankit.viz.palette import PALETTES

    def literal(section: str, key: str) -> list[str]:
        field = Config.model_fields[section].annotation.model_fields[key]  # type: ignore[union-attr]
        return list(get_args(field.annotation))

    return {
        "loss.name": list(LOSSES),
        "optim.name": literal("optim", "name"),
        "model.latent_dist": literal("model", "latent_dist"),
        "model.g_activation": literal("model", "g_activation"),
        "model.d_activation": literal("model", "d_activation"),
        "train.engine": list(ENGINES),
        "viz.palette": list(PALETTES),
        "data": list(TOY_DATA),
        "palettes": {
            n: {"real": p.real, "fooled": p.fooled, "caught": p.caught} for n, p in PALETTES.items()
        },
    }


def own_origins(host: str, port: int) -> set[str]:
    """The Origins (and Hosts, without the scheme) of the lab's own page."""
    names = (
        {host, "127.0.0.1", "localhost", "[::1]"} if host in ("127.0.0.1", "localhost") else {host}
    )
    return {f"http://{n}:{port}" for n in names}


class Page:
    """One open page: the newest frame waiting for it (a newer one replaces it unsent)."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.latest: str | None = None  # the newest frame not yet sent
        self.replies: deque[str] = deque()  # answers to commands: each one is sent
        self.ready = asyncio.Event()

    def offer(self, text: str) -> None:
        self.latest = text
        self.ready.set()

    def answer(self, text: str) -> None:
        self.replies.append(text)
        self.ready.set()

    async def send_all(self) -> None:
        """One sender per page, so nothing is sent on a socket twice at once."""
        while True:
            await self.ready.wait()
            self.ready.clear()
            while self.replies:
                await self.ws.send_text(self.replies.popleft())
            text, self.latest = self.latest, None
            if text is not None:
                await self.ws.send_text(text)


def create_app(
    session: Session | None = None, host: str = "127.0.0.1", port: int = 8765,
    origins: set[str] | None = None,
) -> Starlette:  # fmt: skip
    """The lab's app around ``session`` (a ring8 session when None), accepting pages of
    ``origins`` (the lab's own addresses for ``host`` and ``port`` when None)."""
    allowed = origins if origins is not None else own_origins(host, port)
    wildcard = origins is None and host in ("0.0.0.0", "::")
    pages: set[Page] = set()
    state: dict[str, Any] = {}

    def publish(text: str) -> None:  # from the worker thread
        loop = state["loop"]
        for page in list(pages):
            loop.call_soon_threadsafe(page.offer, text)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["loop"] = asyncio.get_running_loop()
        worker = Worker(session or Session("ring8"), publish)
        state["worker"] = worker
        worker.start()
        try:
            yield
        finally:
            worker.stop()

    async def index(request: Any) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def choices(request: Any) -> Response:
        return JSONResponse(control_choices())

    async def socket(ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        # bound to every address (--host 0.0.0.0): its own page is whatever address it was
        # reached by, so the Origin must be that address (the Host the browser asked)
        own = wildcard and origin == f"http://{ws.headers.get('host')}"
        if origin not in allowed and not own:
            await ws.close(code=1008)  # policy violation: not the lab's own page
            return
        await ws.accept()
        worker: Worker = state["worker"]
        page = Page(ws)
        pages.add(page)
        worker.connected(+1)
        loop = asyncio.get_running_loop()

        def reply(msg: dict) -> None:  # from the worker thread
            loop.call_soon_threadsafe(page.answer, json.dumps(msg))

        task = asyncio.create_task(page.send_all())
        try:
            while True:
                raw = await ws.receive_text()
                try:
                    msg = json.loads(raw)
                    if not isinstance(msg, dict):
                        raise ValueError("not an object")
                except ValueError:
                    page.answer(json.dumps({"type": "error", "message": UNREADABLE}))
                    continue
                worker.submit(msg, reply)
        except WebSocketDisconnect:
            pass
        finally:
            task.cancel()
            pages.discard(page)
            worker.connected(-1)

    hosts = sorted(o.removeprefix("http://").rsplit(":", 1)[0].strip("[]") for o in allowed)
    if origins is not None:  # a test's own origins: Starlette's TestClient is "testserver"
        hosts.append("testserver")
    if wildcard:  # reachable by any of the machine's addresses, by the user's choice
        hosts = ["*"]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/choices", choices),
            Route("/favicon.ico", lambda request: Response(status_code=204)),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            WebSocketRoute("/ws", socket),
        ],
        lifespan=lifespan,
        middleware=middleware,
    )
    app.state.lab = state
    return app
