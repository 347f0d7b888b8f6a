# Placeholder: the multi-stage, non-root image comes with the packaging issue (#7).
FROM scratch
