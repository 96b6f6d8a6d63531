"""Data in: the Document every corpus becomes, the readers (Label Studio exports, re3d, CoNLL BIO, markup),
the configured corpora and splits, and the annotation validator."""
