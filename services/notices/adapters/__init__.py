"""Notices adapters: the template catalogue on disk, the sandboxed Jinja2 and WeasyPrint
renderers, the evidence gRPC client, and the documents table."""
