# tests/hostile: hostile input (config and CLI matrices, CRM values that try to
# inject, break encodings or overflow) and secrets (logs, errors, TLS, http://).
