"""Scoring and reporting: metrics (seqeval strict IOB2, relations, incident roles, headline figures), the
evaluate command, MUC-4 template scoring (``muc4``), reports (tables and Markdown in ``report``, HTML in
``report_html``), model cards, the spaCy peer and the gold incident files."""
