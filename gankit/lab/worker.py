"""The lab's training thread: it alone touches the sessions, so no lock is held while a GAN
trains. Page commands reach it through a queue and run between training chunks (about
CHUNK_S apart), and it builds the frames too, at most FPS a second and only when something
changed, handing each to a ``publish`` callback; a slow page gets the newest frame, never a
backlog (the server keeps one frame per page and replaces it).

Several sessions train in lockstep (side by side): each gets the same number of iterations
per chunk, and all start from the same seed, so they see the same data and noise.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from gankit.errors import UserError
from gankit.lab import controls
from gankit.lab.session import CHUNK_S, Session

FPS = 22  # frames a second the chunks aim at (rows and snapshots stretch some: ~20 arrive)
IDLE_WAKE_S = 0.5  # a paused worker wakes this often (to see a stop): ~0 % of a core
MAX_PANELS = 3  # side by side: up to three configurations


class Worker:
    def __init__(self, session: Session, publish: Callable[[str], None]) -> None:
        self.sessions = [session]
        self.labels = [""]
        self.variants: list[dict[str, Any]] = [{}]  # side by side: what each panel changes
        self.publish = publish
        self.commands: queue.Queue[tuple[dict[str, Any], Callable[[dict], None]]] = queue.Queue()
        self.clients = 0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, name="gankit-lab-worker", daemon=True)
        self.ack = 0  # the id of the last command done: the page times its redraw by it
        self.dirty = True
        self.budget = CHUNK_S  # seconds of training between frames, adapted to keep FPS
        self.speed: float | None = None  # slow motion: iterations a second (None: full speed)
        self.next_iteration = 0.0

    # --- called from the server's event loop ----------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_flag.set()
        self.thread.join(timeout=10)
        for s in self.sessions:
            s.close()

    def submit(self, msg: dict[str, Any], reply: Callable[[dict], None]) -> None:
        self.commands.put((msg, reply))

    def connected(self, delta: int) -> None:
        """A page opened (+1) or closed (-1); the last one closing pauses training."""
        self.commands.put(({"op": "_clients", "delta": delta}, lambda _: None))

    # --- the thread ------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self.sessions[0].playing

    def _run(self) -> None:
        last_frame = 0.0
        while not self.stop_flag.is_set():
            # training: no wait (slow motion: until the next iteration is due); paused with a
            # frame due soon: until it is due; else idle
            wait = 0.0 if self.playing and self.clients > 0 else IDLE_WAKE_S
            if not wait and self.speed:
                wait = min(IDLE_WAKE_S, max(0.0, self.next_iteration - time.monotonic()))
            if wait and self.dirty and self.clients:
                wait = max(0.0, min(wait, last_frame + 1 / FPS - time.monotonic()))
            try:
                item: Any = (
                    self.commands.get(timeout=wait) if wait > 0 else self.commands.get_nowait()
                )
            except queue.Empty:
                item = None
            while item is not None:
                self._handle(*item)
                try:
                    item = self.commands.get_nowait()
                except queue.Empty:
                    item = None
            try:
                if self.playing and self.clients > 0:
                    self._advance()
                # while training, every chunk ends in a frame (the chunk is sized for FPS);
                # paused, commands coming fast share a frame at most every 1/FPS
                due = self.playing or time.monotonic() - last_frame >= 1 / FPS
                if self.dirty and self.clients and due:
                    self.publish(self.frame())
                    now = time.monotonic()
                    if self.playing and not self.speed:
                        # the chunk follows the frame period it gave: shorter chunks when
                        # frames come late (rows, snapshots and a busy machine stretch them)
                        period = max(now - last_frame, 1e-3)
                        self.budget = min(max(self.budget / (period * FPS), 0.005), 0.1)
                    last_frame, self.dirty = now, False
            except Exception as e:  # a fault of the lab's own: pause, say so, keep serving
                traceback.print_exc()
                for s in self.sessions:
                    s.pause()
                    s.message = f"training stopped: the lab failed ({type(e).__name__}: {e})."
                self.dirty = True

    def _advance(self) -> None:
        # a chunk fills the time between frames that building the last frame left
        lead = self.sessions[0]
        if self.speed:  # slow motion: one iteration at a time, speed of them a second
            if time.monotonic() < self.next_iteration:
                return
            self.next_iteration = time.monotonic() + 1 / self.speed
            for s in self.sessions:
                s.iterate(1)
            self.dirty = True
            return
        n = lead.advance(self.budget / len(self.sessions))
        for s in self.sessions[1:]:
            s.playing = lead.playing
            s.iterate(n)  # lockstep: the same iterations for every panel
        self.dirty = True

    def _handle(self, msg: dict[str, Any], reply: Callable[[dict], None]) -> None:
        op = msg.get("op")
        if op == "_clients":
            self.clients = max(0, self.clients + int(msg["delta"]))
            if self.clients == 0:
                for s in self.sessions:
                    s.pause()
            self.dirty = True
            return
        try:
            answer = self._do(str(op), msg)
            if answer is not None:
                reply(answer)
        except UserError as e:
            reply({"type": "error", "message": str(e), "id": msg.get("id")})
        except (KeyError, TypeError, ValueError, IndexError) as e:
            # a malformed message from the page: say so, keep the state
            reply({"type": "error", "message": f"the lab could not read that request ({e}).",
                   "id": msg.get("id")})  # fmt: skip
        except Exception as e:  # a fault of the lab's own: say so and keep serving
            traceback.print_exc()
            reply({"type": "error", "id": msg.get("id"),
                   "message": f"the lab failed at {op!r} ({type(e).__name__}: {e}); it carries "
                              "on as it was."})  # fmt: skip
        self.ack = max(self.ack, int(msg.get("id") or 0))
        self.dirty = True

    def _each(self, fn: Callable[[Session], Any]) -> None:
        for s in self.sessions:
            fn(s)

    def _do(self, op: str, msg: dict[str, Any]) -> dict[str, Any] | None:
        sessions = self.sessions
        if op == "play":
            self._each(lambda s: s.play())
        elif op == "pause":
            self._each(lambda s: s.pause())
        elif op == "step":
            n = int(msg.get("n", 1))
            if not 1 <= n <= 10_000:
                raise UserError(f"step takes 1 to 10,000 iterations, not {n}.")
            self._each(lambda s: s.iterate(n))
        elif op == "speed":
            speed = msg.get("per_s")
            if speed is not None and not (isinstance(speed, int | float) and 0.1 <= speed <= 100):
                raise UserError("slow motion takes 0.1 to 100 iterations a second.")
            self.speed = float(speed) if speed else None
        elif op == "d_step":
            self._each(lambda s: s.d_only())
        elif op == "g_step":
            self._each(lambda s: s.g_only())
        elif op == "reset":
            self._each(lambda s: s.reset())
        elif op == "set":
            self._set_all(dict(msg["changes"]))
        elif op == "data":  # each panel its preset's config, then its variant again
            name = str(msg["name"])
            self.sessions[0].choose_data(name)  # checks the name: a bad one changes nothing
            for s, variant in zip(self.sessions, self.variants, strict=True):
                if s is not self.sessions[0]:
                    s.choose_data(name)
                s.set(variant)
        elif op == "draw":
            self._rebuild_all(lambda s: s.draw(msg["points"]))
        elif op == "upload":
            content = base64.b64decode(str(msg["content"]), validate=True)
            self._rebuild_all(lambda s: s.upload(str(msg["name"]), content))
        elif op == "remedy":
            sessions[int(msg.get("panel", 0))].remedy(str(msg["command"]))
        elif op == "slice":
            self._each(lambda s: s.set_slice([int(d) for d in msg["dims"]]))
        elif op == "compare":
            self._compare(list(msg.get("variants") or []))
        elif op == "save":  # side by side: every panel, each a run of its own
            from gankit.lab.keep import save_runs

            paths = save_runs(sessions, self.variants, msg.get("path") or None, pictures=True)
            return {"type": "saved", "paths": [str(p) for p in paths], "id": msg.get("id")}
        elif op == "scenario":
            from gankit.lab.keep import scenario

            return {"type": "scenario", "scenario": scenario(sessions[0]), "id": msg.get("id")}
        elif op == "problem":
            from gankit.lab.keep import problem

            self._replace([problem(str(msg["name"]))], [""])
        elif op == "open":
            from gankit.lab.keep import open_scenario

            new = open_scenario(msg["scenario"])
            self._replace([new], [""])
        else:
            raise UserError(f"the lab has no command {op!r}.")
        return None

    def _set_all(self, changes: dict[str, Any]) -> None:
        # every panel validated first: one bad panel changes none
        for s in self.sessions:
            controls.changed(s.cfg, changes)
        self._each(lambda s: s.set(changes))

    def _rebuild_all(self, fn: Callable[[Session], None]) -> None:
        fn(self.sessions[0])  # the first panel checks the input: a bad one changes nothing
        for s in self.sessions[1:]:
            fn(s)

    def _compare(self, variants: list[dict[str, Any]]) -> None:
        """Panels of the first one's config, each with one variant's changes (e.g.
        ``[{"loss.name": "minimax"}, {"loss.name": "bce"}]``); fewer than two: one panel."""
        base = self.sessions[0]
        if len(variants) > MAX_PANELS:
            raise UserError(f"side by side shows at most {MAX_PANELS} configurations.")
        if len(variants) < 2:
            self._replace([base], [""], [{}])
            return
        cfgs = [controls.changed(base.cfg, dict(v)) for v in variants]  # all checked first
        # one folder for all panels (drawn or uploaded points live there), owned by the first
        new = [Session(base.preset, folder=base.folder, config=cfg) for cfg in cfgs]
        new[0]._own_folder, base._own_folder = base._own_folder, False
        labels = [", ".join(f"{k} = {v}" for k, v in v.items()) for v in variants]
        for s in new:
            s.playing = base.playing
        self._replace(new, labels, [dict(v) for v in variants])

    def _replace(
        self, sessions: list[Session], labels: list[str], variants: list[dict] | None = None
    ) -> None:
        for s in self.sessions:
            if s not in sessions:
                s.close()
        self.sessions, self.labels = sessions, labels
        self.variants = variants or [{} for _ in sessions]

    def frame(self) -> str:
        panels = []
        for s, label in zip(self.sessions, self.labels, strict=True):
            f = s.frame()
            f["label"] = label
            f.update(s.views.real_points())
            panels.append(f)
        return json.dumps({"type": "frame", "ack": self.ack, "panels": panels})
