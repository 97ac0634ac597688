#!/usr/bin/env bash
# Make a base image from Debian's packages, for machines that cannot pull one.
#   infra/base-image.sh [TAG [SUITE [PACKAGES]]]   (default modelferry/base:bookworm-py311 bookworm
#                                                   python3,python3-venv,ca-certificates)
# debootstrap a minimal SUITE with PACKAGES (comma-separated), then `docker import` it. A runtime that
# only exists in an older Debian (Caffe: bullseye's python3-caffe) gets its own base this way.
# Idempotent: an existing TAG is kept.
set -euo pipefail
tag=${1:-modelferry/base:bookworm-py311}
suite=${2:-bookworm}
packages=${3:-python3,python3-venv,ca-certificates}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag exists"; exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
rootfs=$(mktemp -d /tmp/modelferry-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import \
  -c 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["python3"]' - "$tag"
echo "made $tag"
