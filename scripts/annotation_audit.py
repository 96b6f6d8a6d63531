"""List candidates for the annotation consistency rules of annotations/GUIDELINES.md, for a person to review.

    python scripts/annotation_audit.py                 # every rule, seeds and authored markup
    python scripts/annotation_audit.py --rule alias    # one rule
    python scripts/annotation_audit.py --counts        # only the number of candidates per rule

Each line is ``file:line: RULE: text -- why``. A candidate is not an error: it is a place the rule may apply. The
script reads the markup files through conflict_ie.data.markup.parse_markup and changes nothing.

Rules (guideline section in brackets):
  self-report    [7.5]  an organisation that says it acted is attacker and reported_by of its incident
  alias          [7.3]  IsSynonymOf only for an alias the text states next to the name ("X (Y)", "known as")
  type           [4]    Attack triggers aimed at armed forces; same_incident chains whose triggers differ in type
  commander      [7.7]  "commander" -> InChargeOf; "affiliate"/"-linked"/"affiliated" -> AlliesOf
  distance       [3]    distances are not annotated (no Quantity with a length unit)
  classifier     [2.6]  classifier words ("province", "district", ...) stay outside a Location span
  time-of-day    [3]    a day and its time of day are one Temporal span ("[Saturday afternoon]")
  document       [3]    numbered documents ("Resolution 2254", "Report No. 12") are DocumentReference
  comment        [8]    relation-block comments that name a capitalised word the article text does not contain
  recalled       [4.1]  event words with no trigger in a sentence that pins down a date, count or place, and
                        triggers whose time is the article's dateline

Deliberate exceptions left after the review of the consistency branch (reviewed by hand; they stay listed):
  - self-report: channels a claim is published through (Amaq in a07/b10/c01, Az-Zallaqa in b05, Radio Andalus in
    b01) and organisations that only confirm, describe or condemn (seed 001's "US military announced" the name of
    the dead, seed 003's observatory, a11's police command, b06's FAMa general staff, b19's MONUSCO, c14's NUG)
    are reported_by only; acting forces named by a reporting organisation (c05's security forces under ISPR, c09's
    forces under the Defence Ministry, a18's Government of National Unity) are attacker only.
  - alias: b18 "which presents it as its [Central Africa Province]" is a stated alias with a long gap.
  - type: Attack triggers aimed at soldiers, bases or convoys where the text reports no return fire (a03 ambush,
    a07 checkpoint, b05 convoy ambush, b10 base overrun, seed 003's raid) stay Attack by the rule in section 4;
    a21's "camp" is a camp of displaced people.
  - commander: b08 Oumar Ag Hamid BelongsTo GSIM (member of GSIM) next to InChargeOf Katiba Serma.
  - recalled: every remaining line is a casualty toll of an annotated incident, an aggregate count, a war or
    campaign, a habitual or threatened event (section 7.8); the script cannot tell them from recalled incidents.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conflict_ie.data.markup import parse_markup  # noqa: E402
from conflict_ie.schema import TRIGGER_LABELS  # noqa: E402

SEEDS = ROOT / "annotations" / "seeds_src"
AUTHORED = ROOT / "annotations" / "authored" / "src"

RULES = ("self-report", "alias", "type", "commander", "distance", "classifier", "time-of-day", "document",
         "comment", "recalled")

ALIAS_CUE = re.compile(r"\(|known as|call\w*|\balias\b|formerly|presents? (it|itself|them) as|calls? (it|itself|themselves)|"
                       r"\bor\b|\baka\b|[“\"]|^, the $|^\s*–\s*$", re.IGNORECASE)
ARMED = re.compile(r"\b(soldiers?|troops?|army|forces?|police(men)?|officers?|checkpoints?|base|barracks|posts?|"
                   r"patrols?|convoy|positions?|militia|guards?|levies|military|gendarmes?|peacekeepers?|camp|"
                   r"outpost|fighters|unit|battalion|brigade)\b", re.IGNORECASE)
FOUGHT_BACK = re.compile(r"\b(repel\w*|repuls\w*|fought back|returned fire|return fire|exchange[ds]? of fire|"
                         r"exchanged fire|gun ?battle|clash\w*|firefight|fighting|engaged|beat back|battle)\b",
                         re.IGNORECASE)
SELF_REPORT_CUE = re.compile(r"\b(claim\w*|conducted|carried out|said (its|it had|it)|its (forces|fighters|troops|"
                             r"aircraft|units)|our (forces|fighters|troops|units)|we |announced that it|"
                             r"said in a statement that it|press release)\b", re.IGNORECASE)
COMMANDER = re.compile(r"\bcommanders?\b", re.IGNORECASE)
AFFILIATE = re.compile(r"(affiliat\w*|-linked|\blinked\b|-allied)", re.IGNORECASE)
DISTANCE = re.compile(r"\b(km|kilomet\w*|kilometr\w*|miles?|metres?|meters?|m)\b\.?$", re.IGNORECASE)
CLASSIFIER = re.compile(r"\s(province|Province|provinces|region|Region|district|District|governorate|Governorate|state|State|"
                        r"county|County|town|city|village|area|department|Department|municipality|Municipality|"
                        r"township|Township|division|Division|territory|Territory|locality|mountains?)$")
CLASSIFIER_NAMES = {"Sambisa Forest", "Red Sea", "Black Sea", "Gaza Strip", "Lake Chad", "Tora Bora"}
TIME_OF_DAY = r"(morning|afternoon|evening|night|midnight|noon|dawn|dusk)"
DOCUMENT = re.compile(r"\b((Resolution|Report|Bulletin|Update|Release|Statement|Communiqu\w*|Decree|Order|Issue|"
                      r"Flash Report|Situation Report|Press Release|Sitrep)\s+(No\.?|Number|#)?\s*\d[\w/-]*|"
                      r"(No\.|Number|#)\s*\d[\w/-]*)", re.IGNORECASE)
EVENT_WORD = re.compile(r"\b(attack(s|ed)?|strikes?|struck|airstrikes?|air strikes?|raids?|raided|bomb(s|ing|ings|ed)?|"
                        r"blasts?|explosions?|ambush(ed|es)?|clash(es|ed)?|fighting|shell(ing|ed)|kidnapp\w+|abduct\w*|"
                        r"assassinat\w*|killed|shot dead|shot|shooting|mortars?|rockets?|IEDs?|landmines?|"
                        r"suicide|drone)\b", re.IGNORECASE)
RECALL_CUE = re.compile(r"\b(last (year|month|week)|earlier (this|in)|previous|in (January|February|March|April|May|June|"
                        r"July|August|September|October|November|December)|in (19|20)\d\d|ago|since|anniversary|"
                        r"recalled?|had (been )?(killed|attacked|kidnapped|abducted))\b", re.IGNORECASE)


class Doc:
    def __init__(self, path: Path):
        self.path = path = Path(path).resolve()
        self.source = path.read_text(encoding="utf-8")
        root = SEEDS if path.parent == SEEDS else None
        self.doc = parse_markup(self.source, str(path), root)
        lines = self.source.split("\n")
        self.body_start = next(i for i, line in enumerate(lines) if line.strip() == "---") + 2
        self.rel_start = max(i for i, line in enumerate(lines) if line.strip() == "---") + 2
        self.spans = {s.id: s for s in self.doc.spans}
        self.relations = list(self.doc.relations)
        self.text = self.doc.text
        self.name = str(path.relative_to(ROOT))
        # incident chains: trigger -> first trigger
        self.first = {s.id: s.id for s in self.doc.spans if s.label in TRIGGER_LABELS}
        for r in self.relations:
            if r.label == "same_incident":
                self.first[r.head] = r.tail
        self.roles = defaultdict(set)  # (incident, role) -> span ids
        for r in self.relations:
            if r.head in self.first and r.label != "same_incident":
                self.roles[(self.first[r.head], r.label)].add(r.tail)

    def line(self, offset: int) -> int:
        return self.body_start + self.text[:offset].count("\n")

    def sentence(self, offset: int) -> str:
        start = max(self.text.rfind(". ", 0, offset), self.text.rfind("\n", 0, offset)) + 1
        ends = [i for i in (self.text.find(". ", offset), self.text.find("\n", offset)) if i >= 0]
        end = min(ends) + 1 if ends else len(self.text)
        return self.text[start:end].strip()

    def sentence_bounds(self, offset: int) -> tuple[int, int]:
        start = max(self.text.rfind(". ", 0, offset), self.text.rfind("\n", 0, offset)) + 1
        ends = [i for i in (self.text.find(". ", offset), self.text.find("\n", offset)) if i >= 0]
        return start, (min(ends) + 1 if ends else len(self.text))


def report(out, doc, line, rule, text, why):
    out.append((rule, f"{doc.name}:{line}: {rule}: {text!r} -- {why}"))


def check_self_report(doc, out):
    for incident in set(doc.first.values()):
        attackers = doc.roles[(incident, "attacker")]
        reporters = doc.roles[(incident, "reported_by")]
        att_names = {doc.spans[a].text.lower() for a in attackers}
        for r in doc.relations:
            if doc.first.get(r.head) != incident or r.label not in ("attacker", "reported_by"):
                continue
            span = doc.spans[r.tail]
            if span.label != "Organisation":
                continue
            sentence = doc.sentence(span.start)
            if r.label == "attacker" and r.tail not in reporters and SELF_REPORT_CUE.search(sentence) \
                    and re.search(r"\b(claim\w*|said|announced|statement|reported|confirmed|release)\b", sentence):
                report(out, doc, doc.line(span.start), "self-report", span.text,
                       f"attacker of {incident}, not reported_by, in a sentence with a claim/statement: {sentence[:140]}")
            if r.label == "reported_by" and r.tail not in attackers and (
                    SELF_REPORT_CUE.search(sentence) or span.text.lower() in att_names):
                report(out, doc, doc.line(span.start), "self-report", span.text,
                       f"reported_by of {incident}, not attacker: {sentence[:140]}")


def check_alias(doc, out):
    for r in doc.relations:
        if r.label != "IsSynonymOf":
            continue
        head, tail = doc.spans[r.head], doc.spans[r.tail]
        first, second = sorted((head, tail), key=lambda s: s.start)
        gap = doc.text[first.end:second.start]
        if len(gap) > 60 or "\n" in gap or ". " in gap or not ALIAS_CUE.search(gap):
            report(out, doc, doc.line(head.start), "alias", f"{head.text} -> {tail.text}",
                   f"{r.head} IsSynonymOf {r.tail}, no stated alias between them (gap {gap[:50]!r})")


def check_type(doc, out):
    chains = defaultdict(list)
    for t, f in doc.first.items():
        chains[f].append(doc.spans[t])
    for f, triggers in chains.items():
        labels = {t.label for t in triggers}
        if len(labels) > 1:
            report(out, doc, doc.line(doc.spans[f].start), "type", doc.spans[f].text,
                   f"chain {f} mixes {sorted(labels)}: " + ", ".join(f"{t.id}={t.label}" for t in triggers))
        if "Attack" in labels:
            tails = doc.roles[(f, "target")] | doc.roles[(f, "victim")]
            armed = [doc.spans[x].text for x in tails if ARMED.search(doc.spans[x].text)]
            text_all = " ".join(doc.sentence(t.start) for t in triggers)
            if armed:
                fought = FOUGHT_BACK.search(text_all)
                report(out, doc, doc.line(doc.spans[f].start), "type", doc.spans[f].text,
                       f"Attack {f} on armed target(s) {armed}; fought-back cue: "
                       f"{fought.group(0) if fought else 'none'}")


def check_commander(doc, out):
    for r in doc.relations:
        if r.label not in ("BelongsTo", "InChargeOf", "AlliesOf"):
            continue
        head, tail = doc.spans[r.head], doc.spans[r.tail]
        lo, hi = min(head.start, tail.start), max(head.end, tail.end)
        window = doc.text[max(0, lo - 30):hi + 5]
        between = doc.text[lo:hi]
        if COMMANDER.search(window) and r.label == "BelongsTo" and (
                doc.spans[r.head].label == "Person"):
            report(out, doc, doc.line(head.start), "commander", f"{head.text} -> {tail.text}",
                   f"{r.head} BelongsTo {r.tail} near 'commander': {window!r}")
        gap = doc.text[min(head.end, tail.end):max(head.start, tail.start)]
        if AFFILIATE.search(gap) and len(gap) < 60 and r.label != "AlliesOf":
            report(out, doc, doc.line(head.start), "commander", f"{head.text} -> {tail.text}",
                   f"{r.head} {r.label} {r.tail} with affiliation wording: {between!r}")


def check_spans(doc, out):
    for s in doc.spans.values():
        after = doc.text[s.end:s.end + 30]
        before = doc.text[max(0, s.start - 30):s.start]
        if s.label == "Quantity" and DISTANCE.search(s.text):
            report(out, doc, doc.line(s.start), "distance", s.text, f"{s.id} distance as Quantity")
        if s.label == "Quantity" and re.match(r"\s*(km|kilomet|miles?\b|metres|meters)", after):
            report(out, doc, doc.line(s.start), "distance", s.text, f"{s.id} number of a distance: {after!r}")
        if s.label == "Location" and CLASSIFIER.search(s.text) and s.text not in CLASSIFIER_NAMES:
            report(out, doc, doc.line(s.start), "classifier", s.text, f"{s.id} classifier word inside the span")
        if s.label == "Temporal":
            if re.match(r"\s+" + TIME_OF_DAY + r"\b", after, re.IGNORECASE):
                report(out, doc, doc.line(s.start), "time-of-day", s.text, f"{s.id} time of day after the span: {after!r}")
            if re.search(TIME_OF_DAY + r"\s+(of\s+)?$", before, re.IGNORECASE) and not re.search(r"\]", before[-12:]):
                report(out, doc, doc.line(s.start), "time-of-day", s.text, f"{s.id} time of day before the span: {before!r}")
            if re.fullmatch(r"(at |in the )?" + TIME_OF_DAY, s.text, re.IGNORECASE):
                previous = [t for t in doc.spans.values() if t.label == "Temporal" and 0 < s.start - t.end < 12]
                if previous:
                    report(out, doc, doc.line(s.start), "time-of-day", s.text,
                           f"{s.id} separate time-of-day span right after {previous[0].text!r}")
    # unannotated time-of-day words glued to a weekday
    for m in re.finditer(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\]\{Temporal \w+\}\s+" +
                         TIME_OF_DAY, doc.source):
        report(out, doc, doc.source[:m.start()].count("\n") + 1, "time-of-day", m.group(0), "time of day outside")
    # documents
    covered = [(s.start, s.end, s.label) for s in doc.spans.values()]
    for m in DOCUMENT.finditer(doc.text):
        label = next((lab for a, b, lab in covered if a <= m.start() < b), None)
        if label != "DocumentReference":
            report(out, doc, doc.line(m.start()), "document", doc.text[max(0, m.start() - 25):m.end() + 5],
                   f"numbered document, span label {label}")


def check_comments(doc, out):
    lines = doc.source.split("\n")
    known = set(re.findall(r"[A-Za-z][\w'’-]+", doc.text))
    for number, line in enumerate(lines[doc.rel_start - 1:], start=doc.rel_start):
        if "#" not in line:
            continue
        comment = line.split("#", 1)[1]
        for word in re.findall(r"\b[A-Z][\w'’-]+", comment):
            word = re.sub(r"['’]s$", "", word)
            if all(part in known or part.lower() in doc.text.lower() for part in word.split("-")):
                continue
            if word not in known and word.lower() not in doc.text.lower() and not re.fullmatch(
                    r"(Incident|ISIS|IED|Every|AirStrike|Shelling|Explosion|ArmedClash|Attack|Abduction|The|A|An|No|Not|"
                    r"Both|One|Each|Two|Three|See|Only|Rule|Per|Same|First|Second|Third|This|These|It)", word):
                report(out, doc, number, "comment", word, f"comment names a word not in the text: {line.strip()[:120]}")


def check_recalled(doc, out):
    triggered = [(s.start, s.end) for s in doc.spans.values() if s.label in TRIGGER_LABELS]
    entity_at = [(s.start, s.end) for s in doc.spans.values() if s.label not in TRIGGER_LABELS]
    seen = set()
    for m in EVENT_WORD.finditer(doc.text):
        if any(a <= m.start() < b for a, b in triggered) or any(a <= m.start() < b for a, b in entity_at):
            continue
        lo, hi = doc.sentence_bounds(m.start())
        if any(lo <= a < hi for a, b in triggered):
            continue  # the sentence already has a trigger; anaphora are checked by hand
        pinned = [s for s in doc.spans.values() if lo <= s.start < hi and s.label in ("Temporal", "Quantity")]
        if not pinned or (lo, hi) in seen:
            continue
        seen.add((lo, hi))
        report(out, doc, doc.line(m.start()), "recalled", m.group(0),
               f"event word with no trigger in a sentence with {[p.text for p in pinned]}: {doc.text[lo:hi][:160]}")
    dateline = doc.doc.meta.get("publication_date")
    for s in doc.spans.values():
        if s.label in TRIGGER_LABELS and RECALL_CUE.search(doc.sentence(s.start)) and doc.first.get(s.id) == s.id:
            times = [doc.spans[t].text for t in doc.roles[(s.id, "time")]]
            report(out, doc, doc.line(s.start), "recalled", s.text,
                   f"trigger {s.id} in a recalling sentence, time {times}: {doc.sentence(s.start)[:140]}")
    del dateline


CHECKS = {"self-report": check_self_report, "alias": check_alias, "type": check_type, "commander": check_commander,
          "comment": check_comments, "recalled": check_recalled}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--rule", choices=RULES, action="append")
    parser.add_argument("--counts", action="store_true")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.files] or sorted(SEEDS.glob("*.txt")) + sorted(AUTHORED.glob("*.txt"))
    rules = args.rule or list(RULES)
    out = []
    for path in paths:
        doc = Doc(path)
        for name, check in CHECKS.items():
            if name in rules:
                check(doc, out)
        if {"distance", "classifier", "time-of-day", "document"} & set(rules):
            check_spans(doc, out)
    out = [(rule, line) for rule, line in out if rule in rules]
    counts = defaultdict(int)
    files = defaultdict(set)
    for rule, line in out:
        counts[rule] += 1
        files[rule].add(line.split(":", 1)[0])
        if not args.counts:
            print(line)
    for rule in rules:
        print(f"# {rule}: {counts[rule]} candidates in {len(files[rule])} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
