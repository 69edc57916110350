"""Notices service: renders letters, notices and orders from Jinja2 templates kept as data
(``templates/``) to HTML and PDF, stores them through the evidence service and records
each rendered document once per case step."""
