"""A real Label Studio server for the round-trip tests, started once per session and removed afterwards.

The server lives in its own virtualenv (``scripts/install_label_studio.sh``, default ``.venv-label-studio``; another
path through ``LABEL_STUDIO_VENV``). Without it the tests skip, unless ``CONFLICT_IE_REQUIRE_LABEL_STUDIO`` is set
(as ``.ci/run`` does): then the fixture installs it, and a server that cannot be installed or started fails the run.

The server binds to 127.0.0.1 on a free port, keeps its database and files in a temporary folder, and gets a temporary
HOME (it writes ~/.local/share/label-studio and ~/.config/label-studio otherwise). Teardown stops its process group
and deletes the folder, so a run leaves nothing behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install_label_studio.sh"
SEEDS_DIR = REPO_ROOT / "seeds"
SEED_GOLD = REPO_ROOT / "annotations" / "seeds.json"
HEALTH_TIMEOUT_S = 300
INSTALL_TIMEOUT_S = 1800


def pytest_configure(config):
    config.addinivalue_line("markers", "label_studio: starts a real Label Studio server; run with -m label_studio")


def _required() -> bool:
    return os.environ.get("CONFLICT_IE_REQUIRE_LABEL_STUDIO", "").strip().lower() not in ("", "0", "false", "no")


def _venv() -> Path:
    return Path(os.environ.get("LABEL_STUDIO_VENV") or REPO_ROOT / ".venv-label-studio")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class StudioServer:
    url: str
    token: str
    username: str
    data_dir: Path


def _label_studio_executable() -> Path:
    executable = _venv() / "bin" / "label-studio"
    if executable.exists():
        return executable
    if not _required():
        pytest.skip(f"no Label Studio server in {_venv()}: run `bash scripts/install_label_studio.sh` "
                    "(or set CONFLICT_IE_REQUIRE_LABEL_STUDIO=1 to install it and make these tests required)")
    started = time.monotonic()
    completed = subprocess.run(["bash", str(INSTALL_SCRIPT), str(_venv())], capture_output=True, text=True,
                               timeout=INSTALL_TIMEOUT_S)
    if completed.returncode != 0 or not executable.exists():
        pytest.fail(f"CONFLICT_IE_REQUIRE_LABEL_STUDIO is set and installing the server failed "
                    f"(exit {completed.returncode}):\n{(completed.stdout + completed.stderr)[-4000:]}")
    print(f"installed Label Studio in {time.monotonic() - started:.0f} s")
    return executable


def _tail(path: Path, size: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-size:]
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def studio_server():
    """A running Label Studio server on loopback with a random API token; stopped and deleted afterwards."""
    import httpx

    executable = _label_studio_executable()
    root = Path(tempfile.mkdtemp(prefix="conflict-ie-label-studio-"))
    data_dir, home = root / "data", root / "home"
    data_dir.mkdir()
    home.mkdir()
    port = _free_port()
    token = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(40))
    username = "annotator@example.com"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LABEL_STUDIO_", "DJANGO_", "VIRTUAL_ENV", "PYTHON"))}
    env.update({
        "HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share"), "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "LABEL_STUDIO_USERNAME": username,
        "LABEL_STUDIO_PASSWORD": secrets.token_urlsafe(16),
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        # The ML backend under test listens on 127.0.0.1 too: by default the server refuses loopback addresses for
        # ML backends (ML_BLOCK_LOCAL_IP) and webhooks (SSRF_PROTECTION_ENABLED), as it should on a shared host.
        "ML_BLOCK_LOCAL_IP": "false",
        "SSRF_PROTECTION_ENABLED": "false",
    })
    log_path = root / "server.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(executable), "start", "--data-dir", str(data_dir), "--internal-host", "127.0.0.1",
             "--port", str(port), "--no-browser"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"Label Studio exited with code {process.returncode} before it was healthy:\n"
                            f"{_tail(log_path)}")
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > HEALTH_TIMEOUT_S:
                pytest.fail(f"Label Studio was not healthy on {url}/health after {HEALTH_TIMEOUT_S} s:\n"
                            f"{_tail(log_path)}")
            time.sleep(1)
        print(f"Label Studio healthy on {url} after {time.monotonic() - started:.0f} s")
        yield StudioServer(url=url, token=token, username=username, data_dir=data_dir)
    finally:
        _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    # Children that outlived the main process (the server's workers) share its process group.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture(scope="session")
def studio_client(studio_server):
    from conflict_ie.label_studio.client import connect

    return connect(studio_server.url, studio_server.token)


@pytest.fixture(scope="session")
def seed_articles() -> list[tuple[str, str]]:
    """The three seed articles as (doc_id, text), doc_id being the file name without .txt."""
    from conflict_ie.label_studio.sync import read_articles

    articles = read_articles([SEEDS_DIR])
    assert len(articles) == 3, articles
    return articles


class SeedPredictor:
    """Stands in for the trained model: predicts the committed gold annotations of the seed articles (from
    ``annotations/seeds.json``; a handful of spans found with ``str.find`` when that file is missing), with
    scores that vary by span so per-span and overall scores are exercised. Texts it does not know get no spans."""

    model_version = "seed-gold-0"

    def __init__(self, gold_file: Path = SEED_GOLD):
        self.gold_file = gold_file

    def predict(self, texts: list[str]):
        from conflict_ie.records import ArticleResult

        by_text = self._gold_by_text()
        return [by_text.get(text) or self._found_spans(text) or ArticleResult() for text in texts]

    def _gold_by_text(self) -> dict:
        from conflict_ie.data.label_studio_export import load_label_studio
        from conflict_ie.records import ArticleResult, RelationPrediction, SpanPrediction

        if not self.gold_file.exists():
            return {}
        results = {}
        for document in load_label_studio(self.gold_file):
            spans = {}
            for index, span in enumerate(document.spans):
                score = round(0.5 + 0.5 * ((index * 37) % 100) / 100, 4)
                spans[span.id] = SpanPrediction(span.start, span.end, span.text, span.label, score)
            relations = tuple(RelationPrediction(spans[r.head], spans[r.tail], r.label, 0.9)
                              for r in document.relations)
            results[document.text] = ArticleResult(
                entities=tuple(s for s in spans.values() if s.label not in _trigger_labels()),
                triggers=tuple(s for s in spans.values() if s.label in _trigger_labels()),
                relations=relations)
        return results

    @staticmethod
    def _found_spans(text: str):
        from conflict_ie.records import ArticleResult, RelationPrediction, SpanPrediction

        def find(surface: str, label: str, score: float):
            start = text.find(surface)
            return None if start < 0 else SpanPrediction(start, start + len(surface), surface, label, score)

        entities = [s for s in (find("Idlib", "Location", 0.91), find("Kafr Jallis", "Location", 0.83),
                                find("Al Qaeda", "Organisation", 0.77), find("Saturday", "Temporal", 0.7)) if s]
        triggers = [s for s in (find("rocket attack", "Shelling", 0.88), find("raid", "Attack", 0.66)) if s]
        if not entities and not triggers:
            return None
        relations = []
        if triggers:
            relations += [RelationPrediction(triggers[0], e, "place", 0.8) for e in entities if e.label == "Location"]
        return ArticleResult(entities=tuple(entities), triggers=tuple(triggers), relations=tuple(relations))


def _trigger_labels() -> frozenset[str]:
    from conflict_ie.schema import TRIGGER_LABELS

    return frozenset(TRIGGER_LABELS)


@pytest.fixture(scope="session")
def seed_predictor() -> SeedPredictor:
    """The predictor whose output is pushed as pre-annotations (swap in a trained model here)."""
    return SeedPredictor()
