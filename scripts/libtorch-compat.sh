#!/usr/bin/env bash
# scripts/libtorch-compat.sh — build the shim and run every Go test against a newer libtorch than this
# machine's, inside a Debian chroot: trixie has libtorch 2.6 (C++17), sid the newest (2.14 on 2026-11-26,
# whose headers need C++20). It catches API drift in torch/shim before a GPU machine (PyTorch 2.11) does.
#
#   sudo scripts/libtorch-compat.sh [suite ...]     default: trixie sid; needs debootstrap and the Debian
#                                                   mirror; about 5 minutes and 2.5 GB per suite
#   COMPAT_NCCL=1 ...                               also compile tg_dist.cc's NCCL branch (CUDA + NCCL
#                                                   headers from non-free: 2.5 GB more per suite)
# The chroots stay in ${COMPAT_ROOT:-/tmp/semcom-compat}/<suite> for reruns; delete them when done.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${COMPAT_ROOT:-/tmp/semcom-compat}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(trixie sid)
command -v debootstrap >/dev/null || { apt-get update -qq || true; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
goroot=$(go env GOROOT)
modcache=$(go env GOMODCACHE)
go mod download
fails=0
for suite in "${suites[@]}"; do
  r=$root/$suite
  if [ ! -x "$r/usr/bin/g++" ]; then
    echo "== $suite: debootstrap (libtorch-dev, libhdf5-dev, g++, make)"
    debootstrap --variant=minbase --include=libtorch-dev,libhdf5-dev,pkg-config,g++,make,ca-certificates \
      "$suite" "$r" http://deb.debian.org/debian >"$root.$suite.log" 2>&1 || { echo "debootstrap failed: $root.$suite.log"; exit 1; }
  fi
  # Go, the module cache and this work tree (tracked and untracked, not ignored) go in fresh each time.
  rm -rf "$r/usr/local/go" "$r/root/go" "$r/src"
  mkdir -p "$r/usr/local" "$r/root/go/pkg" "$r/src"
  cp -a "$goroot" "$r/usr/local/go"
  cp -a "$modcache" "$r/root/go/pkg/mod"
  git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$r/src"
  mountpoint -q "$r/proc" || mount -t proc proc "$r/proc"
  mountpoint -q "$r/dev" || mount --bind /dev "$r/dev"
  mountpoint -q "$r/dev/pts" || mount --bind /dev/pts "$r/dev/pts"   # tmux's test needs ptys
  mountpoint -q "$r/sys" || mount -t sysfs sysfs "$r/sys"            # slurmd reads the CPU topology
  echo "== $suite: $(chroot "$r" dpkg-query -W -f '${Package} ${Version}' libtorch-dev), $(chroot "$r" g++ --version | head -1)"
  if chroot "$r" /bin/bash -c 'cd /src && export PATH=/usr/local/go/bin:$PATH HOME=/root GOTOOLCHAIN=local GOPROXY=off && make test'; then
    echo "PASS $suite"
  else
    echo "FAIL $suite"
    fails=$((fails + 1))
  fi
  if [ "${COMPAT_NCCL:-0}" = 1 ]; then
    # tg_dist.cc's NCCL branch, compiled (not linked: Debian's libtorch is CPU-only) against the suite's
    # c10d headers, Debian's CUDA headers and NCCL (non-free, about 2.5 GB more per suite).
    sed -i 's/ main$/ main contrib non-free/' "$r/etc/apt/sources.list"
    mkdir -p "$r/tmp/fakeinc/c10/cuda/impl" # generated at a CUDA build of libtorch; the CPU package lacks it
    printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' > "$r/tmp/fakeinc/c10/cuda/impl/cuda_cmake_macros.h"
    if chroot "$r" /bin/bash -c 'set -e; export DEBIAN_FRONTEND=noninteractive
        apt-get -o Acquire::Check-Valid-Until=false update -qq || true
        apt-get install -y -qq --no-install-recommends nvidia-cuda-dev libnccl-dev >/dev/null
        cd /src && std=$(grep -qs "C++20 or later" /usr/include/ATen/ATen.h && echo c++20 || echo c++17)
        g++ -std=$std -fPIC -I/usr/include/torch/csrc/api/include -isystem /tmp/fakeinc -DTG_BUILD_CONFIGURED=1 \
          -Wno-deprecated-declarations -DUSE_DISTRIBUTED -DUSE_C10D_GLOO -DUSE_C10D_NCCL -DUSE_CUDA \
          -c torch/shim/tg_dist.cc -o /tmp/tg_dist_nccl.o
        nm -C /tmp/tg_dist_nccl.o | grep -q ProcessGroupNCCL'; then
      echo "PASS $suite: tg_dist.cc compiles with NCCL"
    else
      echo "FAIL $suite: tg_dist.cc does not compile with NCCL"
      fails=$((fails + 1))
    fi
  fi
  umount "$r/dev/pts" "$r/sys" "$r/dev" "$r/proc" || true
done
exit $((fails > 0))
