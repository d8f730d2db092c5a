"""Evaluation: generation backends, API-Bank (ToolRL protocol) and BFCL with the official checker."""
