# Multi-stage build of llm-gateway. The runtime image holds only the binary, the CA roots
# (rustls loads the system store for upstream HTTPS) and the shipped configs.
#   docker build -t llm-gateway .
#   docker run -p 8930:8930 -v ./config.toml:/etc/llm-gateway/config.toml llm-gateway
# The image listens on every interface (LLM_GATEWAY_HOST=0.0.0.0, over `[server] host`);
# LLM_GATEWAY_PORT moves the port.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY benches ./benches
# The release profile already strips debug info; `strip` would also drop the symbol table,
# which panic backtraces need to name functions.
RUN cargo build --release --bin llm-gateway

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home gateway
COPY --from=build /src/target/release/llm-gateway /usr/local/bin/llm-gateway
COPY conf /etc/llm-gateway/examples
USER gateway
ENV LLM_GATEWAY_HOST=0.0.0.0
EXPOSE 8930
# No curl in this image: the binary probes its own /health (exit 0 on a 200, else 1), at the
# address `serve` uses (LLM_GATEWAY_HOST/LLM_GATEWAY_PORT over the config file).
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD ["llm-gateway", "--config", "/etc/llm-gateway/config.toml", "health"]
ENTRYPOINT ["llm-gateway"]
CMD ["--config", "/etc/llm-gateway/config.toml"]
