#!/usr/bin/env bash
# golive-rollback — the runbook's rollback: `rollback run --plan ROLLBACK_PLAN`
# (docs/rollback.md) with the settings file's values; kept so crontabs and
# runbooks that call this script go on working.
#
# Usage: golive-rollback.sh [SETTINGS_FILE]
#   Settings (NAME=value lines in SETTINGS_FILE, or the environment):
#   ROLLBACK_PLAN (required), ROLLBACK_REASON (manual rollback), GOLIVE_BIN.
#
# Exit: rollback's own: 0 done and verified; 1 done, but a step that does not
# stop a rollback failed; 2 a step failed; 3 state unknown; 64 usage.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/golive-lib.sh
. "$here/golive-lib.sh"
golive_settings "${BASH_SOURCE[0]}" 11 "$@"

: "${GOLIVE_BIN:=$here/../target/release}"
[ -n "${ROLLBACK_PLAN:-}" ] || { echo "golive-rollback: set ROLLBACK_PLAN (a rollback plan, see docs/rollback.md)" >&2; exit 64; }
[ -x "$GOLIVE_BIN/rollback" ] || { echo "golive-rollback: $GOLIVE_BIN/rollback not found (make build, or set GOLIVE_BIN)" >&2; exit 64; }
exec "$GOLIVE_BIN/rollback" run --plan "$ROLLBACK_PLAN" --reason "${ROLLBACK_REASON:-manual rollback}"
