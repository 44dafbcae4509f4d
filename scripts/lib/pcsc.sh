# shellcheck shell=bash
# PC/SC helpers for scripts/test and scripts/demo: real pcscd with vsmartcard's vpcd
# reader driver, and Triad virtual PIV cards inserted into it. Source this file; every
# function is idempotent and stops only what it started. See docs/virtual-card.md.
#
#   pcsc_up                      install check, start pcscd if it is not running, wait
#   vcard_start STATE PORT [LOG] init STATE if missing, run the card on PORT, wait for it
#   vcard_wait_card READER       wait until the reader (name substring) shows a card
#   vcard_wait_empty READER      wait until it shows none
#   vcard_stop [PORT]            stop the card on PORT (or every card this shell started)
#   pcsc_down                    stop the cards and, if pcsc_up started it, pcscd
#
# Ports: six readers. vpcd serves two slots per driver instance (its slot table is static,
# indexed by slot alone), so pcscd loads the driver three times under three file names:
#   35963, 35964 → "Virtual PCD 00 00", "Virtual PCD 00 01"   (Debian's /etc/reader.conf.d/vpcd)
#   35965, 35966 → "Virtual PCD B 00 00", "Virtual PCD B 00 01" (triad-vpcd-b, a copy of the driver)
#   35967, 35968 → "Virtual PCD C 00 00", "Virtual PCD C 00 01" (triad-vpcd-c)
# A ceremony with the recovery cards and four participants' own cards needs all six
# (docs/virtual-card.md §"Readers").

PCSC_SOCKET=${PCSC_SOCKET:-/run/pcscd/pcscd.comm}
PCSC_VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
PCSC_STARTED_PID=${PCSC_STARTED_PID:-}
declare -gA VCARD_PIDS 2>/dev/null || true

pcsc_log() { echo "pcsc: $*" >&2; }

# The virtual-card executable: $VIRTUAL_CARD, then PATH, then this checkout's builds.
vcard_binary() {
  if [ -n "${VIRTUAL_CARD:-}" ]; then echo "$VIRTUAL_CARD"; return; fi
  if command -v virtual-card >/dev/null 2>&1; then command -v virtual-card; return; fi
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  for b in "$root/.build/release/virtual-card" "$root/.build/debug/virtual-card"; do
    [ -x "$b" ] && { echo "$b"; return; }
  done
  return 1
}

# Installs the two extra driver instances (B: 35965-6, C: 35967-8) when missing; 0 if pcscd
# must be (re)started to see them.
pcsc_extra_readers() {
  local changed=1 letter port dir=/usr/lib/pcsc/drivers/serial
  for letter in B C; do
    port=$([ "$letter" = B ] && echo 0x8C7D || echo 0x8C7F)
    local lib="$dir/libifdvpcd-triad-${letter,,}.so" conf="/etc/reader.conf.d/triad-vpcd-${letter,,}"
    [ -f "$lib" ] && [ -f "$conf" ] && continue
    [ "$(id -u)" -eq 0 ] || { pcsc_log "reader $letter missing: run scripts/setup as root"; return 1; }
    cp -L "$PCSC_VPCD_DRIVER" "$lib"
    printf 'FRIENDLYNAME "Virtual PCD %s"\nDEVICENAME   /dev/null:%s\nLIBPATH      %s\nCHANNELID    %s\n' \
      "$letter" "$port" "$lib" "$port" >"$conf"
    changed=0
  done
  return $changed
}

