"""Hostwinds Cloud API: typed client (httpx), response decoding, idempotent creation by name."""
