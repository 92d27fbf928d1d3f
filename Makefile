# Engram build, test, demo and install. `make demo` and `make test` work on a fresh Debian 12
# machine with the Swift toolchain: each installs what is missing first.

SWIFT        ?= swift
PREFIX       ?= /usr/local
SYSCONFDIR   ?= /etc
DESTDIR      ?=
BINDIR       := $(DESTDIR)$(PREFIX)/bin
UNITDIR      := $(DESTDIR)$(PREFIX)/lib/systemd/system
SYSUSERSDIR  := $(DESTDIR)$(PREFIX)/lib/sysusers.d
TMPFILESDIR  := $(DESTDIR)$(PREFIX)/lib/tmpfiles.d
COMPLETIONDIR:= $(DESTDIR)$(PREFIX)/share/bash-completion/completions
DOCDIR       := $(DESTDIR)$(PREFIX)/share/doc/engram
CONFDIR      := $(DESTDIR)$(SYSCONFDIR)/engram
RELEASE_BIN   = $(shell $(SWIFT) build -c release --show-bin-path)
DEBUG_BIN     = $(shell $(SWIFT) build --show-bin-path)

# Debian packages the build, the tests and the demo need; `deps` installs only the missing ones.
APT_PACKAGES := liblmdb-dev lmdb-utils libsystemd-dev libopenblas-dev pkg-config \
                redis-tools redis-server socat netcat-openbsd systemd python3-numpy bc
PIP_PACKAGES := redis numpy

.PHONY: all deps build release test unit-tests lint deploy-check demo bench install clean

all: build

deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    $$missing >/dev/null; \
	fi
	@python3 -c 'import redis, numpy' 2>/dev/null || \
	  python3 -m pip install -q --disable-pip-version-check $(PIP_PACKAGES)

# One debug build holds the binaries and the tests, so `swift test` need not build again.
build: deps
	$(SWIFT) build --build-tests

release: deps
	$(SWIFT) build -c release

unit-tests: build release
	$(SWIFT) test --skip-build --parallel

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

test: unit-tests lint deploy-check

# The unit files pass systemd's own checks, and `make install` puts every file where a
# distribution package would.
deploy-check: release
	@scripts/check-deploy.sh "$(RELEASE_BIN)"

demo: release
	@scripts/demo.sh "$(RELEASE_BIN)"

bench: release
	"$(RELEASE_BIN)/engram-bench" all
	@echo; echo "== ingest =="; scripts/bench-ingest.sh "$(RELEASE_BIN)"

# A distribution-style install. PREFIX (default /usr/local) holds binaries, units and
# snippets; SYSCONFDIR (default /etc) the configuration, which an existing copy keeps.
install: release
	install -d "$(BINDIR)" "$(UNITDIR)" "$(SYSUSERSDIR)" "$(TMPFILESDIR)" \
	  "$(COMPLETIONDIR)" "$(DOCDIR)" "$(CONFDIR)"
	install -m 0755 "$(RELEASE_BIN)/engramd" "$(RELEASE_BIN)/engram" "$(BINDIR)/"
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  deploy/engramd.service > "$(UNITDIR)/engramd.service"
	chmod 0644 "$(UNITDIR)/engramd.service"
	install -m 0644 deploy/engramd.socket "$(UNITDIR)/engramd.socket"
	install -m 0644 deploy/engramd.sysusers "$(SYSUSERSDIR)/engramd.conf"
	install -m 0644 deploy/engramd.tmpfiles "$(TMPFILESDIR)/engramd.conf"
	install -m 0644 deploy/engram.bash-completion "$(COMPLETIONDIR)/engram"
	install -m 0644 README.md "$(DOCDIR)/README.md"
	[ -e "$(CONFDIR)/engramd.conf" ] || install -m 0644 deploy/engramd.conf "$(CONFDIR)/engramd.conf"

clean:
	rm -rf .build
