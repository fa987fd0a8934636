#!/usr/bin/env bash
# Builds dist/flame. Where Deno's compile runtime (denort) is available, a `deno compile` binary;
# where it is not (no network to dl.deno.land), says so and writes a self-extracting launcher:
# a sh header plus a tar.gz of the pinned Deno and the `deno bundle` output. Same code, one file.
set -euo pipefail
deno_bin=$1 version=$2
deno() { RUST_BACKTRACE=0 DENO_NO_UPDATE_CHECK=1 "$deno_bin" "$@"; }
# --allow-ffi: flame files reads directories through libc (src/files/libc.ts), at du's speed.
perms=(--allow-run --allow-read --allow-write --allow-env --allow-sys --allow-ffi --no-prompt)
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
head=$(cat <<HEAD
#!/bin/sh
# flame: self-extracting launcher (Deno $version + the bundled program). Payload: tar.gz after SKIP bytes.
SKIP=@@@@@@@@
d="\${XDG_CACHE_HOME:-\$HOME/.cache}/flame/$hash"
if [ ! -x "\$d/deno" ]; then
  t="\$d.tmp.\$\$"; mkdir -p "\$t" || exit 70
  tail -c +\$((SKIP + 1)) "\$0" | tar -xzf - -C "\$t" || { rm -rf "\$t"; echo "flame: cannot unpack into \$t" >&2; exit 70; }
  mv "\$t" "\$d" 2>/dev/null || rm -rf "\$t"
fi
RUST_BACKTRACE=0 DENO_NO_UPDATE_CHECK=1 DENO_DIR="\$d/cache" exec "\$d/deno" run --quiet --no-config --no-lock ${perms[*]} "\$d/main.js" "\$@"
HEAD
)
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
