"""From decoded spans to incident records: assembly, and the normalisation of counts, dates and places
(with the offline gazetteer)."""
