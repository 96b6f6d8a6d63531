"""The MUC-4 reader on a small corpus written by each test (processed JSON lines, raw answer keys, raw texts), the
raw-slot parsers on their own, and (when the data root has it) the real corpus."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from conflict_ie.api.cli import main as cli_main
from conflict_ie.data import muc4
from conflict_ie.data.corpora import annotation_kind, load_documents
from conflict_ie.data.document import Document, LoadReport

REAL_MUC4 = Path(os.environ.get("CONFLICT_IE_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data") / "muc4"

TEXT_A = ("the farabundo marti national liberation front (fmln) said its guerrillas attacked the las canas\n"
          "bridge with mortars. police said the fmln guerrillas also kidnapped two Peasants. the police arrested "
          "guerrillas later; fmlnx is no word.")
TEXT_B = "unknown men robbed a bank in guatemala city."
TEXT_C = "gunmen shot a judge."


def mention(text: str, string: str) -> list:
    """[string, offset of its first occurrence] as the processed files give it (0 when it is not there)."""
    return [string, max(text.lower().find(" ".join(string.lower().split())), 0)]


def template(incident_type: str, **roles) -> dict:
    return {"incident_type": incident_type} | {role: roles.get(role, []) for role in muc4.ROLE_LABELS}


def processed_train() -> list[dict]:
    a = TEXT_A
    attack = template("attack",
                      PerpInd=[[mention(a, "guerrillas")]],
                      PerpOrg=[[mention(a, "farabundo marti national liberation front (fmln)"), mention(a, "fmln")],
                               [mention(a, "police")]],
                      Target=[[mention(a, "las  canas bridge")]],
                      Weapon=[[mention(a, "mortar")]])
    kidnapping = template("kidnapping",
                          PerpInd=[[mention(a, "police")], [mention(a, "national guard")]],
                          Victim=[[mention(a, "peasants"), mention(a, "two peasants")]])
    return [
        {"docid": "DEV-MUC3-0001", "doctext": a, "templates": [attack, kidnapping]},
        {"docid": "DEV-MUC3-0002", "doctext": TEXT_C, "templates": []},
        {"docid": "DEV-MUC3-0003", "doctext": TEXT_C, "templates": [template("attack", PerpInd=[[["gunmen", 0]]])]},
    ]


def processed_dev() -> list[dict]:
    robbery = template("robbery", PerpInd=[[mention(TEXT_B, "unknown men")]], Target=[[mention(TEXT_B, "bank")]])
    return [{"docid": "TST1-MUC3-0001", "doctext": TEXT_B, "templates": [robbery]}]


SLOT_NAMES = ["MESSAGE: ID", "MESSAGE: TEMPLATE", "INCIDENT: DATE", "INCIDENT: LOCATION", "INCIDENT: TYPE",
              "INCIDENT: STAGE OF EXECUTION", "INCIDENT: INSTRUMENT ID", "INCIDENT: INSTRUMENT TYPE",
              "PERP: INCIDENT CATEGORY", "PERP: INDIVIDUAL ID", "PERP: ORGANIZATION ID",
              "PERP: ORGANIZATION CONFIDENCE",
              "PHYS TGT: ID", "PHYS TGT: TYPE", "PHYS TGT: NUMBER", "PHYS TGT: FOREIGN NATION",
              "PHYS TGT: EFFECT OF INCIDENT", "PHYS TGT: TOTAL NUMBER", "HUM TGT: NAME", "HUM TGT: DESCRIPTION",
              "HUM TGT: TYPE", "HUM TGT: NUMBER", "HUM TGT: FOREIGN NATION", "HUM TGT: EFFECT OF INCIDENT",
              "HUM TGT: TOTAL NUMBER"]


def key_block(docid: str, number: str = "*", **slots: str | list[str]) -> str:
    """One answer-key template in the raw layout, slots named like ``hum_tgt__number`` ("-" when not given, "*" in
    a block without a template); a list of values continues on lines indented to the value column."""
    lines = []
    for index, name in enumerate(SLOT_NAMES):
        default = "*" if number == "*" else "-"
        value = slots.get(name.lower().replace(": ", "__").replace(" ", "_"), default)
        value = f"{docid} (NCCOSC)" if index == 0 else number if index == 1 else value
        values = value if isinstance(value, list) else [value]
        label = f"{index}.".ljust(4) + name
        lines.append(label.ljust(36) + values[0])
        lines += [" " * 36 + more for more in values[1:]]
    return "\n".join(lines) + "\n\n"


def key_files() -> dict[str, str]:
    dev = (
        ";;; gk converted single murder to attack\n"
        + key_block("DEV-MUC3-0001", "1", incident__date="- 02 JAN 90", incident__location="EL SALVADOR: SAN MIGUEL "
                    "(DEPARTMENT)", incident__type="KIDNAPPING", perp__individual_id='"POLICE"',
                    hum_tgt__description='"PEASANTS" / "TWO PEASANTS"', hum_tgt__number='2: "PEASANTS"',
                    hum_tgt__effect_of_incident='REGAINED FREEDOM: "PEASANTS"')
        + key_block("DEV-MUC3-0001", "2", incident__date="03 JAN 90",
                    incident__location="(EL SALVADOR: SAN SALVADOR (CITY)) / (EL SALVADOR)", incident__type="ATTACK",
                    incident__instrument_id='"MORTAR"', perp__individual_id='"GUERRILLAS"',
                    perp__organization_id='"FARABUNDO MARTI NATIONAL LIBERATION FRONT" / "FMLN"',
                    phys_tgt__id='"LAS CANAS BRIDGE"',
                    hum_tgt__description=['"SOLDIERS"', '"CIVILIAN"'],
                    hum_tgt__number=['PLURAL: "SOLDIERS"', '? 1: "CIVILIAN"'],
                    hum_tgt__effect_of_incident=['DEATH: "SOLDIERS"', 'DEATH: "CIVILIAN"'])
        + key_block("DEV-MUC3-0001", "3 (OPTIONAL)", incident__date="04 JAN 90", incident__location="EL SALVADOR",
                    incident__type="ATTACK", perp__individual_id='? "GUERRILLAS"')
        + key_block("DEV-MUC3-0002")
    )
    tst1 = key_block("TST1-MUC3-0001", "1", incident__date="02 FEB 90", incident__location="GUATEMALA",
                     incident__type="ATTACK", perp__individual_id='"UNKNOWN MEN"')
    return {"raw/dev/key-dev-0001.muc4": dev, "raw/tst1/key-tst1.v7": tst1}


def text_files() -> dict[str, str]:
    return {
        "raw/dev/dev-muc3-0001-0100": (
            "DEV-MUC3-0001 (NOSC)\n\n   SAN SALVADOR, 3 JAN 90 (RADIO VENCEREMOS) -- [TEXT] THE FARABUNDO MARTI\n"
            "NATIONAL LIBERATION FRONT ...\n\n"
            "DEV-MUC3-0002 (U NEBRASKA)\n\n   CLANDESTINE, NO DATE -- [TEXT] GUNMEN SHOT A JUDGE.\n"),
        "raw/tst1/tst1-muc3": "TST1-MUC3-0001\n\n   GUATEMALA CITY, 4 FEB 90 (ACAN-EFE) -- [TEXT] UNKNOWN MEN ...\n",
    }


def write_corpus(root: Path, train: list[dict] | None = None, dev: list[dict] | None = None) -> Path:
    files = {"processed/train.json": "\n".join(json.dumps(row) for row in (train or processed_train())) + "\n",
             "processed/dev.json": "\n".join(json.dumps(row) for row in (dev or processed_dev())) + "\n",
             "LICENSE.gtt-packaging": "MIT License\n\nCopyright (c) 2021 xinyadu\n\nPermission is hereby granted\n"}
    files |= key_files() | text_files()
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content, encoding="utf-8")
    return root


@pytest.fixture()
def corpus(tmp_path) -> tuple[dict[str, Document], LoadReport]:
    report = LoadReport(source="fixture")
    documents = muc4.load_muc4(write_corpus(tmp_path / "muc4"), report)
    assert [d.id for d in documents] == ["DEV-MUC3-0001", "DEV-MUC3-0002", "DEV-MUC3-0003", "TST1-MUC3-0001"]
    return {d.id: d for d in documents}, report


def assert_exact_and_flat(document: Document) -> None:
    spans = sorted(document.spans, key=lambda s: (s.start, s.end))
    for span in spans:
        assert document.text[span.start:span.end] == span.text
    for left, right in zip(spans, spans[1:]):
        assert left.end <= right.start
    assert len({span.id for span in spans}) == len(spans)


# ---------------------------------------------------------------- documents and spans


def test_documents_keep_text_split_source_licence_and_only_the_role_filler_layer(corpus):
    documents, report = corpus
    a = documents["DEV-MUC3-0001"]
    assert a.text == TEXT_A and a.source == "MUC-4" and a.relations == ()
    assert a.layers == frozenset({"role_fillers"})
    assert "MIT License" in a.licence and "xinyadu" in a.licence
    assert [d.meta["split"] for d in documents.values()] == ["train", "train", "train", "dev"]
    assert report.documents == 4
    for document in documents.values():
        assert_exact_and_flat(document)


def test_every_occurrence_is_tagged_case_and_whitespace_insensitive_on_word_boundaries(corpus):
    documents, _ = corpus
    a = documents["DEV-MUC3-0001"]
    tagged = [(s.text, s.label) for s in a.spans]
    # "guerrillas" three times, not only at its first offset; "fmln" where it stands alone, never inside "fmlnx".
    assert tagged.count(("guerrillas", "AttackerIndividual")) == 3
    assert ("fmln", "AttackerOrganisation") in tagged and not any("fmlnx" in text for text, _ in tagged)
    assert ("las canas\nbridge", "Target") in tagged  # two spaces in the mention, a line break in the text
    assert ("two Peasants", "Victim") in tagged  # lower-case mention, upper-case letter in the text
    assert [s.id for s in a.spans] == [f"s{n}" for n in range(1, len(a.spans) + 1)]
    assert a.spans == tuple(sorted(a.spans, key=lambda s: s.start))


def test_mentions_not_found_are_counted_with_the_docid_and_the_string(corpus):
    _, report = corpus
    assert report.skipped["mention not in text"] == 1
    assert any("DEV-MUC3-0001" in note and "'national guard'" in note for note in report.notes)
    # "mortar" only occurs inside "mortars": a span cannot tag part of a word, so it is counted apart.
    assert report.skipped["mention only inside longer words"] == 1
    assert any("DEV-MUC3-0001" in note and "'mortar'" in note for note in report.notes)


def test_overlaps_keep_the_longer_span_and_count_each_drop(corpus):
    documents, report = corpus
    a = documents["DEV-MUC3-0001"]
    long_name = "farabundo marti national liberation front (fmln)"
    assert (long_name, "AttackerOrganisation") in [(s.text, s.label) for s in a.spans]
    # Inside the long name: "fmln" dropped; "peasants" inside "two peasants" dropped; "fmln guerrillas" has no
    # overlap (two fillers side by side).
    assert report.skipped[muc4.RULE_LONGER] == 2
    assert any(f"kept AttackerOrganisation 4:{4 + len(long_name)}" in note for note in report.notes)


def test_the_same_span_in_two_roles_keeps_the_role_by_priority(corpus):
    documents, report = corpus
    police = [s.label for s in documents["DEV-MUC3-0001"].spans if s.text == "police"]
    assert police == ["AttackerOrganisation", "AttackerOrganisation"]  # PerpOrg beats PerpInd, at both places
    assert report.skipped[muc4.RULE_ROLE] == 2
    assert muc4.ROLE_PRIORITY.index("AttackerOrganisation") < muc4.ROLE_PRIORITY.index("AttackerIndividual")


def test_equal_length_overlap_keeps_the_earlier_span():
    report = LoadReport(source="t")
    text = "car bus van"
    spans = muc4._flatten({(0, 7, "Instrument"), (4, 11, "Target"), (4, 7, "Instrument")}, text, "D", report)
    assert [(s.id, s.text, s.label) for s in spans] == [("s1", "car bus", "Instrument")]
    assert report.skipped == {muc4.RULE_EARLIER: 1, muc4.RULE_LONGER: 1}


# ---------------------------------------------------------------- templates


def test_several_templates_in_the_scorer_format_matched_to_the_raw_key(corpus):
    documents, report = corpus
    a = documents["DEV-MUC3-0001"]
    attack, kidnapping = a.meta["muc4_templates"]
    # Processed order (attack, kidnapping) differs from the key's (kidnapping, attack, optional attack): matched by
    # shared fillers, not by position.
    assert attack == {
        "incident_type": "attack",
        "PerpInd": [["guerrillas"]],
        "PerpOrg": [["farabundo marti national liberation front (fmln)", "fmln"], ["police"]],
        "Target": [["las  canas bridge"]],
        "Victim": [],
        "Weapon": [["mortar"]],
        "date": [{"earliest": "1990-01-03", "latest": "1990-01-03"}],
        "location": [["el salvador", "san salvador"], ["el salvador"]],
        "killed": {"minimum": 2, "maximum": None},  # PLURAL soldiers; the "?" civilian adds to the maximum only
        "injured": None,
    }
    assert kidnapping["incident_type"] == "kidnapping"
    assert kidnapping["date"] == [{"earliest": None, "latest": "1990-01-02"}]
    assert kidnapping["location"] == [["el salvador", "san miguel"]]
    assert kidnapping["killed"] is None and kidnapping["injured"] is None  # REGAINED FREEDOM counts neither
    assert a.meta["muc4_key_templates"] == 3 and a.meta["muc4_key_optional_templates"] == 1
    assert documents["DEV-MUC3-0002"].meta["muc4_templates"] == []
    assert documents["DEV-MUC3-0002"].meta["muc4_key_templates"] == 0  # a "*" block: no templates


def test_templates_without_a_raw_match_get_none_and_are_counted(corpus):
    documents, report = corpus
    (robbery,) = documents["TST1-MUC3-0001"].meta["muc4_templates"]
    assert robbery["incident_type"] == "robbery" and robbery["PerpInd"] == [["unknown men"]]
    assert all(robbery[field] is None for field in ("date", "location", "killed", "injured"))
    assert report.skipped["template: no key template of its incident type"] == 1
    (attack,) = documents["DEV-MUC3-0003"].meta["muc4_templates"]  # the keys lack DEV-MUC3-0003
    assert attack["date"] is None and report.skipped["template: no raw answer key for the document"] == 1
    assert documents["DEV-MUC3-0003"].meta["muc4_key_templates"] is None


def test_a_template_sharing_no_filler_is_not_matched():
    report = LoadReport(source="t")
    keys = muc4.parse_answer_key(key_block("D", "1", incident__type="ATTACK", perp__individual_id='"SOLDIERS"'))
    guerrillas = template("attack", PerpInd=[[["guerrillas", 0]]])
    empty = template("attack")
    assert muc4.match_templates("D", [guerrillas], keys, report) == [None]
    assert report.skipped == {"template: no key template of its type shares a filler": 1}
    # A template without fillers can only be matched by its type.
    assert muc4.match_templates("D", [empty], keys, report) == keys


def test_several_types_are_joined_and_match_either():
    report = LoadReport(source="t")
    keys = muc4.parse_answer_key(key_block("D", "1", incident__type="BOMBING / ATTACK"))
    assert muc4.match_templates("D", [template("attack")], keys, report) == keys
    record = muc4.template_record(template("bombing /attack"), None, None, "D", report)
    assert record["incident_type"] == "bombing / attack" and record["date"] is None


def test_publication_dates_from_the_datelines_and_documents_without_one_counted(corpus):
    documents, report = corpus
    assert documents["DEV-MUC3-0001"].meta["publication_date"] == "1990-01-03"
    assert documents["DEV-MUC3-0001"].publication_date == dt.date(1990, 1, 3)
    assert documents["TST1-MUC3-0001"].meta["publication_date"] == "1990-02-04"
    assert "publication_date" not in documents["DEV-MUC3-0002"].meta
    assert report.skipped["publication date: dateline says NO DATE"] == 1
    assert report.skipped["publication date: no raw text for the document"] == 1


@pytest.mark.parametrize("dateline, expected", [
    ("SAN SALVADOR, 3 JAN 90 (RADIO VENCEREMOS)", (dt.date(1990, 1, 3), None)),
    ("BOGOTA, 18 APRIL 89 (AFP)", (dt.date(1989, 4, 18), None)),
    ("PERTH (AUSTRALIA), JUNE 11 89 (AFP)", (dt.date(1989, 6, 11), None)),
    ("BOGOTA, 27 APR 90 [INRAVISION TELEVISION CADENA 1)", (dt.date(1990, 4, 27), None)),
    ("CLANDESTINE, NO DATE (RADIO VENCEREMOS)", (None, "dateline says NO DATE")),
    ("TEGUCIGALPA, 7 FEB (REUTER)", (None, "dateline without a year")),
    ("SOMEWHERE", (None, "dateline not understood")),
])
def test_dateline_parsing(dateline, expected):
    assert muc4.publication_date(dateline) == expected


# ---------------------------------------------------------------- raw slots


def day(earliest: str | None, latest: str | None) -> dict:
    return {"earliest": earliest, "latest": latest}


@pytest.mark.parametrize("value, expected", [
    ("-", None),
    ("*", None),
    ("02 FEB 90", [day("1990-02-02", "1990-02-02")]),
    ("- 30 DEC 89", [day(None, "1989-12-30")]),
    ("-08 JAN 90", [day(None, "1990-01-08")]),
    ("02 FEB 90 -", [day("1990-02-02", None)]),
    ("26 JAN 90 - 02 FEB 90", [day("1990-01-26", "1990-02-02")]),
    ("(02 FEB 90) / (- 04 FEB 90)", [day("1990-02-02", "1990-02-02"), day(None, "1990-02-04")]),
    ("? 03 MARCH 90", [day("1990-03-03", "1990-03-03")]),
    ("11 Feb 90", [day("1990-02-11", "1990-02-11")]),
])
def test_date_slot(value, expected):
    assert muc4.parse_date(value) == expected


def test_date_without_a_year_takes_the_publication_year_or_the_one_before():
    assert muc4.parse_date("11 NOV", dt.date(1989, 11, 12)) == [day("1989-11-11", "1989-11-11")]
    assert muc4.parse_date("- 30 DEC", dt.date(1990, 1, 3)) == [day(None, "1989-12-30")]
    problems: list[str] = []
    assert muc4.parse_date("11 NOV", None, problems) is None
    assert problems == ["no year and no publication date: '11 NOV'"]


def test_unreadable_date_alternatives_are_left_out_and_described():
    problems: list[str] = []
    assert muc4.parse_date("31 NOV 89 / 02 DEC 89", None, problems) == [day("1989-12-02", "1989-12-02")]
    assert muc4.parse_date("28 AUG 92 - 03 SEP 89", None, problems) is None
    assert muc4.parse_date("SOMETIME", None, problems) is None
    assert [p.partition(":")[0] for p in problems] == ["not a calendar date", "range ends before it starts",
                                                        "not understood"]


def test_unreadable_key_dates_are_counted_in_the_report(tmp_path):
    report = LoadReport(source="t")
    (key,) = muc4.parse_answer_key(key_block("D", "1", incident__date="31 NOV 89", incident__type="ATTACK"), "k")
    record = muc4.template_record(template("attack"), key, None, "D", report)
    assert record["date"] is None and report.skipped == {"key date: not a calendar date": 1}
    assert report.notes == ["D (k:1): not a calendar date: '31 NOV 89'"]


@pytest.mark.parametrize("value, expected", [
    ("-", None),
    ("EL SALVADOR", [["el salvador"]]),
    ("GUATEMALA: SANTO TOMAS (FARM)", [["guatemala", "santo tomas"]]),
    ("EL SALVADOR: SAN MIGUEL (DEPARTMENT): SAN LUIS DE LA REINA (TOWN)",
     [["el salvador", "san miguel", "san luis de la reina"]]),
    ("(COLOMBIA: MEDELLIN (CITY)) / (COLOMBIA)", [["colombia", "medellin"], ["colombia"]]),
    ("COLOMBIA / VENEZUELA", [["colombia"], ["venezuela"]]),
    ("EL SALVADOR: USULUTAN (CITY / COUNTY / DEPARTMENT)", [["el salvador", "usulutan"]]),
    ("PERU: AREQUIPA (DEPARTMENT): ANDAHUA (TOWN) - AREQUIPA (CITY)", [["peru", "arequipa", "andahua - arequipa"]]),
    ("? HONDURAS", [["honduras"]]),
])
def test_location_slot(value, expected):
    assert muc4.parse_location(value) == expected


def count(minimum: int, maximum: int | None) -> dict:
    return {"minimum": minimum, "maximum": maximum}


@pytest.mark.parametrize("numbers, effects, killed, injured", [
    (['1: "CEREZO"', '1: "CIVILIAN"'], ['NO INJURY: "CEREZO"', 'DEATH: "CIVILIAN"'], count(1, 1), count(0, 0)),
    (['PLURAL: "JESUITS" / "PRIESTS"'], ['DEATH: "PRIESTS"'], count(2, None), None),
    (['6: "JESUITS"', '2: "WOMEN"'], ['DEATH: "JESUITS"', 'DEATH: "WOMEN"'], count(8, 8), None),
    (['5-: "AT LEAST FIVE"'], ['INJURY: "AT LEAST FIVE"'], None, count(5, None)),
    (['~30: "PEOPLE"'], ['DEATH: "PEOPLE"'], count(30, 30), None),
    (['3 - 5: "PEOPLE"'], ['DEATH: "PEOPLE"'], count(3, 5), None),
    (['10 / 10- / PLURAL: "JUDGES"'], ['DEATH: "JUDGES"'], count(10, 10), None),
    # The same string twice: the number at the same position (26 killed, 15 injured).
    (['-26: "PEASANTS"', '-15: "PEASANTS"'], ['DEATH: "PEASANTS"', 'INJURY: "PEASANTS"'], count(1, 26), count(1, 15)),
    # Optional ("?") or undecided ("INJURY / DEATH") targets add to the maximum only.
    (['? 1: "DRIVER"', '2: "GUARDS"'], ['DEATH: "DRIVER"', 'INJURY / DEATH: "GUARDS"'], count(0, 3), count(0, 2)),
    (['1: "MAYOR"'], ['? DEATH: "MAYOR"'], count(0, 1), None),
    # No number line for the target: at least one.
    (['-'], ['DEATH: "VICTIMS"'], count(1, None), None),
    (['-'], ['NO INJURY OR DEATH: "-"'], count(0, 0), count(0, 0)),
    (['-'], ['-'], None, None),
    (['1: "X"'], ['REGAINED FREEDOM: "X"'], None, None),
])
def test_killed_and_injured_from_number_and_effect(numbers, effects, killed, injured):
    assert muc4.parse_casualties(tuple(numbers), tuple(effects)) == {"killed": killed, "injured": injured}


def test_answer_key_blocks_comments_and_continuation_lines():
    text = ";;; a comment\n" + key_block("DEV-MUC3-0009", "2 (OPTIONAL)", incident__type="ATTACK",
                                          hum_tgt__number=['1: "A"', 'PLURAL: "B"']) + key_block("DEV-MUC3-0010")
    first, second = muc4.parse_answer_key(text, "k")
    assert (first.docid, first.optional, first.where) == ("DEV-MUC3-0009", True, "k:2")
    assert first.slots["HUM TGT: NUMBER"] == ('1: "A"', 'PLURAL: "B"')
    assert first.value("INCIDENT: TYPE") == "ATTACK"
    assert muc4.has_template(first) and not muc4.has_template(second)


def test_answer_key_garbage_line_raises_naming_file_and_line():
    with pytest.raises(ValueError, match=r"k:1: slot 'INCIDENT: DATE' before the first"):
        muc4.parse_answer_key("2.  INCIDENT: DATE                  02 FEB 90\n", "k")
    with pytest.raises(ValueError, match=r"k:2: neither a slot line"):
        muc4.parse_answer_key(key_block("D").splitlines()[0] + "\nGARBAGE\n", "k")


# ---------------------------------------------------------------- bad input


def test_malformed_json_line_raises_naming_file_and_line(tmp_path):
    root = write_corpus(tmp_path)
    with open(root / "processed/dev.json", "a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    with pytest.raises(ValueError, match=r"dev.json:2: not valid JSON"):
        muc4.load_muc4(root)


def test_unknown_role_key_raises_naming_file_line_and_docid(tmp_path):
    bad = processed_dev()
    bad[0]["templates"][0]["PerpGroup"] = []
    with pytest.raises(ValueError, match=r"dev.json:1 \(TST1-MUC3-0001\) template 0: unknown role key\(s\) "
                                         r"\['PerpGroup'\]"):
        muc4.load_muc4(write_corpus(tmp_path, dev=bad))


def test_offset_outside_the_text_raises_naming_the_docid(tmp_path):
    bad = processed_dev()
    bad[0]["templates"][0]["Target"] = [[["bank", 400]]]
    with pytest.raises(ValueError, match=r"\(TST1-MUC3-0001\) template 0: Target mention 'bank' at offset 400 lies "
                                         r"outside the text"):
        muc4.load_muc4(write_corpus(tmp_path, dev=bad))


def test_a_document_twice_raises(tmp_path):
    with pytest.raises(ValueError, match=r"DEV-MUC3-0001 appears twice"):
        muc4.load_muc4(write_corpus(tmp_path, dev=processed_train()[:1]))


def test_missing_root_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no MUC-4 corpus here"):
        muc4.load_muc4(tmp_path)


# ---------------------------------------------------------------- corpus kind and command line


def test_muc4_is_a_corpus_kind_recognised_from_its_folder(tmp_path):
    root = write_corpus(tmp_path / "muc4")
    assert annotation_kind(root) == "muc4"
    documents, files = load_documents("muc4", root, LoadReport(source="t"))
    assert len(documents) == 4
    assert {f.relative_to(root).as_posix() for f in files} == {
        "processed/train.json", "processed/dev.json", "LICENSE.gtt-packaging", "raw/dev/key-dev-0001.muc4",
        "raw/tst1/key-tst1.v7", "raw/dev/dev-muc3-0001-0100", "raw/tst1/tst1-muc3"}


def test_cli_prints_what_is_read_and_skipped(tmp_path, capsys):
    root = write_corpus(tmp_path / "muc4")
    assert cli_main(["muc4", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "4 documents" in out and "mention not in text 1" in out
    assert "train: 3 documents (1 with a publication date), 3 templates; with date 2, with location 2" in out
    assert cli_main(["muc4", "--root", str(root), "--notes"]) == 0
    assert "'national guard'" in capsys.readouterr().out
    assert cli_main(["muc4", "--root", str(tmp_path / "none")]) == 1


def test_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CONFLICT_IE_DATA", str(tmp_path))
    assert muc4.default_root() == tmp_path / "muc4"


# ---------------------------------------------------------------- the real corpus


@pytest.mark.skipif(not (REAL_MUC4 / "processed" / "train.json").is_file(),
                    reason="the MUC-4 corpus is not under the data root")
def test_real_muc4_counts():
    report = LoadReport(source="MUC-4")
    documents = muc4.load_muc4(REAL_MUC4, report)
    splits = [d.meta["split"] for d in documents]
    assert (splits.count("train"), splits.count("dev")) == (1300, 200)
    assert report.spans == {"AttackerIndividual": 1256, "AttackerOrganisation": 1435, "Target": 1099,
                            "Victim": 820, "Instrument": 505}
    assert report.skipped == {
        "mention only inside longer words": 16,
        muc4.RULE_LONGER: 852,
        muc4.RULE_ROLE: 18,
        "publication date: dateline says NO DATE": 75,
        "publication date: dateline without a year": 9,
        "key date: no year and no publication date": 6,
        "key date: not a calendar date": 2,
        "key date: range ends before it starts": 2,
    }
    records = [r for d in documents for r in d.meta["muc4_templates"]]
    assert len(records) == 1305
    assert [sum(r[f] is not None for r in records) for f in ("date", "location", "killed", "injured")] == \
        [1269, 1303, 648, 321]
    for document in documents:
        assert_exact_and_flat(document)


def test_a_corpus_that_comes_split_keeps_its_split_unless_the_split_file_lists_the_document():
    from conflict_ie.config import CorpusConfig
    from conflict_ie.data.corpora import Corpus, split_documents
    from conflict_ie.data.document import Document, LoadReport

    documents = [Document(doc_id, "text", (), layers=frozenset({"role_fillers"}), meta=meta)
                 for doc_id, meta in (("TST1-1", {"split": "dev"}), ("DEV-1", {"split": "train"}), ("DEV-2", {}),
                                      ("TST1-2", {"split": "dev"}))]
    corpus = Corpus(CorpusConfig(name="muc4", kind="muc4"), documents, LoadReport("muc4"))
    splits = split_documents([corpus], {"train": set(), "dev": set(), "test": {"TST1-2"}})
    assert {name: [d.id for _, d in items] for name, items in splits.items()} == {
        "train": ["DEV-1", "DEV-2"], "dev": ["TST1-1"], "test": ["TST1-2"]}
    # only the document with no split of its own is reported as unlisted
    assert corpus.report.notes == ["DEV-2 is not in the split file: used for training"]
