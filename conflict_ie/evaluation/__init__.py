"""Scoring and reporting: metrics (seqeval strict IOB2, relations, incident roles), the evaluate command,
reports, model cards, the spaCy peer and the gold incident files."""
