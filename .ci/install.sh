#!/usr/bin/env bash
# What CI installs before the README's test line: Debian packages for the real-VS-Code suites.
# (The npm dependencies come from that line's `npm ci`; the suites install code-server into
# .cache/ themselves, reusing it when present.)
#  - chromium: drives the code-server workbench through playwright-core.
#  - ripgrep: stands in for the ripgrep code-server would download from GitHub.
#  - libkrb5-dev: code-server's kerberos module builds from source.
#  - cmake, g++, git: the `remote` suite builds llama-server from the llama.cpp source that
#    node-llama-cpp ships (test/run.mjs does it before that suite, once per machine, into
#    ~/.cache/local-llm/llama-server-<commit>/; about 7 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$(date +%s)
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
dpkg-query -W -f='${Status}' libkrb5-dev 2>/dev/null | grep -q 'install ok installed' || missing+=(libkrb5-dev)
command -v cmake >/dev/null || missing+=(cmake)
command -v g++ >/dev/null || missing+=(g++)
command -v git >/dev/null || missing+=(git)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
t1=$(date +%s)

echo "install: apt $((t1 - t0)) s"
