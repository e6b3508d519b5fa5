"""Fixtures for the summaries tests: a local HTTP server speaking the Anthropic Messages API."""
