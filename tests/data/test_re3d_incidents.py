"""Our incident layers over re3d: drafts, compilation against re3d's text, and the join at load time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conflict_ie.config import CorpusConfig, load_config
from conflict_ie.data import re3d
from conflict_ie.data.corpora import load_corpus
from conflict_ie.data.document import LoadReport
from conflict_ie.data.re3d_incidents import (IncidentAnnotationError, compile_markup, draft_markup, format_record,
                                             join_incident_layers, main)

RE3D = Path(__file__).resolve().parent.parent / "fixtures" / "re3d"


@pytest.fixture()
def alpha():
    return {d.id: d for d in re3d.load_re3d(RE3D, LoadReport("fixture"))}["re3d-A1"]


def annotated(draft: str) -> str:
    """The fixture's draft with a trigger, a new entity and roles, as an annotator writes them."""
    body = draft.replace("} fighters near", "} [fighters]{Person n1} near").replace(
        "[Coalition aircraft]{MilitaryPlatform e1} struck", "[Coalition aircraft]{MilitaryPlatform e1} [struck]{AirStrike t1}")
    return body + "t1 attacker e1\nt1 target e2\nt1 victim n1\nt1 place e3\nt1 time e4\n"


def test_a_draft_shows_re3d_entities_inline_and_compiles_to_nothing(alpha):
    draft = draft_markup(alpha)
    assert "[Coalition aircraft]{MilitaryPlatform e1} struck [ISIL]{Organisation e2}" in draft
    record = compile_markup(draft, alpha, "draft.txt")
    assert record["triggers"] == record["added_entities"] == record["relations"] == []


def test_compiled_offsets_join_back_onto_re3d_text(alpha, tmp_path):
    record = compile_markup(annotated(draft_markup(alpha)), alpha, "a.txt")
    assert [(t["text"], t["label"]) for t in record["triggers"]] == [("struck", "AirStrike")]
    assert [(e["id"], e["text"], e["label"]) for e in record["added_entities"]] == [("n1", "fighters", "Person")]
    (tmp_path / "A1.json").write_text(format_record(record), encoding="utf-8")
    assert json.loads((tmp_path / "A1.json").read_text(encoding="utf-8")) == record
    documents = join_incident_layers(re3d.load_re3d(RE3D, LoadReport("fixture")), tmp_path)
    joined = {d.id: d for d in documents}
    document = joined["re3d-A1"]
    assert {"entities", "triggers", "relations", "role_fillers"} <= document.layers
    assert joined["re3d-B1"].layers == frozenset({"entities", "relations"})  # no file: as before
    spans = document.span_by_id()
    roles = {(r.label, spans[r.tail].text) for r in document.relations if r.head == "t1"}
    assert roles == {("attacker", "Coalition aircraft"), ("target", "ISIL"), ("victim", "fighters"),
                     ("place", "Raqqa"), ("time", "Monday")}
    for span in document.spans:
        assert document.text[span.start:span.end] == span.text


def test_a_trigger_may_take_the_place_of_a_re3d_entity(alpha):
    source = draft_markup(alpha).replace("[Coalition aircraft]{MilitaryPlatform e1} struck",
                                         "[Coalition aircraft struck]{AirStrike t1}") + "t1 target e2\n"
    record = compile_markup(source, alpha, "a.txt")
    assert record["triggers"][0]["text"] == "Coalition aircraft struck"
    # re3d's entity is still the entity layer, and roles may name it by its draft id
    record = compile_markup(source + "t1 attacker e1\n", alpha, "a.txt")
    assert record["relations"] == [["t1", "target", "A1-26-30-Organisation"],
                                   ["t1", "attacker", "A1-0-18-MilitaryPlatform"]]


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace("burned", "burnt"), "text differs from re3d's re3d-A1 at char"),
    (lambda s: s.replace("[Monday]{Temporal e4}", "Monday"), "Temporal e4 'Monday' [54:60] is missing"),
    (lambda s: s.replace("[Raqqa]{Location e3}", "[Raqqa]{Location n1}"), "overlaps re3d's Location 'Raqqa'"),
    (lambda s: s.replace("[Raqqa]{Location e3}", "[Raqqa]{Organisation e3}"), "is not one of re3d's entities"),
    (lambda s: s + "t9 place e3\n", "no span 't9'"),
    (lambda s: s.replace("} fighters", "} [fighters]{Shelling t1}") + "t1 place e4\n", "line"),
    (lambda s: s.replace("} fighters", "} [fighters]{Shelling t1}") + "e2 BelongsTo e3\n",
     "not an incident role or same_incident"),
])
def test_compile_errors_name_the_file_and_what_is_wrong(alpha, edit, message):
    with pytest.raises(IncidentAnnotationError, match="bad.txt") as error:
        compile_markup(edit(draft_markup(alpha)), alpha, "bad.txt")
    assert message in str(error.value)


