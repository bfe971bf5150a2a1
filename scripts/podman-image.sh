# shellcheck shell=bash
# Sourced by scripts/compose-e2e.sh and scripts/k8s-e2e.sh: rootful podman
# installed and set up for this machine, and adpipe's image built from the
# project's Dockerfile, unchanged, with local stand-ins for the base images
# it names (scripts/compose-standins/README.md).
#
# The caller defines say and fail, sets root (the repository) and runs as
# root. Then:
#   podman_tools [PACKAGE ...]   apt-get installs podman (and the packages
#                                named) where missing; writes podman's config
#   podman_base_images WORK      the Debian, Rust and Python stand-ins the
#                                Dockerfile's stages start from
#   adpipe_image_build WORK      builds $ADPIPE_IMAGE (log in WORK/build.log)
# and standin_build, qualify and $debian_image for the compose test's own
# stand-ins. Podman's layer cache makes an unchanged build quick.

: "${root:?the caller sets root to the repository}"
standins=$root/scripts/compose-standins
# The name docker-compose.yml gives the image, as the Docker-compatible API
# qualifies it; `podman kube play` finds it by its short name `adpipe:latest`.
ADPIPE_IMAGE=docker.io/library/adpipe:latest

podman_tools() { # extra packages
  # netavark sets up compose's bridge networks with the iptables command;
  # without it every container start fails with "netavark: No such file or
  # directory" (nothing depends on iptables, and a fresh machine lacks it).
  local packages=(podman runc netavark aardvark-dns iptables catatonit debootstrap curl python3 "$@")
  local missing=() package
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # crun refuses this machine's hybrid cgroup layout; higher limits than these
  # are refused; netavark + aardvark-dns give compose's networks DNS by name.
  mkdir -p /etc/containers/containers.conf.d
  cat >/etc/containers/containers.conf.d/50-adpipe-compose-e2e.conf <<'EOF'
# Written by adpipe's scripts/compose-e2e.sh.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
EOF
}

# Fully qualified as the Docker-compatible API resolves short names.
qualify() {
  case "$1" in
  */*/*) echo "$1" ;;
  */*) echo "docker.io/$1" ;;
  *) echo "docker.io/library/$1" ;;
  esac
}
arg_default() { sed -nE "s/^ARG $1=(.*)$/\1/p" "$root/Dockerfile" | head -n 1; }
debian_image=$(qualify "$(arg_default RUNTIME_BASE)")
rust_image=$(qualify "$(arg_default RUST_IMAGE)")
python_image=$(qualify "$(arg_default PYTHON_IMAGE)")

# One Debian bookworm for every stand-in, with this machine's extra CA
# certificates (so pip and cargo can reach their registries through the
# same proxy the host uses) and without the mirror's name: builds get the
# host's apt sources mounted instead.
apt_mounts=()
for source in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$source" ] && apt_mounts+=(-v "$source:$source:ro")
done
# Built every time: podman's layer cache makes an unchanged one instant.
standin_build() { # image containerfile [podman build options]
  local image=$1 file=$2
  shift 2
  say "building the stand-in $image"
  podman build -q --network host "${apt_mounts[@]}" --build-arg "BASE=$debian_image" \
    -t "$image" -f "$standins/$file" "$@" "$standins" >/dev/null
}

podman_base_images() { # work folder
  local work=$1
  if [ "${REBUILD_STANDINS:-0}" = 1 ] || ! podman image exists "$debian_image"; then
    say "making $debian_image with debootstrap"
    local mirror
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -nE 's/^deb (\[[^]]*\] )?(https?:[^ ]+) bookworm .*/\2/p' | head -n 1 || true)
    [ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
      sed -nE 's/^URIs: *(https?:[^ ]+).*/\1/p' | head -n 1 || true)
    [ -n "$mirror" ] || fail "no Debian mirror in the apt sources"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      fail "debootstrap: see $work/debootstrap.log"
    rm -f "$work/rootfs/etc/apt/sources.list"
    mkdir -p "$work/rootfs/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$work/rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -c . | podman import -q - "$debian_image" >/dev/null
    rm -rf "$work/rootfs"
  fi
  local toolchain
  toolchain=$(rustc --print sysroot)
  standin_build "$rust_image" rust.Containerfile -v "$toolchain:/toolchain:ro"
  standin_build "$python_image" python.Containerfile
}

# Built on the host's network: containers on a bridge network cannot reach
# the registries from this machine, a build on the host's network can.
adpipe_image_build() { # work folder
  local work=$1 started=$SECONDS
  say "building adpipe's image from the Dockerfile"
  podman build --network host "${apt_mounts[@]}" -t "$ADPIPE_IMAGE" "$root" >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; fail "the image did not build"; }
  say "built in $((SECONDS - started)) s"
}
