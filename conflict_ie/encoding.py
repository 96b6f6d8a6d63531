"""Documents -> sub-token sequences, tags aligned from character spans, overlapping windows, padded batches and
relation candidates.

A document is tokenized once, without special tokens; windows are slices of that token sequence with the
encoder's special tokens added around them, so consecutive windows share ``stride`` tokens and no token past the
encoder's length limit is lost. Token offsets stay character offsets into the original text. Encoding owns the
window arithmetic (``window_bounds``, ``window_count``) and the candidate span pairs (``candidate_pairs``); each
batch of pairs carries the (head, tail) span of every row, so nothing downstream re-derives their order.
"""

from __future__ import annotations

import bisect
import functools
import random
from dataclasses import dataclass, field

import torch

from .data.document import Document
from .data.role_fillers import role_filler_spans
from .schema import ENTITY_LABELS, RELATION_LABELS, ROLE_FILLER_LABELS, TRIGGER_LABELS

IGNORE_INDEX = -100
NO_RELATION = "none"
RELATION_CLASSES: tuple[str, ...] = (NO_RELATION,) + RELATION_LABELS
SPAN_LABELS: tuple[str, ...] = ENTITY_LABELS + TRIGGER_LABELS


def bio_tags(labels: tuple[str, ...]) -> tuple[str, ...]:
    return ("O",) + tuple(f"{prefix}-{label}" for label in labels for prefix in ("B", "I"))


ENTITY_TAGS = bio_tags(ENTITY_LABELS)
TRIGGER_TAGS = bio_tags(TRIGGER_LABELS)
ROLE_FILLER_TAGS = bio_tags(ROLE_FILLER_LABELS)

# Word shape of a token, read from the original (cased) text: the uncased encoder cannot see case.
SHAPES = ("special", "lower", "title", "upper", "digit", "punct", "other")
SHAPE_COUNT = len(SHAPES) * 2  # times "starts a word" / "continues a word"


def token_shape(text: str, char_start: int, char_end: int) -> int:
    if char_end <= char_start:
        return 0
    starts_word = char_start == 0 or not text[char_start - 1].isalnum()
    return _piece_shape(text[char_start:char_end]) + (0 if starts_word else len(SHAPES))


@functools.lru_cache(maxsize=1 << 16)
def _piece_shape(piece: str) -> int:
    """The shape of a token's characters (cached: the same few thousand pieces make up most text, and this ran
    once per token of every document predicted)."""
    if any(c.isdigit() for c in piece):
        return 4
    if piece.isalpha():
        if piece.islower():
            return 1
        if piece.isupper():
            return 3 if len(piece) > 1 else 2
        return 2 if piece[0].isupper() else 6
    if all(not c.isalnum() for c in piece):
        return 5
    return 6


@dataclass
class TokenSpan:
    """A span in token units: tokens ``token_start`` .. ``token_end - 1`` of the document."""

    token_start: int
    token_end: int
    label: str
    span_id: str = ""


@dataclass
class EncodedDocument:
    text: str
    token_ids: list[int]
    char_starts: list[int]
    char_ends: list[int]
    shapes: list[int]
    # Per-token tag ids, or None where the document does not annotate that layer (its loss is masked).
    entity_tags: list[int] | None = None
    trigger_tags: list[int] | None = None
    role_tags: list[int] | None = None
    spans: list[TokenSpan] = field(default_factory=list)
    relations: dict[tuple[str, str], str] | None = None  # (head id, tail id) -> label; None: layer not annotated
    doc_id: str = ""

    def __len__(self) -> int:
        return len(self.token_ids)


@dataclass(frozen=True)
class Window:
    doc_index: int
    token_start: int
    token_end: int


# A longer text is tokenized piece by piece, cut at whitespace (where no token can run across), so the tokenizer's
# working memory stays bounded however long an article is.
PIECE_CHARS = 100_000