def test_a_join_refuses_changed_text_and_unknown_documents(alpha, tmp_path):
    record = compile_markup(annotated(draft_markup(alpha)), alpha, "a.txt")
    (tmp_path / "A1.json").write_text(json.dumps({**record, "text_sha256": "0" * 64}), encoding="utf-8")
    with pytest.raises(IncidentAnnotationError, match=r"A1\.json: re3d-A1's text .*sha256 differs"):
        join_incident_layers(re3d.load_re3d(RE3D, LoadReport("fixture")), tmp_path)
    (tmp_path / "A1.json").unlink()
    (tmp_path / "ZZ.json").write_text(json.dumps({**record, "document": "re3d-ZZ"}), encoding="utf-8")
    with pytest.raises(IncidentAnnotationError, match="ZZ.json"):
        join_incident_layers(re3d.load_re3d(RE3D, LoadReport("fixture")), tmp_path)


def test_a_corpus_config_joins_the_folder_and_hashes_its_files(alpha, tmp_path, monkeypatch):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "A1.json").write_text(format_record(compile_markup(annotated(draft_markup(alpha)), alpha,
                                                                           "a.txt")), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    corpus = load_corpus(load_config(None), CorpusConfig(name="re3d", kind="re3d", path=str(RE3D), incidents="ann"))
    assert sum("incident_layers" in d.meta for d in corpus.documents) == 1
    assert any(path.endswith("A1.json") for path in corpus.files)
    assert "1 of 2 documents carry incident layers" in corpus.report.notes[-1]
    with pytest.raises(ValueError, match="re3d documents only"):
        load_corpus(load_config(None), CorpusConfig(name="x", kind="conll", path=str(RE3D), incidents="ann"))


def test_command_line_drafts_and_compiles(tmp_path, capsys):
    assert main(["draft", "--out", str(tmp_path / "drafts"), "--root", str(RE3D)]) == 0
    draft = tmp_path / "drafts" / "re3d-A1.txt"
    draft.write_text(annotated(draft.read_text(encoding="utf-8")), encoding="utf-8")
    assert main(["compile", str(draft), "--out", str(tmp_path / "ann"), "--root", str(RE3D)]) == 0
    assert "1 triggers, 1 added entities, 5 roles" in capsys.readouterr().out
    assert (tmp_path / "ann" / "A1.json").is_file()
    draft.write_text(draft.read_text(encoding="utf-8").replace("burned", "burnt"), encoding="utf-8")
    assert main(["compile", str(draft), "--root", str(RE3D)]) == 1
    assert "text differs" in capsys.readouterr().err


def test_a_draft_rewritten_from_an_annotation_compiles_back_to_the_same_record(alpha):
    source = draft_markup(alpha).replace("[Coalition aircraft]{MilitaryPlatform e1} struck",
                                         "[Coalition aircraft struck]{AirStrike t1}")
    source = source.replace("} fighters near", "} [fighters]{Person n1} near") + "t1 attacker e1\nt1 victim n1\n"
    record = compile_markup(source, alpha, "a.txt")
    redrafted = draft_markup(alpha, record)
    assert "[Coalition aircraft struck]{AirStrike t1}" in redrafted and "t1 attacker e1" in redrafted
    assert compile_markup(redrafted, alpha, "again.txt") == record


def test_the_committed_annotations_fit_the_real_re3d_text():
    """Every file in annotations/re3d joins onto the corpus at the data root (skipped where it is absent)."""
    import os

    root = Path(os.environ.get("CONFLICT_IE_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data") / "re3d"
    if not root.is_dir():
        pytest.skip(f"no re3d at {root}")
    folder = Path(__file__).resolve().parents[2] / "annotations" / "re3d"
    documents = join_incident_layers(re3d.load_re3d(root, LoadReport("re3d")), folder)
    joined = [d for d in documents if "incident_layers" in d.meta]
    assert len(joined) == len(list(folder.glob("*.json"))) == 60
    assert sum(1 for d in joined if not d.spans_in_layer("triggers")) >= 30  # the real hard negatives
