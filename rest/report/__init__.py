"""Reports: the paper's tables, figures and an audit of the published numbers."""
