"""Vietnamese licence-plate reading and grammar, importable by the box and the server (issue #7)."""
