#!/usr/bin/env bash
# Build the arm64 (aarch64) sysroot of the cross build (cmake/toolchain-aarch64.cmake) from Debian
# 12 arm64 packages, WITHOUT installing them: libdpdk-dev:arm64 cannot be installed beside the
# amd64 one (../shared/TOOLCHAIN.md), so the .debs are fetched with `apt-get download` and
# unpacked with `dpkg -x`.
#
#   scripts/arm64-sysroot.sh            build build/arm64-sysroot (or $FANOUT_ARM64_SYSROOT)
#   scripts/arm64-sysroot.sh DIR        build DIR
#   scripts/arm64-sysroot.sh --list     print the resolved package list (name version) and exit
#
# What goes in: the dependency closure (Depends and Pre-Depends, no Recommends) of the roots
# below, reduced to arm64 libraries and development files (no programs, no maintainer scripts
# are run). Idempotent and quiet on success: DIR/.fanout-sysroot-stamp holds the hash of the
# resolved "package version" list; when it matches, nothing is done (and when neither apt's
# package lists nor this script changed, the list is not even resolved again). The downloaded .debs are
# kept in DIR.debs/ so a rebuild after a package change downloads only what changed.
# Needs root (or sudo) only to enable the arm64 architecture in apt the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the arm64 subset links (see docs/building.md, "arm64"): the C/C++ runtime and headers
# (the cross compiler's --sysroot replaces /usr/aarch64-linux-gnu, so libc6-dev and
# libstdc++-12-dev must be in the sysroot too), GoogleTest, DPDK 22.11, yaml-cpp (libfanout, whose
# driver/dp holds the DPDK data path), nlohmann-json (header only, architecture all:
# test_host_fanout_cli's JSON checks).
roots=(libc6-dev libstdc++-12-dev linux-libc-dev libgtest-dev libgmock-dev libdpdk-dev libyaml-cpp-dev)
roots_all=(nlohmann-json3-dev)
# Programs, maintainer-script helpers and system services that the dependency closure drags in
# through Pre-Depends of runtime libraries; none of them is linked by anything.
exclude_re='^(adduser|cdebconf|debconf|dpkg|install-info|passwd|perl|perl-base|pkg-config|pkgconf|pkgconf-bin|rdma-core|rpcsvc-proto|sed|sysvinit-utils|tar|udev|libc-dev-bin|libperl5\.36|libpam.*|libdebian-installer4|libnewt0\.52|libslang2|libtextwrap1|libsemanage.*|libgdbm.*|libdb5\.3|libreadline8|libtinfo6|libpkgconf3)$'

list_only=0
sysroot="${FANOUT_ARM64_SYSROOT:-build/arm64-sysroot}"
case "${1:-}" in
  --list) list_only=1 ;;
  "") ;;
  *) sysroot="$1" ;;
esac
mkdir -p "$(dirname "$sysroot")"
sysroot="$(cd "$(dirname "$sysroot")" && pwd)/$(basename "$sysroot")"

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
log=$(mktemp -t fanout-arm64-sysroot.XXXXXX.log)
trap 'rm -f "$log"' EXIT
fail() {
  cat "$log" >&2
  echo "arm64-sysroot: $*" >&2
  trap - EXIT
  exit 1
}

