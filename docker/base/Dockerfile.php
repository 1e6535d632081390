# Debian 12 stand-in for php:8.2-cli-bookworm, for machines that cannot pull
# the official image (hack/build-images.sh -d): Debian's php8.2-cli.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends php8.2-cli \
 && rm -rf /var/lib/apt/lists/*
CMD ["php", "-a"]
