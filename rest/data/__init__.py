"""Raw inputs: the data manifest (upstream URLs, checksums) and fetching."""
