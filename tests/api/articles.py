"""About 50 real articles as collection rows (the seeds and the authored corpus, with ids and publication dates),
and what the in-process ``predict()`` gives for them as flat incident rows: the reference every engine must meet.

The texts are cut to their first ``chars`` characters: the tiny random model tags nearly every token, so a whole
article costs it seconds (relations are scored over every pair of spans); 120 characters still give each article
a few incidents and keep the tests within seconds."""

from __future__ import annotations

import json

from conflict_ie.api.outputs import incident_rows

from ..conftest import REPO_ROOT, SEEDS


def article_rows(count: int = 50, chars: int = 120) -> list[dict]:
    rows = [{"id": path.stem, "text": path.read_text(encoding="utf-8")[:chars], "publication_date": None}
            for path in SEEDS]
    for task in json.loads((REPO_ROOT / "annotations" / "authored.json").read_text(encoding="utf-8")):
        data = task["data"]
        rows.append({"id": data["doc_id"], "text": data["text"][:chars],
                     "publication_date": data.get("publication_date")})
    return rows[:count]


def reference_rows(predictor, rows: list[dict]) -> list[dict]:
    """Incident rows of the in-process predict(), sorted by article id and incident."""
    results = predictor.predict([r["text"] for r in rows], publication_dates=[r["publication_date"] for r in rows])
    return sort_rows([row for r, result in zip(rows, results)
                      for row in incident_rows(r["id"], result, r["publication_date"])])


def sort_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (row["article_id"], row["incident"]))


def write_jsonl(path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def assert_same_rows(actual: list[dict], expected: list[dict]) -> None:
    """Equal rows; confidence and coordinates to 1e-6 (torch's thread count can move the last bits)."""
    import pytest

    assert [(r["article_id"], r["incident"]) for r in actual] == [(r["article_id"], r["incident"]) for r in expected]
    for got, want in zip(actual, expected):
        assert set(got) == set(want)
        for key in want:
            if isinstance(want[key], float):
                assert got[key] == pytest.approx(want[key], abs=1e-6), (want["article_id"], key)
            else:
                assert got[key] == want[key], (want["article_id"], want["incident"], key)