def tokenize_texts(tokenizer, texts: list[str]) -> list[EncodedDocument]:
    """One tokenizer pass over all texts: ids, character offsets and word shapes per token."""
    short = [i for i, text in enumerate(texts) if len(text) <= PIECE_CHARS]
    documents: list[EncodedDocument | None] = [None] * len(texts)
    for index, (ids, offsets) in zip(short, _tokenize(tokenizer, [texts[i] for i in short])):
        documents[index] = _encoded_document(texts[index], ids, offsets)
    for index in (i for i in range(len(texts)) if documents[i] is None):
        ids, offsets = [], []
        for start, end in _pieces(texts[index]):
            ((piece_ids, piece_offsets),) = _tokenize(tokenizer, [texts[index][start:end]])
            ids += piece_ids
            offsets += [(token_start + start, token_end + start) for token_start, token_end in piece_offsets]
        documents[index] = _encoded_document(texts[index], ids, offsets)
    return documents


def _tokenize(tokenizer, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
    if not texts:
        return []
    encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True,
                        return_attention_mask=False, verbose=False)
    return list(zip(encoded["input_ids"], encoded["offset_mapping"]))


def _pieces(text: str) -> list[tuple[int, int]]:
    """(start, end) of consecutive pieces of at most PIECE_CHARS characters, each but the last ending at the last
    whitespace of its stretch (or at the limit, in a text with no whitespace there)."""
    pieces, start = [], 0
    while len(text) - start > PIECE_CHARS:
        limit = start + PIECE_CHARS
        cut = max(text.rfind(space, start + 1, limit) for space in (" ", "\n", "\t"))
        cut = cut if cut > start else limit
        pieces.append((start, cut))
        start = cut
    pieces.append((start, len(text)))
    return pieces


def _encoded_document(text: str, ids, offsets) -> EncodedDocument:
    kept = [(token_id, start, end) for token_id, (start, end) in zip(ids, offsets) if end > start]
    return EncodedDocument(
        text=text,
        token_ids=[k[0] for k in kept],
        char_starts=[k[1] for k in kept],
        char_ends=[k[2] for k in kept],
        shapes=[token_shape(text, k[1], k[2]) for k in kept],
    )


def char_span_to_tokens(encoded: EncodedDocument, char_start: int, char_end: int) -> tuple[int, int] | None:
    """The tokens a character span covers (any overlap), or None when it covers no token."""
    first = bisect.bisect_right(encoded.char_ends, char_start)
    last = bisect.bisect_left(encoded.char_starts, char_end)
    if first >= last:
        return None
    return first, last


def encode_documents(tokenizer, documents: list[Document]) -> list[EncodedDocument]:
    """Tokenize annotated documents and align their character spans to sub-token tags. ``spans`` (the relation
    candidates) hold entities and triggers; role fillers become the role-filler tags only."""
    encoded_docs = tokenize_texts(tokenizer, [doc.text for doc in documents])
    for document, encoded in zip(documents, encoded_docs):
        encoded.doc_id = document.id
        for span in document.spans:
            if span.label not in SPAN_LABELS:
                continue
            tokens = char_span_to_tokens(encoded, span.start, span.end)
            if tokens is not None:
                encoded.spans.append(TokenSpan(tokens[0], tokens[1], span.label, span.id))
        if "entities" in document.layers:
            encoded.entity_tags = _tags(encoded, ENTITY_LABELS, ENTITY_TAGS)
        if "triggers" in document.layers:
            encoded.trigger_tags = _tags(encoded, TRIGGER_LABELS, TRIGGER_TAGS)
        if "relations" in document.layers:
            encoded.relations = {(r.head, r.tail): r.label for r in document.relations}
        if "role_fillers" in document.layers:
            fillers = [TokenSpan(*tokens, span.label) for span in role_filler_spans(document)
                       if (tokens := char_span_to_tokens(encoded, span.start, span.end)) is not None]
            encoded.role_tags = _tags(encoded, ROLE_FILLER_LABELS, ROLE_FILLER_TAGS, fillers)
    return encoded_docs


def _tags(encoded: EncodedDocument, labels: tuple[str, ...], tag_names: tuple[str, ...],
          spans: list[TokenSpan] | None = None) -> list[int]:
    index = {name: i for i, name in enumerate(tag_names)}
    tags = [0] * len(encoded)
    for span in encoded.spans if spans is None else spans:
        if span.label not in labels:
            continue
        tags[span.token_start] = index[f"B-{span.label}"]
        for position in range(span.token_start + 1, span.token_end):
            tags[position] = index[f"I-{span.label}"]
    return tags


