#!/usr/bin/env bash
# The reliable link over the emulated UART: tests/firmware/uart_peer.c (C API, thumbv7em
# staticlib) on QEMU mps2-an386, UART0 wired to `ferrule firmware` through QEMU's
# -serial tcp. QEMU is killed once mid-run and started again with a new boot seed; the run
# passes only if every one of COUNT requests got exactly one intact response.
# Expects target/firmware/uart_peer.elf (built by scripts/test-firmware.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000}
RESTART_AT=${RESTART_AT:-400}
elf=target/firmware/uart_peer.elf
demo=target/release/ferrule
test -f "$elf" && test -x "$demo"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=target/firmware/uart_peer.log
: >"$log"

qemu_pid=""
start_qemu() { # boot seed
    qemu-system-arm -M mps2-an386 -nographic -monitor none \
        -semihosting-config "enable=on,target=native,arg=uart_peer,arg=seed=$1" \
        -serial "tcp:127.0.0.1:$port" -kernel "$elf" >>"$log" 2>&1 &
    qemu_pid=$!
}
stop_qemu() {
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null || true
    qemu_pid=""
}
trap stop_qemu EXIT

fifo=$(mktemp -u)
mkfifo "$fifo"
"$demo" firmware --listen "127.0.0.1:$port" --count "$COUNT" --timeout 240 >"$fifo" &
demo_pid=$!
exec 3<"$fifo"
rm -f "$fifo"
start_qemu 1001
restarted=0
status=1
while IFS= read -r line <&3; do
    echo "  host: $line"
    case "$line" in
    "responses "*)
        if [ $restarted = 0 ] && [ "${line#responses }" -ge "$RESTART_AT" ]; then
            echo "  killing QEMU mid-run and booting the firmware again"
            stop_qemu
            start_qemu 2002
            restarted=1
        fi
        ;;
    esac
done
exec 3<&-
wait "$demo_pid" && status=0 || status=$?
stop_qemu
sed 's/^/  firmware: /' "$log"
[ $restarted = 1 ] || { echo "uart test: the firmware was never restarted"; exit 1; }
[ "$status" = 0 ] || { echo "uart test: host side failed (exit $status)"; exit 1; }
echo "uart test: $COUNT requests and responses over the emulated UART, one firmware restart: ok"

# The same firmware through a serial device: QEMU's `-serial pty` gives UART0 a pseudo-terminal,
# which `ferrule firmware --device` opens like a USB-serial adapter (raw mode, exclusive).
PTY_COUNT=${PTY_COUNT:-300}
log=target/firmware/uart_peer_pty.log
: >"$log"
qemu-system-arm -M mps2-an386 -nographic -monitor none \
    -semihosting-config "enable=on,target=native,arg=uart_peer,arg=seed=3003" \
    -serial pty -kernel "$elf" >>"$log" 2>&1 &
qemu_pid=$!
dev=""
for _ in $(seq 100); do # QEMU names its pty within a few milliseconds; give it 10 s
    dev=$(grep -o '/dev/pts/[0-9]*' "$log" | head -1 || true)
    [ -n "$dev" ] && break
    sleep 0.1
done
[ -n "$dev" ] || { cat "$log"; echo "uart test: QEMU reported no pty"; exit 1; }
echo "  QEMU's UART0 is $dev"
"$demo" firmware --device "$dev" --baud 115200 --count "$PTY_COUNT" --timeout 120 | sed 's/^/  host: /'
[ "${PIPESTATUS[0]}" = 0 ] || { echo "uart test: serial-device run failed"; exit 1; }
stop_qemu
echo "uart test: $PTY_COUNT requests and responses through QEMU's pty as a serial device: ok"