# Fast path: nothing changed since the last build (same apt package lists, same script).
quick_key=$( { cat "$0"; stat -c '%n %s %Y' /var/lib/apt/lists/*_Packages* 2>/dev/null; } | sha256sum | cut -d' ' -f1)
if [[ $list_only -eq 0 && -f "$sysroot/.fanout-sysroot-stamp" && -f "$sysroot/.fanout-sysroot-quick" &&
      "$(cat "$sysroot/.fanout-sysroot-quick")" == "$quick_key" ]]; then
  exit 0
fi

# ---- apt knows arm64 packages ---------------------------------------------------------------
if ! apt-cache show --no-all-versions libdpdk-dev:arm64 >/dev/null 2>&1; then
  if [[ -n "$sudo" ]] && ! command -v sudo >/dev/null; then
    echo "arm64-sysroot: need root once for 'dpkg --add-architecture arm64 && apt-get update'" >&2
    exit 1
  fi
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo dpkg --add-architecture arm64 >>"$log" 2>&1 || fail "dpkg --add-architecture arm64 failed"
  fi
  $sudo apt-get update -q >>"$log" 2>&1 || fail "apt-get update failed"
fi

# ---- resolve the package list ---------------------------------------------------------------
arm_roots=("${roots[@]/%/:arm64}")
mapfile -t names < <(
  {
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "${arm_roots[@]}" 2>>"$log" |
      sed -n 's/^\([a-z0-9][a-z0-9.+-]*\):arm64$/\1/p' | grep -Ev "$exclude_re" || true
    printf '%s\n' "${roots_all[@]}"
  } | LC_ALL=C sort -u)
[[ ${#names[@]} -gt 50 ]] || fail "could not resolve the arm64 package closure (${#names[@]} packages)"

# "name:arch version" for each package (candidate versions): the stamp and the download list.
specs=()
for n in "${names[@]}"; do
  if [[ " ${roots_all[*]} " == *" $n "* ]]; then specs+=("$n"); else specs+=("$n:arm64"); fi
done
pkglist=$(apt-cache show --no-all-versions "${specs[@]}" 2>>"$log" |
  awk '/^Package:/{p=$2} /^Architecture:/{a=$2} /^Version:/{v=$2} /^$/{if(p!=""){print p":"a" "v}; p=""}
       END{if(p!="") print p":"a" "v}' | LC_ALL=C sort -u)
[[ $(wc -l <<<"$pkglist") -eq ${#specs[@]} ]] || fail "apt-cache show did not return one version per package"

if [[ $list_only -eq 1 ]]; then
  echo "$pkglist"
  exit 0
fi

stamp_hash=$( { echo "$pkglist"; sed -n '/^exclude_re=/p' "$0"; } | sha256sum | cut -d' ' -f1)
if [[ -f "$sysroot/.fanout-sysroot-stamp" && "$(cat "$sysroot/.fanout-sysroot-stamp")" == "$stamp_hash" ]]; then
  echo "$quick_key" >"$sysroot/.fanout-sysroot-quick"
  exit 0
fi

# ---- download (cached) ----------------------------------------------------------------------
debs="$sysroot.debs"
mkdir -p "$debs"
want=()
while read -r pa v; do
  p=${pa%%:*}; a=${pa##*:}
  f="${p}_${v//:/%3a}_${a}.deb"
  [[ -f "$debs/$f" ]] || want+=("$p:$a=$v")
done <<<"$pkglist"
if [[ ${#want[@]} -gt 0 ]]; then
  # apt-get download writes into the current directory; run it as the _apt-readable caller.
  (cd "$debs" && apt-get download -q "${want[@]}" >>"$log" 2>&1) || fail "apt-get download failed"
fi

# ---- unpack into a fresh tree, then swap it in ----------------------------------------------
tmp="$sysroot.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
while read -r pa v; do
  p=${pa%%:*}; a=${pa##*:}
  dpkg -x "$debs/${p}_${v//:/%3a}_${a}.deb" "$tmp" >>"$log" 2>&1 || fail "dpkg -x $p failed"
done <<<"$pkglist"

# Absolute symlinks (e.g. usr/lib/aarch64-linux-gnu/libfoo.so -> /lib/aarch64-linux-gnu/libfoo.so.1)
# would point into the build machine's own root: make them relative to their place in the sysroot.
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  rel=$(realpath -m -s --relative-to="$(dirname "$link")" "$tmp$target")
  ln -sfn "$rel" "$link"
done < <(find "$tmp" -type l -lname '/*' -print0)

# Remove the .debs that are no longer in the list (a package update), keep the cache small.
expected=$(while read -r pa v; do echo "${pa%%:*}_${v//:/%3a}_${pa##*:}.deb"; done <<<"$pkglist")
while IFS= read -r f; do
  rm -f "$debs/$f"
done < <(comm -23 <(cd "$debs" && ls -1 -- *.deb | LC_ALL=C sort) <(LC_ALL=C sort <<<"$expected"))

echo "$pkglist" >"$tmp/.fanout-sysroot-packages"
echo "$stamp_hash" >"$tmp/.fanout-sysroot-stamp"
echo "$quick_key" >"$tmp/.fanout-sysroot-quick"
rm -rf "$sysroot"
mv "$tmp" "$sysroot"
