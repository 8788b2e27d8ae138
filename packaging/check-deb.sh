#!/usr/bin/env bash
# Install the .deb (as root) and check what a user would: the binaries run,
# the man pages are found, bash completes `probe ht` to `http`. Removes the
# package again unless KEEP=1.
set -euo pipefail
deb=${1:?usage: packaging/check-deb.sh target/golive_VERSION_ARCH.deb}
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }

dpkg -i "$deb" >/dev/null
trap '[ "${KEEP:-0}" = 1 ] || dpkg -r golive >/dev/null' EXIT

for tool in probe dns-watch metric-gate shift rollback; do
	v=$("/usr/bin/$tool" --version) || fail "$tool --version"
	case $v in "$tool "*) ;; *) fail "$tool --version said: $v" ;; esac
	page=$(man -w "$tool") || fail "man -w $tool"
	case $page in /usr/share/man/man1/"$tool".1.gz) ;; *) fail "man -w $tool: $page" ;; esac
done
man -w metric-gate-check >/dev/null || fail "man -w metric-gate-check"
[ -f /usr/share/doc/golive/examples/preflight.toml ] || fail "examples missing"

# Bash completion as bash-completion would load it.
got=$(bash -c 'source /usr/share/bash-completion/completions/probe
	COMP_WORDS=(probe ht); COMP_CWORD=1; COMP_LINE="probe ht"; COMP_POINT=8
	_probe probe ht probe; echo "${COMPREPLY[*]}"')
[ "$got" = http ] || fail "bash completes 'probe ht' to '$got', not 'http'"
[ -s /usr/share/zsh/vendor-completions/_probe ] || fail "zsh completion missing"
[ -s /usr/share/fish/vendor_completions.d/probe.fish ] || fail "fish completion missing"
echo "check-deb: $deb installs; --version, man -w and completion work for every tool"
