#!/usr/bin/env bash
# Make a Python 3.11 base image from Debian's packages, for machines that cannot pull one.
#   infra/base-image.sh [TAG]        (default modelferry/base:bookworm-py311)
# debootstrap a minimal bookworm with python3 (3.11) and venv, then `docker import` it.
# Idempotent: an existing TAG is kept.
set -euo pipefail
tag=${1:-modelferry/base:bookworm-py311}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag exists"; exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
rootfs=$(mktemp -d /tmp/modelferry-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import \
  -c 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["python3"]' - "$tag"
echo "made $tag"
