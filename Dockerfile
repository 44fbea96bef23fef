# The `lookout` image: `lookout serve` (the collector, the default command) and the operator CLI.
# Build from the repository root: docker build -t lookout .
# (deploy/monitoring's compose file builds it with the repository root as context.)

# Build stage: the same Swift release the project is tested with.
FROM swift:6.3.1-noble AS build
# Google's snappy for the agent relay (Loki's protobuf pushes are snappy-compressed).
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update \
    && apt-get install -y --no-install-recommends libsnappy-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# Dependencies first, so that editing sources does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
# The manifest declares the test targets; SwiftPM wants their folders to exist.
COPY Tests ./Tests
# A static Swift runtime keeps the runtime image to plain Ubuntu (the binary then needs only
# libc, libm, libstdc++, libgcc_s and zlib, all in ubuntu:24.04, and libsnappy). Debug info is stripped
# (155 MB -> 105 MB); the symbol table stays for crash backtraces.
RUN swift build -c release --static-swift-stdlib --product lookout \
    && install -D "$(swift build -c release --show-bin-path)/lookout" /staging/lookout \
    && strip --strip-debug /staging/lookout

# Runtime stage: plain Ubuntu, non-root.
FROM ubuntu:24.04
# ca-certificates for an https Loki URL; curl for the health check; libsnappy1v5 for the relay.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl tzdata libsnappy1v5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin lookout
COPY --from=build /staging/lookout /usr/local/bin/lookout
# The minified logger; the collector fills in LOOKOUT_PUBLIC_PUSH_URL when serving it.
COPY frontend/logger/logger.min.js /usr/share/lookout/logger.js
USER lookout
EXPOSE 8081
# /health, not /ready: a Loki outage must not mark the collector unhealthy (it queues meanwhile).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8081/health || exit 1
ENTRYPOINT ["lookout"]
CMD ["serve"]
