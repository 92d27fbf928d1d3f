#!/bin/sh
# `make bench`, ingest rows: end-to-end `engram ingest` into a running engramd, in rows/s, for
# 64-dimensional patterns (the default program's 12 features on each of 5 channels, plus a
# horizon of 4 of one target). For comparison, in the same run: a bulk `engram store --csv`
# of as many ready-made 64-column text rows. Usage: bench-ingest.sh BIN_DIR [ROWS]
set -eu
bin=$(cd "$1" && pwd)
rows=${2:-200000}
work=$(mktemp -d /tmp/egi.XXXXXX)
export ENGRAM_SOCKET="$work/s.sock"
daemon=
cleanup() {
    [ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

awk -v n="$rows" 'BEGIN {
    srand(11); print "time,c1,c2,c3,c4,c5"
    for (c = 1; c <= 5; c++) v[c] = 100 * c
    for (i = 1; i <= n; i++) {
        line = i
        for (c = 1; c <= 5; c++) { v[c] += rand() - 0.5; line = line "," v[c] }
        print line
    } }' > "$work/series.csv"
awk -v n="$rows" 'BEGIN { srand(12)
    for (i = 1; i <= n; i++) {
        line = rand(); for (c = 2; c <= 64; c++) line = line "," rand(); print line
    } }' > "$work/flat.csv"

"$bin/engramd" --state-dir "$work/state" --socket "$ENGRAM_SOCKET" 2> "$work/engramd.log" &
daemon=$!
until "$bin/engram" --quiet ping > /dev/null 2>&1; do sleep 0.1; done

now() { date +%s.%N; }
start=$(now)
"$bin/engram" --quiet ingest series --csv "$work/series.csv" --horizon 4 --target c1 \
    > /dev/null
ingest=$(echo "$(now) - $start" | bc)
dim=$("$bin/engram" --json bank info series | python3 -c 'import json,sys; print(json.load(sys.stdin)["dim"])')
"$bin/engram" --quiet bank create flat --dim 64 > /dev/null
start=$(now)
"$bin/engram" --quiet store flat --csv "$work/flat.csv" > /dev/null
store=$(echo "$(now) - $start" | bc)

echo "end-to-end ingest into a running engramd, $rows rows, 5 channels, dimension $dim:"
printf '  %-44s %8.2f s %10.0f rows/s\n' "engram ingest (default program, horizon 4)" \
    "$ingest" "$(echo "$rows / $ingest" | bc -l)"
printf '  %-44s %8.2f s %10.0f rows/s\n' "engram store --csv (64 text columns)" \
    "$store" "$(echo "$rows / $store" | bc -l)"
printf '  ingest / target 100,000 rows/s: %.2f\n' "$(echo "$rows / $ingest / 100000" | bc -l)"