def window_bounds(length: int, max_length: int, stride: int) -> list[tuple[int, int]]:
    """(token_start, token_end) of each window over a document of ``length`` tokens: consecutive windows share
    ``stride`` tokens, every token lies in at least one window, and an empty document has one empty window."""
    content = max_length - 2  # room for the encoder's two special tokens
    if content <= stride:
        raise ValueError(f"max_length {max_length} leaves no room beyond stride {stride}")
    step = content - stride
    bounds, start = [], 0
    while True:
        end = min(start + content, length)
        bounds.append((start, end))
        if end >= length:
            return bounds
        start += step


def window_count(length: int, max_length: int, stride: int) -> int:
    """How many windows ``make_windows`` cuts a document of ``length`` tokens into."""
    return len(window_bounds(length, max_length, stride))


def make_windows(lengths: list[int], max_length: int, stride: int) -> list[Window]:
    """Overlapping windows over each document; every token lies in at least one window."""
    return [Window(doc_index, start, end) for doc_index, length in enumerate(lengths)
            for start, end in window_bounds(length, max_length, stride)]


@dataclass
class PairBatch:
    """Relation candidates of a batch: one row per (head, tail) span pair, positions inside the padded batch.

    ``spans`` holds the pair each row scores, in document token units, so whoever reads the model's relation
    probabilities knows which pair every row belongs to without re-deriving the order."""

    batch_index: torch.Tensor  # the batch row (window) each pair lies in
    head_bounds: torch.Tensor  # [pairs, 2] first and last token position (batch coordinates: [CLS] is 0)
    tail_bounds: torch.Tensor
    head_labels: torch.Tensor  # span label ids (index into SPAN_LABELS)
    tail_labels: torch.Tensor
    distance: torch.Tensor  # tokens between the two spans' starts
    targets: torch.Tensor  # relation class ids; IGNORE_INDEX at inference
    spans: list[tuple[TokenSpan, TokenSpan]]

    def __len__(self) -> int:
        return len(self.spans)

    def to(self, device) -> "PairBatch":
        moved = {name: value.to(device) if isinstance(value, torch.Tensor) else value
                 for name, value in self.__dict__.items()}
        return PairBatch(**moved)


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    shapes: torch.Tensor
    entity_tags: torch.Tensor
    trigger_tags: torch.Tensor
    role_tags: torch.Tensor
    pairs: PairBatch  # gold relation candidates (training); empty for documents without the relations layer
    windows: list[Window]

    def to(self, device) -> "Batch":
        moved = {name: value.to(device) if isinstance(value, (torch.Tensor, PairBatch)) else value
                 for name, value in self.__dict__.items()}
        return Batch(**moved)


def window_tags(tags: list[int] | None, window: Window) -> list[int]:
    if tags is None:
        return [IGNORE_INDEX] * (window.token_end - window.token_start)
    return tags[window.token_start:window.token_end]


def spans_in_window(spans: list[TokenSpan], window: Window) -> list[TokenSpan]:
    return [s for s in spans if s.token_start >= window.token_start and s.token_end <= window.token_end]


def candidate_pairs(spans: list[TokenSpan], allowed_pairs: set[tuple[str, str]] | None,
                    max_distance: int) -> list[tuple[TokenSpan, TokenSpan]]:
    """Every ordered (head, tail) pair of distinct spans whose labels the schema lets relate (``allowed_pairs``;
    None: any) and whose starts lie at most ``max_distance`` tokens apart; head-major order."""
    return [(head, tail) for head in spans for tail in spans
            if head is not tail and (allowed_pairs is None or (head.label, tail.label) in allowed_pairs)
            and abs(head.token_start - tail.token_start) <= max_distance]


def _pair_row(row: int, window: Window, head: TokenSpan, tail: TokenSpan, target: int) -> tuple:
    offset = 1 - window.token_start  # window token -> batch position ([CLS] first)
    return (row, head.token_start + offset, head.token_end - 1 + offset, tail.token_start + offset,
            tail.token_end - 1 + offset, SPAN_LABELS.index(head.label), SPAN_LABELS.index(tail.label),
            abs(head.token_start - tail.token_start), target)


