#!/usr/bin/env bash
# Build target/golive_VERSION_ARCH.deb from a built tree (make build man):
# `make install` into a staging root with PREFIX=/usr, plus the docs and
# examples, man pages gzipped as Debian policy asks, and a control file.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=target/deb/golive_${version}_${arch}
rm -rf "$stage"
make --no-print-directory install DESTDIR="$PWD/$stage" PREFIX=/usr \
	BASHCOMPDIR=/usr/share/bash-completion/completions \
	ZSHCOMPDIR=/usr/share/zsh/vendor-completions \
	FISHCOMPDIR=/usr/share/fish/vendor_completions.d >/dev/null
gzip -9n "$stage"/usr/share/man/man1/*.1

doc=$stage/usr/share/doc/golive
install -d "$doc"
install -m 0644 README.md "$doc/"
cp -r docs "$doc/docs"
cp -r examples "$doc/examples"
install -m 0644 scripts/*.sh "$doc/examples/"
printf 'golive\n\nLicense: MIT OR Apache-2.0\n' >"$doc/copyright"

# The newest glibc symbol version the binaries use is the least libc6 they need.
glibc=2.36
if command -v objdump >/dev/null; then
	found=$(objdump -T "$stage"/usr/bin/* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
	[ -n "$found" ] && glibc=$found
fi
size=$(du -sk "$stage" | cut -f1)
install -d "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: golive
Version: ${version}
Architecture: ${arch}
Maintainer: golive maintainers <golive@localhost>
Installed-Size: ${size}
Depends: libc6 (>= ${glibc}), libgcc-s1
Suggests: bash-completion, man-db
Section: admin
Priority: optional
Homepage: https://github.com/golive/golive
Description: go-live toolkit: probe, dns-watch, metric-gate, shift, rollback
 Five small tools with exit codes and JSON output that turn a go-live
 runbook into scripts: health probes (HTTP, TCP, TLS, PostgreSQL, Redis,
 Prometheus, SMTP, backups), DNS propagation, Prometheus gates, traffic
 shifting between blue and green, and a journaled, resumable rollback.
CONTROL
out=target/golive_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
