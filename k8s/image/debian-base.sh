#!/usr/bin/env bash
# Builds a JRE 17 base image from Debian packages, without a container engine or a registry: a
# minimal bookworm (debootstrap) with openjdk-17-jre-headless, written as a `docker save` tar that
# Jib layers the launcher onto:
#   sudo k8s/image/debian-base.sh /tmp/graft-base.tar [MIRROR]
#   mvn -B -pl launcher -am -DskipTests package jib:buildTar -Dgraft.image.from=tar:///tmp/graft-base.tar
# Needs root (debootstrap) and the Debian mirror; x86_64 only.
set -euo pipefail
out="${1:?usage: debian-base.sh OUT.tar [MIRROR]}"
mirror="${2:-http://deb.debian.org/debian}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm "$work/rootfs" "$mirror"
rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
mkdir -p "$work/image"
tar --numeric-owner -C "$work/rootfs" -cf "$work/image/layer.tar" .
diff_id="sha256:$(sha256sum "$work/image/layer.tar" | cut -d' ' -f1)"
cat > "$work/image/config.json" <<JSON
{"architecture": "amd64", "os": "linux",
 "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64"]},
 "rootfs": {"type": "layers", "diff_ids": ["$diff_id"]},
 "history": [{"created_by": "debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm"}]}
JSON
cat > "$work/image/manifest.json" <<JSON
[{"Config": "config.json", "RepoTags": ["graft-debian-base:bookworm-jre17"], "Layers": ["layer.tar"]}]
JSON
tar -C "$work/image" -cf "$out" manifest.json config.json layer.tar
echo "base image: $out ($diff_id)"
