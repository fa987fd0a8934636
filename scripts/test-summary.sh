#!/usr/bin/env bash
# Passes `deno test` output through and ends with one plain line: "N passed, M failed".
# Exits non-zero when a test failed or no summary was seen.
set -uo pipefail
summary=""
while IFS= read -r line; do
  printf '%s\n' "$line"
  plain=$(sed -E $'s/\x1b\\[[0-9;]*m//g' <<<"$line")
  case "$plain" in
    *" passed | "*" failed"*) summary=$plain ;;
  esac
done
if [ -z "$summary" ]; then
  echo "0 passed, 1 failed (the test run ended without a summary)"
  exit 1
fi
passed=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$summary")
ignored=$(sed -nE 's/.* ([0-9]+) ignored.*/\1/p' <<<"$summary")
echo "${passed} passed, ${failed} failed${ignored:+, ${ignored} skipped}"
[ "$failed" = 0 ] && [[ "$summary" == ok* ]]
