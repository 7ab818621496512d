"""The dashboard: run list and run pages, rendered from the run feed without JS, behind a
bearer or cookie gate, with its templates and static files."""
