#!/usr/bin/env bash
# Builds dist/flame. Where Deno's compile runtime (denort) is available, a `deno compile` binary;
# where it is not (no network to dl.deno.land), says so and writes a self-extracting launcher:
# a sh header plus a tar.gz of the pinned Deno and the `deno bundle` output. Same code, one file.
set -euo pipefail
deno_bin=$1 version=$2
deno() { RUST_BACKTRACE=0 DENO_NO_UPDATE_CHECK=1 "$deno_bin" "$@"; }
# All permissions: attaching reads /proc/PID/mem and stats /proc/PID, which Deno allows only with
# --allow-all ("Requires all access"), and so does writing -o to /dev/stdout or /proc paths.
perms=(--allow-all --no-prompt)
mkdir -p dist
deno_dir=$(deno info --json 2>/dev/null | sed -n 's/.*"denoDir": "\(.*\)".*/\1/p')
denort_zip="$deno_dir/dl/release/v$version/denort-x86_64-unknown-linux-gnu.zip"
if [ -n "${DENORT_BIN:-}" ] || [ -f "$denort_zip" ]; then
  deno compile "${perms[@]}" -o dist/flame main.ts
  if timeout 20 dist/flame --version </dev/null | grep -q '^flame '; then
    echo "build: wrote dist/flame (deno compile)" >&2
    exit 0
  fi
  echo "build: the compiled binary does not run flame (is DENORT_BIN a real denort?); using the launcher" >&2
else
  echo "build: deno compile needs Deno's compile runtime (denort $version), which cannot be downloaded here;" >&2
  echo "build: writing dist/flame as a launcher over the 'deno bundle' output instead (same code, one file)" >&2
fi
deno bundle --quiet -o dist/flame.js main.ts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$deno_bin" "$work/deno"
cp dist/flame.js "$work/main.js"
tar -C "$work" -czf "$work/payload.tgz" deno main.js
hash=$(sha256sum "$work/payload.tgz" | cut -c1-16)
head=$(sed -e "s/@HASH@/$hash/" -e "s/@VERSION@/$version/" -e "s/@PERMS@/${perms[*]}/" \
  scripts/launcher.sh)
head="$head"$'\n'
len=${#head}
printf '%s' "${head/@@@@@@@@/$(printf '%-8d' "$len")}" > dist/flame.tmp
cat "$work/payload.tgz" >> dist/flame.tmp
chmod +x dist/flame.tmp
mv dist/flame.tmp dist/flame
if ! dist/flame --version </dev/null | grep -q '^flame '; then
  echo "build: dist/flame does not run" >&2
  exit 1
fi
echo "build: wrote dist/flame ($(du -h dist/flame | cut -f1), launcher)" >&2
