#!/usr/bin/env bash
# Builds qkv against LibTorch 2.x and runs its tests there, from Debian's own archive: a Debian 13
# (trixie) root made with debootstrap holds Debian's LibTorch 2.6, and this tree is built and tested
# inside it (build-trixie/ there). Debian 12, which the project targets, has only LibTorch 1.13, so
# this is how the TORCH_VERSION_MAJOR >= 2 code (scaled_dot_product_attention, the optimizer's
# state keys, the libuv store) is compiled and exercised without a PyTorch wheel.
#
#   scripts/check_libtorch2.sh          CPU LibTorch 2.6: build, then the test suite (ctest -LE slow)
#   scripts/check_libtorch2.sh --cuda   CUDA LibTorch 2.6 (contrib, with nvidia-cuda-toolkit, about
#                                       3.5 GB): build and link only, with NCCL; no GPU is needed.
#                                       cuDNN is fetched from NVIDIA by its installer package, which
#                                       cannot run offline, so the link allows LibTorch's cuDNN
#                                       references to stay unresolved; nothing is run.
#
# Needs root and deb.debian.org. The root lives in $QKV_TRIXIE_ROOT (default /srv/qkv-trixie, or
# /srv/qkv-trixie-cuda) and is reused by later runs. Not part of scripts/test.sh or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cuda=0
[ "${1:-}" = "--cuda" ] && cuda=1
root=${QKV_TRIXIE_ROOT:-/srv/qkv-trixie$([ $cuda = 1 ] && echo -cuda || true)}
[ "$(id -u)" -eq 0 ] || { echo "check_libtorch2: needs root (debootstrap, chroot)"; exit 1; }
scripts/setup.sh  # the host's Catch2 v2 is lent to the root below: trixie ships Catch2 v3
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }

common=g++,cmake,ninja-build,ccache,pkg-config,python3,python3-matplotlib,libsentencepiece-dev,libyaml-cpp-dev,libfmt-dev,libcli11-dev,nlohmann-json3-dev
if [ ! -x "$root/usr/bin/cmake" ]; then
  echo "check_libtorch2: debootstrap trixie into $root"
  if [ $cuda = 1 ]; then
    debootstrap --variant=minbase --components=main,contrib,non-free --include=$common trixie "$root" \
      http://deb.debian.org/debian >"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
  else
    debootstrap --variant=minbase --include=$common,libtorch-dev,libgloo-dev,python3-torch,python3-yaml trixie "$root" \
      http://deb.debian.org/debian >"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
  fi
fi
mounted=()
cleanup() { for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
for m in proc dev; do
  mountpoint -q "$root/$m" || { mount --bind "/$m" "$root/$m"; mounted+=("$root/$m"); }
done

if [ $cuda = 1 ] && [ ! -f "$root/usr/include/nccl.h" ]; then
  echo "check_libtorch2: installing libtorch-cuda-dev and nvidia-cuda-toolkit"
  # nvidia-cudnn's installer needs NVIDIA's servers and fails; the packages themselves unpack.
  chroot "$root" bash -c 'export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq libtorch-cuda-dev nvidia-cuda-toolkit' \
    >"$root.cuda.log" 2>&1 || true
  [ -f "$root/usr/include/torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp" ] || { tail -20 "$root.cuda.log"; exit 1; }
  # Headers only (libgloo-dev's package conflicts with the CUDA Gloo library, libnccl-dev with nothing).
  chroot "$root" bash -c 'cd /tmp && apt-get download -qq libgloo-dev libnccl-dev && for d in libgloo-dev_*.deb libnccl-dev_*.deb; do dpkg -x "$d" /; done'
fi

# Catch2 v2 from the host, as a relocatable CMake package.
mkdir -p "$root/opt/catch2v2/include" "$root/opt/catch2v2/lib/cmake"
cp -r /usr/include/catch2 "$root/opt/catch2v2/include/"
cp -r /usr/lib/cmake/Catch2 "$root/opt/catch2v2/lib/cmake/"
cp /usr/lib/libCatch2WithMain.a "$root/opt/catch2v2/lib/"

# This tree (tracked and untracked files git does not ignore) and the prepared data the tests read.
scripts/prepare_data.sh
mkdir -p "$root/src/qkv"
find "$root/src/qkv" -mindepth 1 -maxdepth 1 ! -name build-trixie -exec rm -rf {} +
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$root/src/qkv"
cp -a data "$root/src/qkv/"

flags=(-DCatch2_DIR=/opt/catch2v2/lib/cmake/Catch2)
[ $cuda = 1 ] && flags+=(-DCMAKE_EXE_LINKER_FLAGS=-Wl,--allow-shlib-undefined)
chroot "$root" bash -c "cd /src/qkv && { [ -f build-trixie/CMakeCache.txt ] || cmake -S . -B build-trixie -G Ninja -DCMAKE_BUILD_TYPE=Release ${flags[*]} >/tmp/configure.log 2>&1 || { cat /tmp/configure.log; exit 1; }; } && ninja -C build-trixie >/tmp/build.log 2>&1 || { grep -E 'error|FAILED' /tmp/build.log | head -40; exit 1; }"
echo "check_libtorch2: built against $(chroot "$root" dpkg-query -W -f='${Package} ${Version}' "libtorch-$([ $cuda = 1 ] && echo cuda-)dev")"
if [ $cuda = 0 ]; then
  chroot "$root" bash -c 'cd /src/qkv/build-trixie && ctest --output-on-failure -j "$(nproc)" -LE slow'
fi
