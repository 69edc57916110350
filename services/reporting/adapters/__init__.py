"""Reporting adapters: the read-model tables and their repository, and the labels of
service codes from the Service Level Matrix."""
