"""The self-check in JupyterLab: a real server on the loopback, a notebook opened and run
through its REST API and kernel channel, and the page rendered by headless Chromium."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import nbformat
import pytest
import websocket

from autograder.building.notebook import source_notebook
from autograder.grading.program import is_answer, is_setup

from conftest import COURSE, ROOT

A, NOTEBOOK = "01_regression", "regression"
TOKEN = uuid.uuid4().hex
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of release/01_regression on 127.0.0.1 with a token."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "release" / A, root / A)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                _api(url, "GET", "/api/status")
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 2 minutes")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def _api(url: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{url}{path}", method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")


def _execute(channel: websocket.WebSocket, session: str, code: str) -> list[dict]:
    """Run ``code`` in the kernel (Jupyter's message protocol); the outputs it produced."""
    msg_id = uuid.uuid4().hex
    channel.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                   "username": "test", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": False}}))
    outputs = []
    while True:
        message = json.loads(channel.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id or message["channel"] != "iopub":
            continue
        kind = message["msg_type"]
        if kind in ("execute_result", "display_data", "stream", "error"):
            outputs.append({"type": kind, **message["content"]})
        if kind == "status" and message["content"]["execution_state"] == "idle":
            return outputs


def test_the_self_check_cell_checks_the_answers_the_kernel_ran(lab):
    """The student types the answers and runs them, never saving: the file still holds stubs,
    and the self-check grades what the kernel ran."""
    path = f"{A}/{NOTEBOOK}.ipynb"
    cells = _api(lab, "GET", f"/api/contents/{path}")["content"]["cells"]
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source
              for c in source_notebook(COURSE.layout.template(A, NOTEBOOK), A, dict(COURSE.assignment(A).thresholds)).cells
              if is_answer(c)}
    session = _api(lab, "POST", "/api/sessions", {"path": path, "type": "notebook", "name": path,
                                                 "kernel": {"name": "python3"}})
    channel = websocket.create_connection(
        f"{lab.replace('http', 'ws')}/api/kernels/{session['kernel']['id']}/channels?token={TOKEN}", timeout=600)
    try:
        for cell in cells:
            if is_setup(cell) or is_answer(cell):
                source = solved[cell["metadata"]["nbgrader"]["grade_id"]] if is_answer(cell) else cell["source"]
                assert not [o for o in _execute(channel, session["id"], source) if o["type"] == "error"]
        outputs = _execute(channel, session["id"], cells[-1]["source"])
    finally:
        channel.close()
        _api(lab, "DELETE", f"/api/sessions/{session['id']}")
    [result] = [o["data"] for o in outputs if o["type"] == "execute_result"]
    assert "<table class='self-check'>" in result["text/html"] and "from the cells this kernel ran" in result["text/html"]
    [total] = [line for line in result["text/plain"].splitlines() if line.startswith("total:")]
    earned, possible = total.removeprefix("total: ").split("/")
    assert earned == possible and "not implemented" not in result["text/plain"]
    saved = _api(lab, "GET", f"/api/contents/{path}")["content"]["cells"]
    assert all("raise NotImplementedError()" in c["source"] for c in saved if is_answer(c))

@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (make sandbox-tools installs it)")
def test_the_notebook_opens_in_jupyterlab_in_a_real_browser(lab, tmp_path):
    page = f"{lab}/lab/tree/{A}/{NOTEBOOK}.ipynb?token={TOKEN}"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=30000"]
    dom = subprocess.run(command + ["--dump-dom", page], capture_output=True, text=True, timeout=300).stdout
    title = nbformat.read(ROOT / "release" / A / f"{NOTEBOOK}.ipynb", as_version=4).cells[0].source.splitlines()[0]
    assert title.lstrip("# ") in dom, "the page does not show the notebook's title"
    subprocess.run(command + [f"--screenshot={tmp_path / 'lab.png'}", page], capture_output=True, timeout=300)
    assert (tmp_path / "lab.png").stat().st_size > 20_000
