"""Lookout lab: runs the deliverable compose services natively, without Docker.

Each compose service gets its own network namespace (its own `lo` and `eth0` on a lab bridge,
so every service can listen on 0.0.0.0 exactly as in a container) and its own mount namespace
with an overlay of the host root, where the compose volumes are bind-mounted at their container
paths. The configuration files therefore stay byte-for-byte the ones compose mounts.
"""
