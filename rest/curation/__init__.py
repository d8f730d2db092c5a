"""Dataset curation: rlla records from the published corpus or rebuilt from raw sources."""