pcsc_port_listening() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pcsc_up() {
  if ! command -v pcscd >/dev/null 2>&1 || [ ! -f "$PCSC_VPCD_DRIVER" ] || ! command -v opensc-tool >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then pcsc_log "pcscd/vsmartcard-vpcd/opensc missing; run as root or: sudo apt-get install pcscd vsmartcard-vpcd opensc yubico-piv-tool"; return 1; fi
    pcsc_log "installing pcscd vsmartcard-vpcd opensc yubico-piv-tool"
    DEBIAN_FRONTEND=noninteractive apt-get install -y pcscd vsmartcard-vpcd opensc yubico-piv-tool >/dev/null || return 1
  fi
  if pcsc_extra_readers && pgrep -x pcscd >/dev/null 2>&1; then
    pcsc_log "restarting pcscd to load readers B and C"
    pkill -x pcscd; local w; for w in $(seq 1 50); do pgrep -x pcscd >/dev/null || break; sleep 0.1; done
  fi
  if ! pgrep -x pcscd >/dev/null 2>&1; then
    rm -f "$PCSC_SOCKET" 2>/dev/null
    # pcscd outlives this shell: it gets no descriptor but 0-2, so a lock the caller holds
    # (`flock /tmp/triad-cards.lock scripts/demo`) is not kept by pcscd for ever.
    python3 -c 'import os; os.closerange(3, 65536); os.execvp("pcscd", ["pcscd"])' \
      || { pcsc_log "pcscd failed to start"; return 1; }
    local i
    for i in $(seq 1 50); do [ -f /run/pcscd/pcscd.pid ] && break; sleep 0.1; done
    PCSC_STARTED_PID=$(tr -d '\0' </run/pcscd/pcscd.pid 2>/dev/null || true)
    export PCSC_STARTED_PID
    pcsc_log "started pcscd (pid ${PCSC_STARTED_PID:-?})"
  fi
  local i
  for i in $(seq 1 100); do
    [ -S "$PCSC_SOCKET" ] && pcsc_port_listening 35963 && pcsc_port_listening 35967 && return 0
    sleep 0.1
  done
  pcsc_log "pcscd is not answering on $PCSC_SOCKET or vpcd is not listening on 35963/35967 (check /etc/reader.conf.d/vpcd and triad-vpcd-c)"
  return 1
}

vcard_reader_name() { # port
  local i=$(( $1 - 35963 )) letters=("" "" "B " "B " "C " "C ")
  printf 'Virtual PCD %s00 %02d' "${letters[$i]}" $(( i % 2 ))
}

# Waits until `opensc-tool -l` shows a card in the reader whose name contains READER.
vcard_wait_card() { # reader [seconds]
  local reader=$1 tries=$(( ${2:-15} * 10 )) i
  for i in $(seq 1 "$tries"); do
    opensc-tool -l 2>/dev/null | grep -F "$reader" | grep -q ' Yes ' && return 0
    sleep 0.1
  done
  pcsc_log "no card appeared in reader '$reader'"
  return 1
}

# Waits until the reader whose name contains READER shows no card.
vcard_wait_empty() { # reader [seconds]
  local reader=$1 tries=$(( ${2:-5} * 10 )) i
  for i in $(seq 1 "$tries"); do
    opensc-tool -l 2>/dev/null | grep -F "$reader" | grep -q ' Yes ' || return 0
    sleep 0.1
  done
  return 1
}

vcard_start() { # state port [log]
  local state=$1 port=${2:-35963} log=${3:-${1}.log} bin
  bin=$(vcard_binary) || { pcsc_log "no virtual-card executable: run swift build first"; return 1; }
  if [ -n "${VCARD_PIDS[$port]:-}" ] && kill -0 "${VCARD_PIDS[$port]}" 2>/dev/null; then return 0; fi
  [ -f "$state" ] || "$bin" init --state "$state" >/dev/null || return 1
  local reader; reader=$(vcard_reader_name "$port")
  # vpcd serves one card per port: let a card that is still leaving go first.
  vcard_wait_empty "$reader" 20 || pcsc_log "reader '$reader' still holds another card"
  local before=0; [ -f "$log" ] && before=$(wc -l <"$log")
  "$bin" run --state "$state" --port "$port" >>"$log" 2>&1 &
  VCARD_PIDS[$port]=$!
  # Inserted means vpcd spoke to *this* process (a TCP connect alone may sit in the backlog).
  local i
  for i in $(seq 1 150); do
    tail -n +"$((before + 1))" "$log" 2>/dev/null | grep -q 'card inserted' && break
    sleep 0.1
  done
  tail -n +"$((before + 1))" "$log" 2>/dev/null | grep -q 'card inserted' && vcard_wait_card "$reader" || {
    pcsc_log "card $state did not come up on port $port (see $log)"; vcard_stop "$port"; return 1; }
}

vcard_stop() { # [port]
  local ports=("$@") p pid
  [ ${#ports[@]} -eq 0 ] && ports=("${!VCARD_PIDS[@]}")
  for p in "${ports[@]}"; do
    pid=${VCARD_PIDS[$p]:-}
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    unset "VCARD_PIDS[$p]"
    vcard_wait_empty "$(vcard_reader_name "$p")" || true
  done
  return 0
}

pcsc_down() {
  vcard_stop
  if [ -n "$PCSC_STARTED_PID" ]; then
    kill -TERM "$PCSC_STARTED_PID" 2>/dev/null
    PCSC_STARTED_PID=
  fi
  return 0
}
