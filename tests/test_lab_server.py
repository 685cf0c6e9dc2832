"""The lab's server without a browser: Starlette's TestClient speaking the WebSocket protocol
(frames out, commands in, errors as messages with the state kept), a foreign Origin refused,
and ``gankit lab`` itself: a port in use is one sentence and exit 2, Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from gankit.lab.server import create_app
from gankit.lab.session import Session

ORIGIN = "http://testserver"
SMALL = ["data.n=600", "data.holdout=300", "model.g_hidden=[16,16]", "model.d_hidden=[16,16]",
         "train.batch_size=64"]  # fmt: skip


@pytest.fixture
def client():
    app = create_app(Session("ring8", overrides=SMALL), origins={ORIGIN})
    with TestClient(app) as c:
        yield c


def _until(ws, want, limit: int = 200) -> dict:
    """Messages until one for which ``want(msg)`` holds."""
    for _ in range(limit):
        msg = json.loads(ws.receive_text())
        if want(msg):
            return msg
    raise AssertionError("no such message")


def _frame_after(ws, ack: int) -> dict:
    return _until(ws, lambda m: m["type"] == "frame" and m["ack"] >= ack)


def test_page_and_its_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "gankit" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing fetched from elsewhere
    for name in ("lab.js", "draw.js", "lab.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "bce" in client.get("/choices").json()["loss.name"]


def test_frames_commands_and_errors(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"origin": ORIGIN}) as ws:
        first = _until(ws, lambda m: m["type"] == "frame")
        panel = first["panels"][0]
        assert panel["step"] == 0 and len(panel["real"]) > 0 and panel["dim"] == 2
        ws.send_text(json.dumps({"op": "step", "id": 1}))
        assert _frame_after(ws, 1)["panels"][0]["step"] == 1
        ws.send_text(json.dumps({"op": "set", "changes": {"optim.d_lr": -1}, "id": 2}))
        err = _until(ws, lambda m: m["type"] == "error")
        assert "optim.d_lr" in err["message"] and err["id"] == 2
        ws.send_text("not json")
        assert "could not read" in _until(ws, lambda m: m["type"] == "error")["message"]
        ws.send_text(json.dumps({"op": "draw", "points": [[0, 0]], "id": 3}))
        assert "at least 2" in _until(ws, lambda m: m["type"] == "error")["message"]
        ws.send_text(json.dumps({"op": "play", "id": 4}))
        playing = _until(ws, lambda m: m["type"] == "frame" and m["panels"][0]["step"] > 30)
        p = playing["panels"][0]
        assert p["controls"]["optim.d_lr"] > 0 and p["data"] == "ring8"  # state kept
        ws.send_text(json.dumps({"op": "pause", "id": 5}))
        paused = _frame_after(ws, 5)["panels"][0]
        assert not paused["playing"]


def test_side_by_side_trains_both_in_lockstep(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"origin": ORIGIN}) as ws:
        variants = [{"loss.name": "minimax"}, {"loss.name": "bce"}]
        ws.send_text(json.dumps({"op": "compare", "variants": variants, "id": 1}))
        ws.send_text(json.dumps({"op": "step", "n": 25, "id": 2}))
        panels = _frame_after(ws, 2)["panels"]
        assert [p["controls"]["loss.name"] for p in panels] == ["minimax", "bce"]
        assert [p["step"] for p in panels] == [25, 25]
        assert panels[0]["real"] == panels[1]["real"]  # the same data
        assert panels[0]["fake"] != panels[1]["fake"]  # different losses, different G


def test_closing_the_last_page_pauses(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"origin": ORIGIN}) as ws:
        ws.send_text(json.dumps({"op": "play", "id": 1}))
        assert _frame_after(ws, 1)["panels"][0]["playing"]
    worker = client.app.state.lab["worker"]
    for _ in range(100):
        if not worker.playing:
            break
        time.sleep(0.02)
    assert not worker.playing


@pytest.mark.parametrize("origin", ["http://evil.example", "http://testserver.evil:80", None])
def test_a_foreign_origin_is_refused(client: TestClient, origin: str | None) -> None:
    headers = {"origin": origin} if origin else {}
    with pytest.raises(WebSocketDisconnect) as e, client.websocket_connect("/ws", headers=headers):
        pass
    assert e.value.code == 1008


def test_the_lab_answers_only_its_own_host_names() -> None:
    app = create_app(Session("ring8", overrides=SMALL), host="127.0.0.1", port=8765)
    with TestClient(app, base_url="http://rebound.example") as c:
        assert c.get("/").status_code == 400  # a DNS-rebinding name gets no page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def test_port_in_use_is_one_sentence_and_exit_2(capsys: pytest.CaptureFixture) -> None:
    from gankit.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SystemExit) as done:
            main(["lab", "--port", str(port), "--no-open"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_ctrl_c_stops_the_server_cleanly() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gankit", "lab", "--port", str(port), "--no-open"],
        stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert "gankit lab at" in proc.stderr.readline()
        for _ in range(200):  # serving once the page answers
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[1]
    finally:
        proc.kill()
    assert proc.returncode == 0, rest
    assert "gankit lab stopped." in rest and "Traceback" not in rest


def test_slow_motion_trains_one_iteration_at_a_time(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"origin": ORIGIN}) as ws:
        ws.send_text(json.dumps({"op": "speed", "per_s": 500, "id": 1}))
        assert "0.1 to 100" in _until(ws, lambda m: m["type"] == "error")["message"]
        ws.send_text(json.dumps({"op": "speed", "per_s": 10, "id": 2}))
        ws.send_text(json.dumps({"op": "play", "id": 3}))
        tic = time.monotonic()
        _until(ws, lambda m: m["type"] == "frame" and m["panels"][0]["step"] >= 5)
        assert time.monotonic() - tic >= 0.35  # 10 a second: not at full speed


def test_bound_to_every_address_its_own_page_is_the_address_it_was_reached_by() -> None:
    app = create_app(Session("ring8", overrides=SMALL), host="0.0.0.0", port=8765)
    lan = {"host": "192.168.1.5:8765"}  # TestClient's WebSocket says "testserver" otherwise
    with TestClient(app, base_url="http://192.168.1.5:8765") as c:
        with c.websocket_connect("/ws", headers={**lan, "origin": "http://192.168.1.5:8765"}) as ws:
            assert _until(ws, lambda m: m["type"] == "frame")["panels"][0]["step"] == 0
        with (
            pytest.raises(WebSocketDisconnect),
            c.websocket_connect("/ws", headers={**lan, "origin": "http://evil.example"}),
        ):
            pass


def test_choosing_data_keeps_each_panels_variant(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"origin": ORIGIN}) as ws:
        variants = [{"loss.r1": 0}, {"loss.r1": 0.1}]
        ws.send_text(json.dumps({"op": "compare", "variants": variants, "id": 1}))
        ws.send_text(json.dumps({"op": "data", "name": "moons", "id": 2}))
        panels = _frame_after(ws, 2)["panels"]
        assert [p["data"] for p in panels] == ["moons", "moons"]
        assert [p["controls"]["loss.r1"] for p in panels] == [0, 0.1]


def test_a_scenario_goes_out_and_comes_back(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"origin": ORIGIN}) as ws:
        ws.send_text(json.dumps({"op": "set", "changes": {"loss.name": "hinge"}, "id": 1}))
        ws.send_text(json.dumps({"op": "scenario", "id": 2}))
        sc = _until(ws, lambda m: m["type"] == "scenario")["scenario"]
        assert sc["controls"]["loss.name"] == "hinge"
        ws.send_text(json.dumps({"op": "set", "changes": {"loss.name": "bce"}, "id": 3}))
        ws.send_text(json.dumps({"op": "open", "scenario": sc, "id": 4}))
        assert _frame_after(ws, 4)["panels"][0]["controls"]["loss.name"] == "hinge"
        ws.send_text(json.dumps({"op": "open", "scenario": {"nope": 1}, "id": 5}))
        assert "gankit_lab" in _until(ws, lambda m: m["type"] == "error")["message"]


def test_side_by_side_save_as_run_writes_every_panel(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """One run directory per panel, named by the panel and what it changes, each its own
    configuration and each read by ``gankit eval`` (in this process, as the session's test)."""
    from gankit.cli import main
    from gankit.run import RunDir

    with client.websocket_connect("/ws", headers={"origin": ORIGIN}) as ws:
        variants = [{"loss.name": "minimax"}, {"loss.name": "bce"}]
        ws.send_text(json.dumps({"op": "compare", "variants": variants, "id": 1}))
        ws.send_text(json.dumps({"op": "step", "n": 60, "id": 2}))
        ws.send_text(json.dumps({"op": "save", "path": str(tmp_path / "kept"), "id": 3}))
        saved = _until(ws, lambda m: m["type"] in ("saved", "error"), limit=2000)
    assert saved["type"] == "saved", saved
    paths = [Path(p) for p in saved["paths"]]
    assert [p.name for p in paths] == ["1-loss-minimax", "2-loss-bce"]
    for path, want in zip(paths, ("minimax", "bce"), strict=True):
        run = RunDir.open(path)
        assert run.config().loss.name == want and (path / "training.gif").is_file()
        with pytest.raises(SystemExit) as done:
            main(["eval", str(path)])
        assert done.value.code in (0, None), capsys.readouterr().err
        assert "modes captured" in capsys.readouterr().out
