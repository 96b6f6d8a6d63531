"""Per-corpus figures: real text is scored apart from the authored articles, and no-incident documents are counted."""

from __future__ import annotations

from conflict_ie.data.document import Document, Span
from conflict_ie.evaluation.evaluate import corpus_of, per_corpus_scores
from conflict_ie.evaluation.model_card import front_matter
from conflict_ie.evaluation.report import per_corpus_table

TEXT = "A drone strike hit Marib on Monday."
STRIKE = Span("t1", 2, 14, "drone strike", "AirStrike")
MARIB = Span("e1", 19, 24, "Marib", "Location")
CALM = "The minister condemned violence in general."


def document(doc_id, source, text, spans, layers=("entities", "triggers", "relations")):
    return Document(doc_id, text, tuple(spans), (), frozenset(layers), source=source)


def test_each_corpus_gets_its_own_row_and_its_false_alarms_on_documents_without_incidents():
    gold = [document("a", "authored", TEXT, [STRIKE, MARIB]), document("r1", "re3d/CENTCOM", TEXT, [STRIKE, MARIB]),
            document("r2", "re3d/UK Government", CALM, []), document("m", "MUC-4", TEXT, [], ("role_fillers",))]
    predicted = [document("a", "authored", TEXT, [STRIKE, MARIB]), document("r1", "re3d/CENTCOM", TEXT, [MARIB]),
                 document("r2", "re3d/UK Government", CALM, [Span("t1", 19, 27, "violence", "Attack")]),
                 document("m", "MUC-4", TEXT, [])]
    assert [corpus_of(d) for d in gold] == ["authored", "re3d", "re3d", "MUC-4"]
    rows = per_corpus_scores(gold, predicted, {}, {})
    assert set(rows) == {"authored", "re3d", "MUC-4"}
    assert rows["authored"]["triggers"]["f1"] == 1.0
    re3d = rows["re3d"]
    assert re3d["documents"] == 2 and re3d["triggers"]["recall"] == 0.0 and re3d["triggers"]["precision"] == 0.0
    assert re3d["entities"]["f1"] == 1.0
    assert (re3d["negative_documents"], re3d["false_alarm_documents"]) == (1, 1)
    assert rows["MUC-4"]["triggers"]["documents"] == 0  # not annotated: a dash in the table
    assert rows["MUC-4"]["trigger_detection"]["documents"] == 0
    header, table = per_corpus_table(rows)
    by_name = {row[0]: dict(zip(header, row)) for row in table}
    assert by_name["MUC-4"]["Trigger P"] == "–" and by_name["re3d"]["No-incident docs (fired on)"] == "1 (1)"
    assert by_name["MUC-4"]["Trigger found P (any type)"] == "–"
    names = [m["name"] for m in front_matter({"per_corpus": rows})["model-index"][0]["results"][0]["metrics"]]
    assert "Trigger precision on re3d" in names and "Trigger recall on authored" in names
    assert "Trigger found (any type) precision on re3d" in names
    assert not any("MUC-4" in name for name in names)


def test_a_trigger_of_the_wrong_type_is_found_but_not_right():
    gold = [document("a", "re3d/CENTCOM", TEXT, [STRIKE, MARIB])]
    shelling = Span("t1", 2, 14, "drone strike", "Shelling")
    too_short = Span("t2", 8, 14, "strike", "AirStrike")  # a boundary error is still a miss, whatever the type
    rows = per_corpus_scores(gold, [document("a", "re3d/CENTCOM", TEXT, [shelling, MARIB])], {}, {})
    assert rows["re3d"]["triggers"]["precision"] == 0.0 and rows["re3d"]["triggers"]["recall"] == 0.0
    assert rows["re3d"]["trigger_detection"]["precision"] == 1.0 and rows["re3d"]["trigger_detection"]["recall"] == 1.0
    rows = per_corpus_scores(gold, [document("a", "re3d/CENTCOM", TEXT, [too_short, MARIB])], {}, {})
    assert rows["re3d"]["trigger_detection"]["f1"] == 0.0
    header, table = per_corpus_table(rows)
    assert dict(zip(header, table[0]))["Trigger found R (any type)"] == "0.000"
