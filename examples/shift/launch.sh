#!/usr/bin/env bash
# The runbook's staged rollout with shift. `shift` is a bash builtin, so the
# binary is called through `env` (or by its path).
set -euo pipefail
CFG=${CFG:-examples/shift/shift.toml}
PROM=${PROM:-http://prometheus:9090}
GATE=${GATE:-metric-gate check --prometheus $PROM --rules examples/gates/rollout-25.toml}

env shift set --config "$CFG" --split green=1 --reason "T+0:05 soft launch"
# Each later stage ramps, checking the gate between steps; a failing gate
# puts the split back where the stage started and exits 2.
env shift set --config "$CFG" --split green=25 --step 5 --every 30s --gate "$GATE" --reason "T+2h 25%"
env shift set --config "$CFG" --split green=100 --step 25 --every 5m --gate "$GATE" --reason "T+6h full rollout"
env shift status --config "$CFG" --format text
