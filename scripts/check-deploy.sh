#!/bin/sh
# Checks the deployment files: `systemd-analyze verify` with an empty stderr (it exits 0 on
# some errors), a security exposure of 2.0 or lower, and a `make install` into a DESTDIR that
# lands every file where a distribution package would. Usage: check-deploy.sh RELEASE_BIN_DIR
set -eu
bin=$1
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/engram-deploy.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() { echo "deploy-check: $*" >&2; exit 1; }

# Verify a copy whose ExecStart points at the built binary: verify wants it to exist.
sed -e "s|@BINDIR@|$bin|g" -e "s|@SYSCONFDIR@|$top/deploy|g" \
    "$top/deploy/engramd.service" > "$work/engramd.service"
cp "$top/deploy/engramd.socket" "$work/engramd.socket"
systemd-analyze verify --man=no "$work/engramd.service" "$work/engramd.socket" \
    2> "$work/verify.err" || fail "systemd-analyze verify failed: $(cat "$work/verify.err")"
if [ -s "$work/verify.err" ]; then
    fail "systemd-analyze verify complained: $(cat "$work/verify.err")"
fi

# The check itself must be able to fail: a misspelt Type= is only "ignoring…" on stderr.
sed -e 's/^Type=notify$/Type=notfy/' "$work/engramd.service" > "$work/broken.service"
cp "$work/broken.service" "$work/engramd-broken.service"
systemd-analyze verify --man=no "$work/engramd-broken.service" 2> "$work/broken.err" || true
[ -s "$work/broken.err" ] || fail "verify said nothing about Type=notfy: the check cannot fail"

# The threshold is on systemd's internal 0..100 scale: 20 is an exposure of 2.0.
report=$(systemd-analyze security --offline=yes --threshold=20 "$work/engramd.service" 2>&1) \
    || fail "security exposure over 2.0: $(printf '%s\n' "$report" | tail -n 1)"
exposure=$(printf '%s\n' "$report" \
    | sed -n 's/.*Overall exposure level for engramd.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security printed no exposure level"
echo "deploy-check: systemd-analyze verify clean; security exposure $exposure (limit 2.0)"

# Install into a DESTDIR and compare what landed with what a package must hold.
make -s -C "$top" install DESTDIR="$work/root" PREFIX=/usr SYSCONFDIR=/etc >/dev/null
expected="/etc/engram/engramd.conf
/usr/bin/engram
/usr/bin/engramd
/usr/lib/systemd/system/engramd.service
/usr/lib/systemd/system/engramd.socket
/usr/lib/sysusers.d/engramd.conf
/usr/lib/tmpfiles.d/engramd.conf
/usr/share/bash-completion/completions/engram
/usr/share/doc/engram/README.md"
landed=$(cd "$work/root" && find . -type f | sed 's|^\.||' | LC_ALL=C sort)
if [ "$landed" != "$expected" ]; then
    fail "install layout differs from the expected one; landed:
$landed"
fi
grep -q '^ExecStart=/usr/bin/engramd --config /etc/engram/engramd.conf$' \
    "$work/root/usr/lib/systemd/system/engramd.service" || fail "ExecStart not substituted"
echo "deploy-check: make install DESTDIR=... PREFIX=/usr landed:"
printf '%s\n' "$landed" | sed 's/^/  /'
