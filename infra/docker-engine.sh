#!/usr/bin/env bash
# Install and start a Docker engine where none answers (Debian's docker.io), as root.
# No bridge network: stage containers run with networking disabled and builds need
# none, so nothing of ours ever talks to Docker's private-range bridge.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  echo "a Docker engine answers"; exit 0
fi
if ! command -v dockerd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
nohup dockerd --bridge=none --iptables=false --ip-masq=false >/var/log/modelferry-dockerd.log 2>&1 &
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && { echo "dockerd started"; exit 0; }
  sleep 1
done
echo "dockerd did not start; see /var/log/modelferry-dockerd.log" >&2
exit 1
