#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (the real
# Secret Service), so tests exercise the OS keyring exactly as a Linux desktop would.
# Usage: scripts/with-keyring.sh CMD [ARGS...]
set -euo pipefail
if [ -z "${CAREKEY_IN_KEYRING_SESSION:-}" ]; then
  export CAREKEY_IN_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
state=$(mktemp -d /tmp/carekey-keyring.XXXXXX)
export XDG_DATA_HOME="$state/data" XDG_RUNTIME_DIR="$state/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"
before=$(pgrep -x gnome-keyring-d || true)
eval "$(printf 'carekey-test' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL CAREKEY_SECRET_SERVICE=1
# Only the daemon started here is ours to stop (never `kill 0`: that is our own process group).
ours=$(comm -13 <(printf '%s\n' $before | sort) <(pgrep -x gnome-keyring-d | sort) || true)
status=0
"$@" || status=$?
for pid in ${GNOME_KEYRING_PID:-} $ours; do kill "$pid" 2>/dev/null || true; done
rm -rf "$state"
exit $status
