# Debian 12 stand-in for ruby:3.1-slim-bookworm, for machines that cannot pull
# the official image (hack/build-images.sh -d): Debian's ruby (3.1) and
# bundler.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ruby ruby-bundler \
 && rm -rf /var/lib/apt/lists/*
CMD ["irb"]
