# Helpers for scripts/bench (sourced). Times go to $W/times/NAME, one line per run:
# "wall user sys maxrss_kib" from GNU time.

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench: installing $2 (for $1)" >&2; apt-get install -y "$2" >/dev/null; }; }

# mkcert NAME [P-256|P-384|RSA-4096]: a key (EC P-256 unless told) and self-signed
# certificate made with stock openssl.
mkcert() {
    local alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    case "${2:-P-256}" in
        P-384) alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-384) ;;
        RSA-4096) alg=(-newkey rsa:4096) ;;
    esac
    openssl req -x509 "${alg[@]}" -nodes -keyout "$P/$1.key" -out "$P/$1.crt" -subj "/CN=bench $1" -days 30 2>/dev/null
}

# row_ratio LABEL NAME BASE: the median wall time of NAME over that of BASE ("1.07 ×").
row_ratio() {
    local s t; s=$(stats "$2"); t=$(stats "$3")
    if [ -z "$s" ] || [ -z "$t" ]; then printf '%-44s %9s\n' "$1" "n/a"; return; fi
    python3 - "$1" $s $t <<'PY'
import sys
label, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[7])
print(f"{label:<44} {a / b:8.2f} ×   ({a:.2f} s / {b:.2f} s)")
PY
}

# warm_memory MIB: touch and free MIB of anonymous memory, so the next command finds that
# much free memory the host still backs. Why: this VM runs with free page reporting
# (page_reporting_order=11, nested KVM), so memory freed for more than ~2 s goes back to the
# host and the first touch of each page costs a trip to the hypervisor — measured here as up
# to 2 s per GiB written. Without this, whichever row follows a large allocation (the copy
# that `zone encrypt` is given to work on, say) pays for it and the row order decides the table.
warm_memory() {
    python3 - "$1" <<'PY'
import mmap, sys
n = int(sys.argv[1]) << 20
m = mmap.mmap(-1, n)
for off in range(0, n, 4096): m[off] = 1
m.close()
PY
}

# measure NAME 'shell command': one timed run appended to $W/times/NAME. Before the timer:
# a machine-wide sync, so no row pays for writeback another row left behind, and warm free
# memory (warm_memory) for the row's page cache.
measure() {
    local name=$1; shift
    sync
    warm_memory "${WARM_MIB:-2560}"
    if ! /usr/bin/time -f '%e %U %S %M' -o "$W/times/$name.tmp" bash -c "$*" >/dev/null 2>"$W/times/$name.err"; then
        echo "bench: $name failed: $(tail -c 300 "$W/times/$name.err")" >&2
        rm -f "$W/times/$name.tmp"; return 0
    fi
    tail -n1 "$W/times/$name.tmp" >>"$W/times/$name"; rm -f "$W/times/$name.tmp"
}

# stats NAME: "median_wall median_cpu max_rss_kib median_user all_walls" or nothing when there are no runs.
stats() {
    [ -s "$W/times/$1" ] || return 0
    python3 - "$W/times/$1" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print(statistics.median(r[0] for r in rows), statistics.median(r[1] + r[2] for r in rows), int(max(r[3] for r in rows)),
      statistics.median(r[1] for r in rows), ",".join(f"{r[0]:.1f}" for r in rows))
PY
}

# row LABEL NAME BYTES: throughput row of the big-file table.
row() {
    local s; s=$(stats "$2")
    if [ -z "$s" ]; then printf '%-44s %9s\n' "$1" "n/a"; return; fi
    python3 - "$1" "$3" "$SPEED_MBS" $s <<'PY'
import sys
label, size, speed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
wall, cpu, rss, user = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
mbs = size / wall / 1e6
user_mbs = size / user / 1e6 if user > 0 else float("inf")
print(f"{label:<44} {wall:8.2f} {mbs:7.0f} {cpu:7.2f} {user:7.2f} {user_mbs:8.0f} {user_mbs / speed:8.2f} {rss / 1024:7.1f}MB")
PY
}

# row_files LABEL NAME COUNT: per-file row of the tree tables.
row_files() {
    local s; s=$(stats "$2")
    if [ -z "$s" ]; then printf '%-44s %9s\n' "$1" "n/a"; return; fi
    python3 - "$1" "$3" $s <<'PY'
import sys
label, n, wall, cpu, walls = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[7]
print(f"{label:<44} {wall:8.2f} {n / wall:7.0f} {cpu:7.2f} {wall / n * 1000:12.3f}   ({walls})")
PY
}

# is_encrypted FILE: true when FILE starts with the Triad magic (docs/format.md §2).
is_encrypted() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "895452440d0a1a0a" ]; }

# row_net LABEL NAME START COUNT: per-file cost net of a fixed start-up — the median wall time
# of NAME minus the median of START (the same command on an empty folder), over COUNT files.
row_net() {
    local s t; s=$(stats "$2"); t=$(stats "$3")
    if [ -z "$s" ] || [ -z "$t" ]; then printf '%-44s %9s\n' "$1" "n/a"; return; fi
    python3 - "$1" "$4" $s $t <<'PY'
import sys
label, n = sys.argv[1], int(sys.argv[2])
wall, start = float(sys.argv[3]), float(sys.argv[8])
print(f"{label:<44} {wall - start:8.2f} {n / (wall - start):7.0f} {'':>7} {(wall - start) / n * 1000:12.3f}   (start-up {start:.3f} s subtracted)")
PY
}
