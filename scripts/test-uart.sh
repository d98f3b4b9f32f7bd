#!/usr/bin/env bash
# The reliable link over an emulated UART: tests/firmware/uart_peer.c (C API, no C library)
# wired to `ferrule firmware` through QEMU's -serial, on two boards:
#  - mps2-an386 (Cortex-M4F, CMSDK UART): COUNT requests over -serial tcp with QEMU killed once
#    mid-run and started again with a new boot seed; then PTY_COUNT through -serial pty, which
#    the tool opens like a USB-serial adapter;
#  - microbit (nRF51822, Cortex-M0, 16 KiB RAM, nRF51 UART): MICROBIT_COUNT requests over
#    -serial tcp, QEMU killed once mid-run and started again (the seed comes from the nRF51's
#    RNG); the firmware's painted stack peak is reported.
# A run passes only if every request got exactly one intact response.
# Expects target/firmware/uart_peer.elf and uart_peer_microbit.elf (scripts/test-firmware.sh)
# and target/release/ferrule. UART_ELF, MICROBIT_ELF and LABEL run other builds of the firmware
# (the test command runs the compact link's, uart_peer.c -DCOMPACT, with LABEL=compact).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000}
RESTART_AT=${RESTART_AT:-400}
MICROBIT_COUNT=${MICROBIT_COUNT:-600}
MICROBIT_RESTART_AT=${MICROBIT_RESTART_AT:-200}
UART_ELF=${UART_ELF:-target/firmware/uart_peer.elf}
MICROBIT_ELF=${MICROBIT_ELF:-target/firmware/uart_peer_microbit.elf}
LABEL=${LABEL:-full}
demo=target/release/ferrule
test -f "$UART_ELF" && test -f "$MICROBIT_ELF" && test -x "$demo"

qemu_pid=""
stop_qemu() {
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null || true
    qemu_pid=""
}
trap stop_qemu EXIT

# restart_run machine elf count restart_at log: the host listens, QEMU connects; QEMU is
# killed once `restart_at` responses arrived and booted again with another seed.
restart_run() {
    local machine=$1 elf=$2 count=$3 restart_at=$4 log=$5 port fifo restarted=0 status=1 line
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    : >"$log"
    start_qemu() { # boot seed (mps2; the microbit's firmware takes one from its RNG)
        qemu-system-arm -M "$machine" -nographic -monitor none \
            -semihosting-config "enable=on,target=native,arg=uart_peer,arg=seed=$1" \
            -serial "tcp:127.0.0.1:$port" -kernel "$elf" >>"$log" 2>&1 &
        qemu_pid=$!
    }
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    "$demo" firmware --listen "127.0.0.1:$port" --count "$count" --timeout 240 >"$fifo" &
    local demo_pid=$!
    exec 3<"$fifo"
    rm -f "$fifo"
    start_qemu 1001
    while IFS= read -r line <&3; do
        echo "  host: $line"
        case "$line" in
        "responses "*)
            if [ $restarted = 0 ] && [ "${line#responses }" -ge "$restart_at" ]; then
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
    [ $restarted = 1 ] || { echo "uart test ($machine): the firmware was never restarted"; exit 1; }
    [ "$status" = 0 ] || { echo "uart test ($machine): host side failed (exit $status)"; exit 1; }
    grep -q "boot on" "$log" || { echo "uart test ($machine): no boot report"; exit 1; }
    echo "uart test ($machine, $LABEL link): $count requests and responses over the emulated UART, one firmware restart: ok"
}

restart_run mps2-an386 "$UART_ELF" "$COUNT" "$RESTART_AT" "target/firmware/uart_peer_$LABEL.log"

# The same firmware through a serial device: QEMU's `-serial pty` gives UART0 a pseudo-terminal,
# which `ferrule firmware --device` opens like a USB-serial adapter (raw mode, exclusive).
PTY_COUNT=${PTY_COUNT:-300}
log=target/firmware/uart_peer_pty_$LABEL.log
: >"$log"
qemu-system-arm -M mps2-an386 -nographic -monitor none \
    -semihosting-config "enable=on,target=native,arg=uart_peer,arg=seed=3003" \
    -serial pty -kernel "$UART_ELF" >>"$log" 2>&1 &
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
echo "uart test ($LABEL link): $PTY_COUNT requests and responses through QEMU's pty as a serial device: ok"

# The 16 KiB Cortex-M0.
restart_run microbit "$MICROBIT_ELF" "$MICROBIT_COUNT" "$MICROBIT_RESTART_AT" \
    "target/firmware/uart_peer_microbit_$LABEL.log"
peak=$(grep -o 'stack peak [0-9]*' "target/firmware/uart_peer_microbit_$LABEL.log" | awk '{print $3}' | sort -n | tail -1)
echo "uart test (microbit, $LABEL link): deepest stack over both boots: $peak B of the 16 KiB (painted at boot)"
