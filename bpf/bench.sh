#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# sensor overhead on an exec-heavy loop: N execs of /bin/true per chunk,
# chunks alternate without / with the sensor (events $EVENTS, default all; output to a pipe)
# in the same run. prints wall ms and the loop's cpu ms (user+sys of the
# execs: probe cost lands there), plus the loader's own cpu.
# usage: bpf/bench.sh [N_PER_CHUNK] [CHUNKS]   (root, after make -C bpf)
set -eu
N=${1:-500}
CHUNKS=${2:-4}
BIN=$(cd "$(dirname "$0")" && pwd)/.output/riposte-sensor
TCK=$(getconf CLK_TCK)

# prints "wall_ms cpu_ms"
chunk() {
	local start end
	start=$(date +%s%N)
	cpu=$(bash -c 'for ((i = 0; i < '"$N"'; i++)); do /bin/true; done; times' | tail -1 |
		awk '{ split($0, a, /[ms]/); u = a[1] * 60 + a[2]; s = a[3] * 60 + a[4]; printf "%d", (u + s) * 1000 }')
	end=$(date +%s%N)
	echo "$(((end - start) / 1000000)) $cpu"
}

ctl=$(mktemp -u /tmp/rp-bench-ctl.XXXXXX)
w_off=0 c_off=0 w_on=0 c_on=0 lcpu=0
for ((k = 0; k < CHUNKS; k++)); do
	read -r w c < <(chunk)
	w_off=$((w_off + w)) c_off=$((c_off + c))
	mkfifo "$ctl"
	"$BIN" --events "${EVENTS:-all}" <"$ctl" | cat >/dev/null &
	exec 3>"$ctl"
	sleep 0.5
	lpid=$(pgrep -n -x riposte-sensor)
	t0=$(awk '{ print $14 + $15 }' /proc/"$lpid"/stat)
	read -r w c < <(chunk)
	t1=$(awk '{ print $14 + $15 }' /proc/"$lpid"/stat)
	w_on=$((w_on + w)) c_on=$((c_on + c)) lcpu=$((lcpu + (t1 - t0) * 1000 / TCK))
	echo quit >&3
	exec 3>&-
	wait
	rm -f "$ctl"
done
total=$((N * CHUNKS))
echo "execs per side: $total"
echo "without sensor: wall ${w_off} ms, loop cpu ${c_off} ms"
echo "with sensor:    wall ${w_on} ms, loop cpu ${c_on} ms, loader cpu ${lcpu} ms"
awk -v a="$w_off" -v b="$w_on" -v c="$c_off" -v d="$c_on" \
	'BEGIN { printf "overhead: wall %+.1f%%, loop cpu %+.1f%%\n", (b - a) * 100 / a, (d - c) * 100 / c }'
