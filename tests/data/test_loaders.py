"""Loaders on good and malformed data: re3d, CoNLL BIO and Label Studio exports (fixtures under tests/fixtures)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conflict_ie.api.cli import main as cli_main
from conflict_ie.data import re3d
from conflict_ie.data.conll import load_conll
from conflict_ie.data.document import Document, LoadReport
from conflict_ie.data.label_studio_export import load_label_studio, parse_task

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RE3D = FIXTURES / "re3d"
CONLL = FIXTURES / "conll"
LABEL_STUDIO = FIXTURES / "label_studio"
REAL_RE3D = Path(os.environ.get("CONFLICT_IE_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data") / "re3d"


def assert_exact_and_flat(document: Document) -> None:
    """Every span is the text at its offsets, and no two spans overlap."""
    spans = sorted(document.spans, key=lambda s: (s.start, s.end))
    for span in spans:
        assert document.text[span.start:span.end] == span.text, (document.id, span)
    for left, right in zip(spans, spans[1:]):
        assert left.end <= right.start, (document.id, left, right)
    ids = document.span_by_id()
    for relation in document.relations:
        assert relation.head in ids and relation.tail in ids


def labelled(document: Document) -> list[tuple[str, str]]:
    return [(span.text, span.label) for span in document.spans]


# ---------------------------------------------------------------- re3d


@pytest.fixture()
def re3d_fixture() -> tuple[dict[str, Document], LoadReport]:
    report = LoadReport(source="fixture")
    documents = re3d.load_re3d(RE3D, report)
    return {d.id: d for d in documents}, report


def test_re3d_fixture_files_start_with_a_bom():
    assert (RE3D / "Alpha News" / "entities.json").read_bytes().startswith(b"\xef\xbb\xbf")


def test_re3d_documents_ids_sources_licences_layers(re3d_fixture):
    documents, report = re3d_fixture
    assert set(documents) == {"re3d-A1", "re3d-B1"}
    alpha, beta = documents["re3d-A1"], documents["re3d-B1"]
    assert alpha.source == "re3d/Alpha News" and beta.source == "re3d/Beta Wire"
    assert alpha.licence == "Public domain"
    assert beta.licence == "Written for the conflict_ie tests"  # no known licence: the first sentence
    assert alpha.layers == beta.layers == frozenset({"entities", "relations"})
    assert alpha.meta["title"] == "Strikes near Raqqa"
    assert report.documents == 2
    for document in documents.values():
        assert_exact_and_flat(document)


def test_re3d_entities_mapped_filtered_and_flattened(re3d_fixture):
    documents, report = re3d_fixture
    assert labelled(documents["re3d-A1"]) == [
        ("Coalition aircraft", "MilitaryPlatform"),
        ("ISIL", "Organisation"),
        ("Raqqa", "Location"),
        ("Monday", "Temporal"),
        ("Residents of Raqqa", "Organisation"),
        ("two vehicles", "MilitaryPlatform"),  # re3d Vehicle
    ]
    assert report.skipped["entity below confidence 0.5"] == 1
    assert report.skipped["entity type Coordinate not in the schema"] == 1
    assert report.spans == {"MilitaryPlatform": 2, "Organisation": 4, "Location": 2, "Temporal": 1, "Person": 1}


def test_re3d_overlaps_resolved_by_rule_and_listed(re3d_fixture):
    documents, report = re3d_fixture
    assert report.skipped[re3d.RULE_LONGER] == 1  # "Raqqa" inside "Residents of Raqqa"
    assert report.skipped[re3d.RULE_CONFIDENCE] == 1  # "ISIL" Nationality 0.6 vs Organisation 1.0
    assert re3d.RULE_ORDER not in report.skipped
    assert documents["re3d-A1"].meta["overlapping_pairs"] == 2
    notes = [n for n in report.notes if "dropped" in n]
    assert any(n.startswith("re3d-A1: dropped Location 'Raqqa' [75:80], kept Organisation 'Residents of Raqqa' [62:80]")
               for n in notes), notes
    assert "2 overlapping pairs resolved, 2 spans dropped" in re3d.overlap_summary(list(documents.values()), report)


def test_re3d_relations_kept_and_skipped_with_reasons(re3d_fixture):
    documents, report = re3d_fixture
    alpha, beta = documents["re3d-A1"], documents["re3d-B1"]
    spans = alpha.span_by_id()
    assert [(spans[r.head].text, r.label, spans[r.tail].text) for r in alpha.relations] == [
        ("Coalition aircraft", "FightingAgainst", "ISIL"),
        ("ISIL", "CoLocated", "Raqqa"),
    ]
    assert [r.label for r in beta.relations] == ["FightingAgainst"]
    assert report.relations == {"FightingAgainst": 2, "CoLocated": 1}
    assert report.skipped["relation type HasAttrOf not in the schema"] == 1
    assert report.skipped["relation type Likes not in the schema"] == 1
    assert report.skipped["relation below confidence 0.5"] == 1
    assert report.skipped["relation end not kept (span dropped by overlap resolution)"] == 1
    assert report.skipped["relation end not kept (entity below confidence)"] == 1


def test_re3d_value_mismatch_keeps_the_text(re3d_fixture):
    documents, report = re3d_fixture
    person = documents["re3d-B1"].spans[0]
    assert person.text == "Col. John \u201cJ.D.\u201d Smith"
    assert any("re3d-B1 [0:22]: entity value" in note and "kept the text" in note for note in report.notes)


def test_re3d_equal_spans_keep_the_earlier_row(tmp_path):
    folder = tmp_path / "Tie"
    folder.mkdir()
    (folder / "documents.json").write_text('{"_id": "t", "text": "Raqqa fell."}\n', encoding="utf-8")
    rows = [{"_id": f"t-{kind}", "documentId": "t", "begin": 0, "end": 5, "type": kind, "value": "Raqqa",
             "confidence": 1} for kind in ("Location", "Organisation")]
    (folder / "entities.json").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = LoadReport(source="tie")
    (document,) = re3d.load_re3d(tmp_path, report)
    assert labelled(document) == [("Raqqa", "Location")]
    assert report.skipped == {re3d.RULE_ORDER: 1}
    assert document.licence == "unknown"  # no LICENSE file


def test_re3d_min_confidence_is_a_parameter():
    report = LoadReport(source="fixture")
    documents = re3d.load_re3d(RE3D, report, min_confidence=0.95)
    texts = [s.text for d in documents for s in d.spans]
    assert "the Free Army" in texts  # confidence 0.97 stays
    assert "two vehicles" not in texts  # confidence 0.9 goes
    assert report.skipped["entity below confidence 0.95"] == 3  # and "ISIL" 0.6, "ISIL fighters" 0
    assert re3d.RULE_CONFIDENCE not in report.skipped  # the 0.6 row no longer competes


def test_re3d_missing_root_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no re3d source folders"):
        re3d.load_re3d(tmp_path)


def test_re3d_bad_json_line_names_file_and_line(tmp_path):
    folder = tmp_path / "Broken"
    folder.mkdir()
    (folder / "documents.json").write_text('{"_id": "x", "text": "a"}\n{not json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"documents.json:2: not valid JSON"):
        re3d.load_re3d(tmp_path)


def test_re3d_cli_prints_the_report(capsys):
    assert cli_main(["re3d", "--root", str(RE3D)]) == 0
    out = capsys.readouterr().out
    assert "2 documents" in out
    assert "relation type HasAttrOf not in the schema 1" in out
    assert "overlaps: 2 overlapping pairs resolved" in out


def test_re3d_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONFLICT_IE_DATA", str(tmp_path))
    assert re3d.default_root() == tmp_path / "re3d"
    monkeypatch.delenv("CONFLICT_IE_DATA")
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")  # ../shared/data from the working directory, wherever the package is
    assert re3d.default_root() == tmp_path / "shared" / "data" / "re3d"


@pytest.mark.skipif(not REAL_RE3D.is_dir(), reason="the re3d corpus is not under ../shared/data")
def test_real_re3d_loads_exact_flat_spans():
    report = LoadReport(source="re3d")
    documents = re3d.load_re3d(REAL_RE3D, report)
    assert report.documents == len(documents) > 0
    assert sum(report.spans.values()) > 0 and sum(report.relations.values()) > 0
    assert len({d.id for d in documents}) == len(documents)
    for document in documents:
        assert document.layers == frozenset({"entities", "relations"})
        assert document.source.startswith("re3d/") and document.licence
        assert_exact_and_flat(document)


# ---------------------------------------------------------------- CoNLL


def test_conll_docstart_splits_documents_with_exact_offsets():
    report = LoadReport(source="conll")
    documents = load_conll(CONLL / "two_docs.conll", report)
    assert [d.id for d in documents] == ["two_docs-1", "two_docs-2"]
    first, second = documents
    assert first.text == "A drone strike killed two fighters in Marib .\nLocal officials said so ."
    assert labelled(first) == [("drone strike", "AirStrike"), ("two", "Quantity"), ("fighters", "Person"),
                               ("Marib", "Location"), ("Local officials", "Person")]
    assert second.text == "Shelling hit Kafr Jallis ."
    assert labelled(second) == [("Shelling", "Shelling"), ("Kafr Jallis", "Location")]
    for document in documents:
        assert_exact_and_flat(document)
        assert document.layers == frozenset({"entities", "triggers"})  # the file tags both
        assert document.relations == ()
    assert report.documents == 2 and report.notes == []


def test_conll_space_separated_columns_take_the_last_as_tag():
    (document,) = load_conll(CONLL / "conll2003_style.txt")
    assert document.id == "conll2003_style-1"
    assert document.text == "EU rejects German call .\nPeter Blackburn"
    assert labelled(document) == [("EU", "Organisation"), ("German", "Nationality"), ("Peter Blackburn", "Person")]
    assert document.layers == frozenset({"entities"})


def test_conll_without_docstart_is_one_document():
    (document,) = load_conll(CONLL / "no_docstart.bio")
    assert document.id == "no_docstart-1"
    assert document.text == "Militants attacked Gao\nThree died"
    assert labelled(document) == [("Militants", "Organisation"), ("attacked", "Attack"), ("Gao", "Location"),
                                  ("Three", "Quantity")]
    assert_exact_and_flat(document)


def test_conll_i_without_b_starts_a_span_and_is_noted():
    report = LoadReport(source="conll")
    (document,) = load_conll(CONLL / "repair.conll", report)
    assert labelled(document) == [("Hurras al-Din", "Organisation"), ("Idlib", "Location"), ("Syria", "Organisation")]
    assert len(report.notes) == 3
    assert all("repaired I- start" in note for note in report.notes)
    assert report.notes[0].endswith("repair.conll:1: repaired I- start: I-Organisation follows no B-Organisation or "
                                    "I-Organisation, started a new span")
    assert report.skipped == {}


def test_conll_bom_and_crlf():
    (document,) = load_conll(CONLL / "bom_crlf.conll")
    assert (CONLL / "bom_crlf.conll").read_bytes().startswith(b"\xef\xbb\xbf-DOCSTART-")
    assert b"\r\n" in (CONLL / "bom_crlf.conll").read_bytes()
    assert document.id == "bom_crlf-1"
    assert document.text == "Rockets hit Aleppo\nTwo were hurt"
    assert labelled(document) == [("Rockets", "Weapon"), ("Aleppo", "Location"), ("Two", "Quantity")]
    assert_exact_and_flat(document)


def test_conll_unknown_label_raises_with_file_and_line():
    with pytest.raises(ValueError, match=r"unknown_label\.conll:5: unknown label 'Vehicle'"):
        load_conll(CONLL / "unknown_label.conll")


def test_conll_malformed_line_raises_with_file_and_line():
    with pytest.raises(ValueError, match=r"malformed_line\.conll:3: malformed line 'no_tag_here'"):
        load_conll(CONLL / "malformed_line.conll")


def test_conll_malformed_tag_raises(tmp_path):
    path = tmp_path / "iobes.conll"
    path.write_text("Aleppo\tS-Location\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"iobes\.conll:1: malformed tag 'S-Location'"):
        load_conll(path)


def test_conll_not_strict_skips_the_bad_sentence_and_counts_it():
    report = LoadReport(source="conll")
    (document,) = load_conll(CONLL / "unknown_label.conll", report, strict=False)
    assert document.text == "Good sentence\nKept"
    assert labelled(document) == [("Kept", "Person")]
    assert_exact_and_flat(document)
    assert report.skipped == {"sentence with a malformed line or unknown label": 1}
    assert any("unknown_label.conll:5" in note for note in report.notes)

    report = LoadReport(source="conll")
    (document,) = load_conll(CONLL / "malformed_line.conll", report, strict=False)
    assert document.text == "Fine\nAlso fine"
    assert report.skipped == {"sentence with a malformed line or unknown label": 1}


def test_conll_span_ids_count_from_c1_in_each_document():
    first, second = load_conll(CONLL / "two_docs.conll")
    assert [s.id for s in first.spans] == ["c1", "c2", "c3", "c4", "c5"]
    assert [s.id for s in second.spans] == ["c1", "c2"]


def test_conll_strict_is_the_third_positional_argument():
    report = LoadReport(source="conll")
    (document,) = load_conll(CONLL / "unknown_label.conll", report, False)
    assert report.skipped == {"sentence with a malformed line or unknown label": 1}


def test_conll_layers_follow_the_declared_layer_and_the_labels(tmp_path):
    path = tmp_path / "plain.conll"
    path.write_text("Nothing\tO\nhappened\tO\n", encoding="utf-8")
    assert load_conll(path)[0].layers == frozenset({"entities"})
    triggers_only = tmp_path / "triggers.conll"
    triggers_only.write_text("Shelling\tB-Shelling\ncontinued\tO\n", encoding="utf-8")
    assert load_conll(triggers_only)[0].layers == frozenset({"triggers"})
    assert load_conll(path, layer="triggers")[0].layers == frozenset({"triggers"})
    with pytest.raises(ValueError, match="no relations"):
        load_conll(path, layer="relations")


def test_conll_empty_file_and_empty_document(tmp_path):
    empty = tmp_path / "empty.conll"
    empty.write_text("", encoding="utf-8")
    assert load_conll(empty) == []
    path = tmp_path / "gap.conll"
    path.write_text("-DOCSTART-\tO\n\n-DOCSTART-\tO\n\nGao\tB-Location\n", encoding="utf-8")
    report = LoadReport(source="conll")
    documents = load_conll(path, report)
    assert [d.id for d in documents] == ["gap-2"]
    assert report.skipped == {"document with no (valid) sentences": 1}


# ---------------------------------------------------------------- Label Studio


def test_label_studio_good_export_loads():
    report = LoadReport(source="ls")
    documents = load_label_studio(LABEL_STUDIO / "good.json", report)
    assert [d.id for d in documents] == ["good-1", "good-2"]
    assert report.skipped == {}
    assert report.relations["BelongsTo"] == 2
    for document in documents:
        assert_exact_and_flat(document)


def test_label_studio_bom_file_and_crlf_text_keep_exact_offsets():
    raw = (LABEL_STUDIO / "bom_crlf.json").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    (document,) = load_label_studio(LABEL_STUDIO / "bom_crlf.json")
    assert "\r\n" in document.text  # "\r" counts as a character in the offsets
    assert labelled(document) == [("Shelling", "Shelling"), ("Idlib", "Location"), ("Two", "Quantity"),
                                  ("civilians", "Person"), ("Ariha", "Location")]
    assert document.spans[2].start == document.text.index("Two") == 21
    assert_exact_and_flat(document)


def bad_tasks() -> dict[int, dict]:
    tasks = json.loads((LABEL_STUDIO / "bad.json").read_text(encoding="utf-8"))
    return {task["id"]: task for task in reversed(tasks)}  # the first task of a repeated id wins


@pytest.mark.parametrize("task_id, message", [
    (11, "offsets 37..99 fall outside the text"),
    (12, "offsets 15..15 are empty or reversed"),
    (13, "stores text 'aid worker' but text[20:31] is 'aid workers'"),
    (14, "unknown label 'Gunman'"),
    (15, "unknown relation type 'kidnapped'"),
    (16, "refers to span 'e9', which does not exist"),
    (17, "duplicate span Location 'Goma'"),
    (18, "task text is empty"),
])
def test_label_studio_malformed_items_are_named(task_id, message):
    document, problems = parse_task(bad_tasks()[task_id], "bad.json")
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 1 and message in errors[0].message, problems
    assert errors[0].task_id == task_id
    if document is not None:
        assert_exact_and_flat(document)  # the bad item is left out, the rest kept


def test_label_studio_loader_counts_what_it_rejects():
    report = LoadReport(source="ls")
    documents = load_label_studio(LABEL_STUDIO / "bad.json", report)
    assert len(documents) == 10  # only the empty-text task is rejected whole
    assert report.skipped == {"task rejected": 1, "span or relation rejected": 7}
    for document in documents:
        assert_exact_and_flat(document)


@pytest.mark.parametrize("task_id, reason", [
    (11, "span or relation rejected"),  # offsets out of range
    (12, "span or relation rejected"),  # start >= end
    (13, "span or relation rejected"),  # stored text mismatch
    (14, "span or relation rejected"),  # unknown label
    (15, "span or relation rejected"),  # unknown relation type
    (16, "span or relation rejected"),  # dangling relation
    (17, "span or relation rejected"),  # duplicate span
    (18, "task rejected"),  # empty text
])
def test_label_studio_loader_skips_and_counts_each_check(tmp_path, task_id, reason):
    path = tmp_path / f"task{task_id}.json"
    path.write_text(json.dumps([bad_tasks()[task_id]]), encoding="utf-8")
    report = LoadReport(source="ls")
    documents = load_label_studio(path, report)
    assert report.skipped == {reason: 1}
    assert len(report.notes) == 1 and f"task {task_id}" in report.notes[0]
    assert len(documents) == (0 if reason == "task rejected" else 1)
    for document in documents:
        assert_exact_and_flat(document)


def test_label_studio_task_without_annotations_is_skipped_and_counted():
    report = LoadReport(source="ls")
    documents = load_label_studio(LABEL_STUDIO / "no_annotations.json", report)
    assert [d.id for d in documents] == ["kept-1"]
    assert report.skipped == {"task rejected": 2}  # no annotations at all; only a cancelled one
    assert all("has no annotation" in note for note in report.notes)


# ---------------------------------------------------------------- CoNLL column counts


def test_conll_space_separated_line_in_a_tab_file_is_an_error_not_a_lost_token(tmp_path):
    path = tmp_path / "spaces.conll"
    path.write_text("Shelling\tB-Shelling\nhit\tO\nKafr Nabl B-Location\n.\tO\n\nGao\tB-Location\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"spaces\.conll:3: line 'Kafr Nabl B-Location' has 3 columns where the "
                                         r"file's lines have 2: columns separated by spaces in a tab-separated file"):
        load_conll(path)
    report = LoadReport(source="conll")
    (document,) = load_conll(path, report, strict=False)
    assert document.text == "Gao"  # the sentence is left out whole and counted, never read as "Kafr"
    assert report.skipped == {"sentence with a malformed line or unknown label": 1}


def test_conll_unambiguous_space_separated_line_in_a_tab_file_is_read(tmp_path):
    path = tmp_path / "mixed.conll"
    path.write_text("Shelling\tB-Shelling\nhit\tO\nGao B-Location\n", encoding="utf-8")
    (document,) = load_conll(path)
    assert document.text == "Shelling hit Gao"
    assert labelled(document) == [("Shelling", "Shelling"), ("Gao", "Location")]


def test_conll_tab_separated_token_with_a_space_keeps_the_whole_token(tmp_path):
    path = tmp_path / "place.conll"
    path.write_text("Shelling\tB-Shelling\nhit\tO\nKafr Nabl\tB-Location\n", encoding="utf-8")
    (document,) = load_conll(path)
    assert document.text == "Shelling hit Kafr Nabl"
    assert labelled(document)[-1] == ("Kafr Nabl", "Location")


def test_conll2003_line_with_an_extra_column_is_an_error(tmp_path):
    path = tmp_path / "c03.txt"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-Organisation\nKafr Nabl NNP B-NP B-Location\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"c03\.txt:4: line 'Kafr Nabl NNP B-NP B-Location' has 5 columns where "
                                         r"the file's lines have 4; reading it would lose a token"):
        load_conll(path)
    (document,) = load_conll(CONLL / "conll2003_style.txt")  # the well-formed 4-column file still loads
    assert labelled(document)[0] == ("EU", "Organisation")
