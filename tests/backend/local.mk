# tests/backend: the backend conformance suite
