#!/usr/bin/env bash
# Makes sure the machine has what the local stack runs on: Java 17 + Maven (the Kafka broker from
# Maven Central's jars) and the PostgreSQL server binaries. Installs them with apt-get when it can
# (root on Debian), otherwise says exactly what to install. The servers' part is skipped when
# KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL name existing servers.
#
# Extra tools named as arguments are installed too, package named as the command
# (`deploy/system-deps.sh wrk`: the API benchmark's load generator).
set -euo pipefail

missing=()
for tool in "$@"; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done

if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" && -n "${DATABASE_URL:-}" ]]; then
  echo "system-deps: using existing servers (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL); nothing to install for them"
else
  [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]] || { command -v java >/dev/null || missing+=(openjdk-17-jre-headless); command -v mvn >/dev/null || missing+=(maven); }
  if [[ -z "${DATABASE_URL:-}" ]]; then
    ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  fi
fi
((${#missing[@]})) || { echo "system-deps: everything needed is present${*:+ (with $*)}"; exit 0; }

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "system-deps: installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # chatstate runs a throwaway cluster of its own on a free port; the package's default cluster
  # (if its post-install starts one) is left alone. Keep existing config files, never prompt.
  apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null
  echo "system-deps: installed ${missing[*]}"
else
  echo "system-deps: missing ${missing[*]}; install them (e.g. sudo apt-get install ${missing[*]})" >&2
  echo "            or set KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL to existing servers" >&2
  exit 1
fi
