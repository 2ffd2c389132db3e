"""Report rendering: nbconvert template, HTML helpers, PDF via headless Chromium."""

import sys

# jsonschema (under nbformat and papermill) imports rfc3987_syntax when it is installed
# (jupyter-events pulls it in), and that module compiles a grammar for about a second at
# import, for an IRI format check notebooks never use; importing it now fails quietly.
sys.modules.setdefault("rfc3987_syntax", None)
