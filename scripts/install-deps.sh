#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine. Idempotent: it only
# installs what is missing. Each part of the project adds its own needs here.
set -euo pipefail
need_apt=()
# (sections are added by the parts of the project that need them)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
