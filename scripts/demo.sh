#!/bin/sh
# `make demo`: the main job on real data, end to end, with no root needed.
#   1. digits: store the 1797 UCI digits, complete half-masked and noisy ones with three
#      retrieval modes at several β, and count how many come back;
#   2. co2: ingest the Mauna Loa series in the background with the default feature program
#      (targets as increments), forecast its held-out last year, and compare the error with
#      naive forecasts;
#   3. stop the daemon with SIGTERM and show that it exited cleanly.
# Usage: demo.sh BIN_DIR (the folder with engramd and engram).
set -eu
bin=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
state=$(mktemp -d /tmp/engram-demo.XXXXXX)
work=$state/work
mkdir -p "$work"
export ENGRAM_SOCKET="$state/engramd.sock"
# `engram ingest --background` writes its log under TMPDIR: keep it in the scratch folder.
export TMPDIR="$state"
engram() { "$bin/engram" "$@"; }
daemon=

cleanup() {
    if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -TERM "$daemon"; fi
    rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

section() { printf '\n== %s ==\n' "$*"; }

section "starting engramd on a scratch state directory"
"$bin/engramd" --state-dir "$state/db" --socket "$ENGRAM_SOCKET" \
    2> "$state/engramd.log" &
daemon=$!
tries=0
until engram --quiet ping > /dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$daemon" 2>/dev/null; then
        echo "engramd did not come up; its log:" >&2
        cat "$state/engramd.log" >&2
        exit 1
    fi
    sleep 0.1
done
engram ping
echo "state directory: $state/db (pid $daemon)"

# ---------------------------------------------------------------------------------------------
section "1. handwritten digits: pattern completion"
# Pixels are counts 0..16: scale them to [0, 1]; the class label stays in the last column.
awk -F, -v OFS=, '{ for (i = 1; i <= 64; i++) $i = $i / 16; print }' \
    "$top/data/digits.csv" > "$work/digits.csv"
engram bank create digits --dim 64
engram store digits --csv "$work/digits.csv" --label-column -1

# 100 queries with the lower half (pixels 33..64) unknown, and 100 others with Gaussian noise
# (σ = 0.25, clipped to [0, 1]); every 9th digit, so all classes appear.
awk -F, -v OFS=, 'NR % 9 == 1 && n < 100 {
        for (i = 33; i <= 64; i++) $i = "?"; print; n++ }' \
    "$work/digits.csv" > "$work/masked.csv"
awk -F, -v OFS=, 'BEGIN { srand(7) } NR % 9 == 5 && n < 100 {
        for (i = 1; i <= 64; i++) {
            u = rand(); if (u < 1e-12) u = 1e-12
            v = $i + 0.25 * sqrt(-2 * log(u)) * cos(6.283185307 * rand())
            $i = v < 0 ? 0 : (v > 1 ? 1 : v)
        }
        print; n++ }' \
    "$work/digits.csv" > "$work/noisy.csv"
awk 'NR % 9 == 1 && n < 100 { print; n++ }' "$work/digits.csv" > "$work/masked.truth"
awk 'NR % 9 == 5 && n < 100 { print; n++ }' "$work/digits.csv" > "$work/noisy.truth"

echo
echo "recovered = cosine similarity to the true image >= 0.9 (of 100 queries each)"
printf '%-6s %-12s %14s %14s\n' "beta" "mode" "lower half ?" "noise 0.25"
for beta in 0.25 1 4; do
    for mode in sparsemax softmax entmax; do
        label=$mode
        alpha=
        [ "$mode" = entmax ] && label="entmax 1.5" && alpha="--alpha 1.5"
        for kind in masked noisy; do
            # shellcheck disable=SC2086 # $alpha is empty or one option and its value
            engram --json complete digits --csv "$work/$kind.csv" --label-column -1 \
                --mode "$mode" $alpha --beta "$beta" > "$work/$kind.$mode.$beta.json"
        done
        printf '%-6s %-12s %14s %14s\n' "$beta" "$label" \
            "$(python3 "$top/scripts/demo_score.py" "$work/masked.truth" \
                "$work/masked.$mode.$beta.json")" \
            "$(python3 "$top/scripts/demo_score.py" "$work/noisy.truth" \
                "$work/noisy.$mode.$beta.json")"
    done
done

echo
echo "one query: digit #1 (a 0) with its lower half unknown, completed with sparsemax, β = 1:"
query=$(head -n 1 "$work/masked.csv" | cut -d, -f1-64)
engram complete digits "$query" --beta 1 --show --top 3

# ---------------------------------------------------------------------------------------------
section "2. Mauna Loa CO2: background ingest and an explainable forecast"
rows=$(($(wc -l < "$top/data/co2.csv") - 1))
held=52
head -n $((rows + 1 - held)) "$top/data/co2.csv" > "$work/co2-train.csv"
{ head -n 1 "$top/data/co2.csv"; tail -n "$held" "$top/data/co2.csv"; } > "$work/co2-heldout.csv"
echo "training rows: $((rows - held)); held out: the last $held weeks"
engram ingest co2 --csv "$work/co2-train.csv" --horizon "$held" --target co2 --background
while :; do
    state_now=$(engram --json jobs | python3 -c \
        'import json,sys; j=[x for x in json.load(sys.stdin) if x["bank"]=="co2"]; \
print(j[0]["state"] if j else "pending")')
    engram jobs
    [ "$state_now" = running ] || [ "$state_now" = pending ] || break
    sleep 0.5
done
[ "$state_now" = done ] || { echo "ingest ended in state $state_now" >&2; exit 1; }

echo
engram forecast co2 --csv "$work/co2-train.csv" --top 5
engram --json forecast co2 --csv "$work/co2-train.csv" > "$work/forecast.json"
python3 "$top/scripts/demo_forecast.py" "$work/co2-train.csv" "$work/co2-heldout.csv" \
    "$work/forecast.json"

# ---------------------------------------------------------------------------------------------
section "3. stopping engramd with SIGTERM"
kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
daemon=
echo "engramd exited with status $status; the last lines of its log:"
tail -n 3 "$state/engramd.log"
[ "$status" -eq 0 ]
