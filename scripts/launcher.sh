#!/bin/sh
# flame: self-extracting launcher (Deno @VERSION@ + the bundled program); the tar.gz payload starts
# SKIP bytes in. The first run unpacks it into a cache directory; later runs start from there.
SKIP=@@@@@@@@
hash=@HASH@
# The cache: $XDG_CACHE_HOME or ~/.cache when writable, else a directory of this user's own in
# $TMPDIR (made 0700, refused unless it is ours and not a link: another user could plant one).
private_dir() {
  mkdir -p -m 700 "$1" 2>/dev/null && [ -d "$1" ] && [ ! -L "$1" ] && [ -O "$1" ] && [ -w "$1" ]
}
base=
if [ -n "${XDG_CACHE_HOME:-}" ] && private_dir "$XDG_CACHE_HOME/flame"; then
  base=$XDG_CACHE_HOME/flame
elif [ -n "${HOME:-}" ] && private_dir "$HOME/.cache/flame"; then
  base=$HOME/.cache/flame
else
  base=${TMPDIR:-/tmp}/flame-cache-$(id -u)
  if ! private_dir "$base"; then
    echo "flame: no cache directory to unpack into (tried \$XDG_CACHE_HOME, ~/.cache and $base)" >&2
    echo "  hint: set XDG_CACHE_HOME to a directory you can write" >&2
    exit 70
  fi
fi
d=$base/$hash
if [ ! -x "$d/deno" ]; then
  # One unpack at a time: runs that start together wait for the first, then use its copy.
  locked=
  if command -v flock >/dev/null 2>&1 && exec 9>>"$base/.lock" && flock 9; then locked=1; fi
  if [ ! -x "$d/deno" ]; then
    t=$(mktemp -d "$base/.unpack.XXXXXXXX") || { echo "flame: cannot write into $base" >&2; exit 70; }
    if ! tail -c +$((SKIP + 1)) "$0" | tar -xzf - -C "$t" 2>/dev/null; then
      rm -rf "$t"
      echo "flame: cannot unpack into $base (is the disk full?)" >&2
      exit 70
    fi
    [ -d "$d" ] && [ ! -x "$d/deno" ] && rm -rf "$d" # an unpack from before that was cut short
    if [ -e "$d" ] || ! mv "$t" "$d" 2>/dev/null; then rm -rf "$t"; fi
    if [ -n "$locked" ]; then
      # Keep one copy: unpacks cut short go, and so do other builds' copies unless one ran in
      # the last 10 minutes (it may be running now).
      for old in "$base"/.unpack.* "$base"/*; do
        [ -e "$old" ] && [ "$old" != "$d" ] || continue
        case $old in */.unpack.*) ;; *) [ -n "$(find "$old/.used" -mmin -10 2>/dev/null)" ] && continue ;; esac
        rm -rf "$old"
      done
    fi
  fi
  exec 9>&-
  [ -x "$d/deno" ] || { echo "flame: cannot unpack into $d" >&2; exit 70; }
fi
: >"$d/.used" 2>/dev/null # when this copy last ran (see the clean-up above)
RUST_BACKTRACE=0 DENO_NO_UPDATE_CHECK=1 DENO_DIR="$d/cache" exec "$d/deno" run --quiet --no-config --no-lock @PERMS@ "$d/main.js" "$@"
