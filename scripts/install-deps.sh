#!/usr/bin/env bash
# Installs what ptag needs to build and test on Debian 12 (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  cmake ninja-build g++ make \
  tao-pegtl-dev libfmt-dev catch2 libcli11-dev libsimdjson-dev \
  libsqlite3-dev sqlite3 nlohmann-json3-dev python3 libhowardhinnant-date-dev tzdata \
  libcpp-httplib-dev libmicrohttpd-dev zlib1g-dev libcurl4-openssl-dev libtomlplusplus-dev prometheus-cpp-dev libssl-dev \
  clang libclang-rt-14-dev pkg-config chromium >/dev/null
