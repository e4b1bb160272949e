#!/bin/sh
# Runs every fuzz target of the module for FUZZTIME each (default 3m), one
# worker each (FUZZPARALLEL, default 1), and copies the corpus each grew
# into the package's testdata/fuzz/<Target>/, so that `go test` replays it.
# Prints one line per target: package, target, result, executions, new
# corpus entries. Usage: scripts/fuzz-campaign.sh [REPORT]
set -u
FUZZTIME=${FUZZTIME:-3m}
FUZZPARALLEL=${FUZZPARALLEL:-1}
REPORT=${1:-/dev/stdout}
GO=${GO:-go}
cache=$($GO env GOCACHE)/fuzz
: >"$REPORT.tmp" 2>/dev/null || true
for pkg in $($GO list ./...); do
	dir=$($GO list -f '{{.Dir}}' "$pkg")
	for t in $($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz'); do
		log=$(mktemp)
		if $GO test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" -parallel "$FUZZPARALLEL" "$pkg" >"$log" 2>&1; then
			res=ok
		else
			res=FAIL
		fi
		execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
		new=0
		if [ -d "$cache/$pkg/$t" ]; then
			mkdir -p "$dir/testdata/fuzz/$t"
			for f in "$cache/$pkg/$t"/*; do
				[ -e "$f" ] || continue
				b=$(basename "$f")
				if [ ! -e "$dir/testdata/fuzz/$t/$b" ]; then
					cp "$f" "$dir/testdata/fuzz/$t/$b"
					new=$((new + 1))
				fi
			done
		fi
		echo "$pkg $t $res execs=${execs:-?} corpus+=$new time=$FUZZTIME" >>"$REPORT"
		if [ "$res" = FAIL ]; then
			echo "--- $pkg $t" >>"$REPORT"
			tail -30 "$log" >>"$REPORT"
		fi
		rm -f "$log"
	done
done
