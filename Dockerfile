# kameo-bot as a small container: a static (musl) binary on an empty image.
#   docker build -t kameo-bot .
#   docker run -d --name kameo-bot --env-file kameo-bot.env \
#     -v kameo-bot-data:/var/lib/kameo-bot \
#     -v "$PWD/config.toml:/etc/kameo-bot/config.toml:ro" kameo-bot
# Secrets: KAMEO_PASSWORD / KAMEO_TOTP_SECRET in the env file, or
# KAMEO_PASSWORD_FILE=/run/secrets/kameo_password with Docker secrets.
# Reload: docker kill -s HUP kameo-bot. Logs: docker logs kameo-bot | jq

# aws-lc-sys (rustls' crypto) builds with a C/C++ compiler; cmake and perl are
# there for the builds that ask for them.
FROM rust:1-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools g++ cmake perl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --target x86_64-unknown-linux-musl --bin kameo-bot \
 && mkdir -p /out/var/lib/kameo-bot /out/etc/kameo-bot \
 && cp target/x86_64-unknown-linux-musl/release/kameo-bot /out/kameo-bot

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 /out/var/lib/kameo-bot /var/lib/kameo-bot
COPY --from=build /out/etc/kameo-bot /etc/kameo-bot
COPY --from=build /out/kameo-bot /usr/local/bin/kameo-bot
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    KAMEO_BOT_CONFIG=/etc/kameo-bot/config.toml \
    KAMEO_BOT__LEDGER__PATH=/var/lib/kameo-bot/ledger.sqlite \
    KAMEO_BOT__DAEMON__PAUSE_FILE=/var/lib/kameo-bot/PAUSE \
    KAMEO_BOT__LOGGING__FORMAT=json
# A non-root user by number: the image has no /etc/passwd to name one.
USER 65532:65532
VOLUME ["/var/lib/kameo-bot"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=60s --timeout=10s --start-period=3m --retries=3 \
  CMD ["/usr/local/bin/kameo-bot", "health"]
ENTRYPOINT ["/usr/local/bin/kameo-bot"]
CMD ["run"]