def _pair_batch(rows: list[tuple], spans: list[tuple[TokenSpan, TokenSpan]]) -> PairBatch:
    table = torch.tensor(rows, dtype=torch.long) if rows else torch.zeros((0, 9), dtype=torch.long)
    return PairBatch(batch_index=table[:, 0], head_bounds=table[:, 1:3], tail_bounds=table[:, 3:5],
                     head_labels=table[:, 5], tail_labels=table[:, 6], distance=table[:, 7], targets=table[:, 8],
                     spans=list(spans))


def relation_candidates(window: Window, spans: list[TokenSpan], *, allowed_pairs: set[tuple[str, str]] | None,
                        max_distance: int, row: int = 0) -> PairBatch:
    """Inference: every candidate pair of ``spans`` (all inside ``window``) as batch row ``row``, to score."""
    pairs = candidate_pairs(spans, allowed_pairs, max_distance)
    return _pair_batch([_pair_row(row, window, head, tail, IGNORE_INDEX) for head, tail in pairs], pairs)


def collate(documents: list[EncodedDocument], windows: list[Window], tokenizer, *, max_distance: int = 200,
            allowed_pairs: set[tuple[str, str]] | None = None, rng: random.Random | None = None,
            negatives_per_positive: int = 0, min_negatives: int = 32) -> Batch:
    """Pad windows into a batch. Relation candidates are the gold spans that lie wholly inside a window, for the
    documents that annotate relations. With ``rng`` and a positive ``negatives_per_positive`` (training), each
    window keeps all its gold relations and a random sample of its unrelated pairs (at least ``min_negatives``).
    Sampling makes relations look more common than they are at inference, where every pair is scored, so it
    trades precision for recall."""
    cls_id, sep_id, pad_id = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    width = max(w.token_end - w.token_start for w in windows) + 2
    rows = len(windows)
    input_ids = torch.full((rows, width), pad_id, dtype=torch.long)
    attention = torch.zeros((rows, width), dtype=torch.long)
    shapes = torch.zeros((rows, width), dtype=torch.long)
    entity_tags = torch.full((rows, width), IGNORE_INDEX, dtype=torch.long)
    trigger_tags = torch.full((rows, width), IGNORE_INDEX, dtype=torch.long)
    role_tags = torch.full((rows, width), IGNORE_INDEX, dtype=torch.long)
    pair_rows: list[tuple] = []
    pair_spans: list[tuple[TokenSpan, TokenSpan]] = []
    for row, window in enumerate(windows):
        doc = documents[window.doc_index]
        ids = doc.token_ids[window.token_start:window.token_end]
        n = len(ids)
        input_ids[row, : n + 2] = torch.tensor([cls_id] + ids + [sep_id])
        attention[row, : n + 2] = 1
        shapes[row, 1 : n + 1] = torch.tensor(doc.shapes[window.token_start:window.token_end], dtype=torch.long)
        for target, tags in ((entity_tags, doc.entity_tags), (trigger_tags, doc.trigger_tags),
                             (role_tags, doc.role_tags)):
            if tags is not None:  # a layer the document does not annotate stays IGNORE_INDEX (and at inference, all)
                target[row, 1 : n + 1] = torch.tensor(window_tags(tags, window), dtype=torch.long)
        if doc.relations is None:
            continue
        pairs = candidate_pairs(spans_in_window(doc.spans, window), allowed_pairs, max_distance)
        labelled = [(_pair_row(row, window, head, tail, RELATION_CLASSES.index(
                        doc.relations.get((head.span_id, tail.span_id), NO_RELATION))), (head, tail))
                    for head, tail in pairs]
        if rng is not None and negatives_per_positive > 0:
            positives = [item for item in labelled if item[0][-1] != 0]
            negatives = [item for item in labelled if item[0][-1] == 0]
            keep = max(min_negatives, negatives_per_positive * len(positives))
            if len(negatives) > keep:
                negatives = rng.sample(negatives, keep)
            labelled = positives + negatives
        pair_rows += [item[0] for item in labelled]
        pair_spans += [item[1] for item in labelled]
    return Batch(input_ids=input_ids, attention_mask=attention, shapes=shapes, entity_tags=entity_tags,
                 trigger_tags=trigger_tags, role_tags=role_tags, pairs=_pair_batch(pair_rows, pair_spans), windows=list(windows))
