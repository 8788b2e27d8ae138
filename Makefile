# golive — make targets. `make deps` needs root (or sudo) on Debian/Ubuntu.

CARGO   ?= cargo
PREFIX  ?= /usr/local
BINS     = probe dns-watch metric-gate shift rollback
RELEASE  = target/release
ASSETS   = target/assets
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d

# Servers and peer tools the tests, the demo and the benchmarks use (Debian 12 names).
DEB_PACKAGES = postgresql postgresql-client pgbouncer opensmtpd python3-aiosmtpd redis-server redis-tools prometheus prometheus-alertmanager \
               haproxy nginx-light knot knot-dnsutils unbound bind9-dnsutils \
               wrk hyperfine time curl socat openssl bsdutils gzip procps iproute2 \
               ca-certificates shellcheck systemd man-db prometheus-node-exporter prometheus-pushgateway \
               chromium

.PHONY: all deps ensure-deps build man test lint bench demo demo-incident install deb clean schema

all: build

deps:
	@if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$SUDO apt-get update -qq && \
	$$SUDO apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES) >/dev/null && \
	echo "deps: installed $(DEB_PACKAGES)"
	$(CARGO) fetch --locked

# What `make test` and `make demo` run first: install only the Debian packages
# that are missing (one dpkg query each when nothing is), saying which.
ensure-deps:
	@command -v dpkg-query >/dev/null 2>&1 || { echo "ensure-deps: not a Debian system; install these yourself: $(DEB_PACKAGES)"; exit 0; }; \
	missing=; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "ensure-deps: installing the missing Debian packages:$$missing"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null && \
		echo "ensure-deps: installed:$$missing"; \
	fi

build:
	$(CARGO) build --release --locked $(addprefix -p ,$(BINS))

# nextest runs each test in its own process (servers are per test); plain
# cargo test is the fallback where nextest is not installed.
test: ensure-deps
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --locked --no-fail-fast && \
		$(CARGO) test --workspace --locked --doc; \
	else \
		$(CARGO) test --workspace --locked --no-fail-fast; \
	fi

SHELL_SCRIPTS = scripts/*.sh examples/*/*.sh bench/*.sh packaging/*.sh .ci/run

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	shellcheck $(SHELL_SCRIPTS)

# Rewrite docs/schema/*.json from the tools' document types (the test suite
# fails while a published schema differs from what the code generates).
schema:
	GOLIVE_WRITE_SCHEMA=1 $(CARGO) test --workspace --locked --test schema

bench: build
	$(CARGO) build --release --locked -p testkit
	bench/run.sh

demo: ensure-deps
	$(CARGO) build --release --locked $(addprefix -p ,$(BINS)) -p testkit
	$(RELEASE)/golive-lab demo

# The bad day: green fails a share of requests at 25%, the gate fires, the
# rollback runs; Alertmanager and a webhook sink hear it; the report shows it.
demo-incident: ensure-deps
	$(CARGO) build --release --locked $(addprefix -p ,$(BINS)) -p testkit
	$(RELEASE)/golive-lab demo-incident

# Man pages and bash/zsh/fish completions, from the tools' clap definitions.
# golive-docgen is a build tool, run here: it is not in BINS, so make build,
# make install and the .deb leave it out on purpose.
man:
	$(CARGO) run --release --locked -q -p golive-docgen -- $(ASSETS)

install: build man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 $(addprefix $(RELEASE)/,$(BINS)) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(ASSETS)/man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(ASSETS)/completions/bash/* $(DESTDIR)$(BASHCOMPDIR)/
	install -m 0644 $(ASSETS)/completions/zsh/* $(DESTDIR)$(ZSHCOMPDIR)/
	install -m 0644 $(ASSETS)/completions/fish/* $(DESTDIR)$(FISHCOMPDIR)/

# One .deb with the binaries, man pages, completions, examples and docs.
deb: build man
	packaging/build-deb.sh

clean:
	$(CARGO) clean
