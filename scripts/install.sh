#!/usr/bin/env bash
# `make install`: the director binary, its man page and its bash/zsh/fish completions under
# $DESTDIR$PREFIX (GNU conventions: PREFIX is where the files live when installed, DESTDIR a
# staging root a package build copies from).
#
# The man page is generated from the command definitions by swift-argument-parser's
# `generate-manual` plugin (which runs `director --experimental-dump-help`), and the
# completions by `director --generate-completion-script SHELL`, so neither can drift from the
# commands' own help.
#
# CONFIG=release (the default) links the Swift runtime statically (--static-swift-stdlib): the
# installed binary needs no toolchain at run time, only libc, libstdc++, libyaml and liblmdb.
# CONFIG=debug installs the debug build as it is (the test suite does this: it is already
# built there, and a release build takes many minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
# Extra options for every swift command. The test suite passes --ignore-lock: `swift test`
# holds the lock on .build while the tests run, and everything is built by then.
read -r -a pm_flags <<<"${SWIFTPM_FLAGS:-}"
CONFIG=${CONFIG:-release}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINDIR=${BINDIR:-$PREFIX/bin}
MANDIR=${MANDIR:-$PREFIX/share/man}
BASH_COMPLETION_DIR=${BASH_COMPLETION_DIR:-$PREFIX/share/bash-completion/completions}
ZSH_COMPLETION_DIR=${ZSH_COMPLETION_DIR:-$PREFIX/share/zsh/site-functions}
FISH_COMPLETION_DIR=${FISH_COMPLETION_DIR:-$PREFIX/share/fish/vendor_completions.d}

say() { echo "install: $*" >&2; }

# The plugin builds every product first (it must find the executables that use
# ArgumentParser) and runs `director --experimental-dump-help`. It does so in debug: the help
# text is the same in every configuration, `make run` and `make test` have usually built
# debug already, and a release build without --static-swift-stdlib would be a second full
# release build (the flag changes how everything is compiled, not only the link).
say "generating the man page (swift package generate-manual, from the debug build)"
generated=.build/plugins/GenerateManual/outputs/director/director.1
rm -f "$generated"
man_log=$(mktemp)
page=$(mktemp)
trap 'rm -f "$man_log" "$page"' EXIT
if ! "$SWIFT" package "${pm_flags[@]}" --disable-sandbox generate-manual --configuration debug >"$man_log" 2>&1; then
    cat "$man_log" >&2
    say "generate-manual failed"
    exit 1
fi
[ -f "$generated" ] || { cat "$man_log" >&2; say "generate-manual wrote no $generated"; exit 1; }
# The generator writes a discussion's blank lines as they are; in mdoc a paragraph break is
# `.Pp` (groff warns "Empty input line" and may drop the break otherwise).
sed 's/^$/.Pp/' "$generated" >"$page"

flags=()
[ "$CONFIG" = release ] && flags+=(--static-swift-stdlib)
say "building director ($CONFIG${flags:+, ${flags[*]}})"
"$SWIFT" build "${pm_flags[@]}" -c "$CONFIG" --product director "${flags[@]}"
bin=$("$SWIFT" build "${pm_flags[@]}" -c "$CONFIG" --show-bin-path)/director

root="$DESTDIR"
install -d "$root$BINDIR" "$root$MANDIR/man1" "$root$BASH_COMPLETION_DIR" "$root$ZSH_COMPLETION_DIR" "$root$FISH_COMPLETION_DIR"
install -m 0755 "$bin" "$root$BINDIR/director"
install -m 0644 "$page" "$root$MANDIR/man1/director.1"
# From the built binary, not the installed one: under DESTDIR the installed one may not run
# where it lies (another root), and it is the same file.
"$bin" --generate-completion-script bash >"$root$BASH_COMPLETION_DIR/director"
"$bin" --generate-completion-script zsh >"$root$ZSH_COMPLETION_DIR/_director"
"$bin" --generate-completion-script fish >"$root$FISH_COMPLETION_DIR/director.fish"
chmod 0644 "$root$BASH_COMPLETION_DIR/director" "$root$ZSH_COMPLETION_DIR/_director" "$root$FISH_COMPLETION_DIR/director.fish"

for f in "$BINDIR/director" "$MANDIR/man1/director.1" "$BASH_COMPLETION_DIR/director" \
    "$ZSH_COMPLETION_DIR/_director" "$FISH_COMPLETION_DIR/director.fish"; do
    echo "installed $root$f"
done
if [ -z "$DESTDIR" ]; then
    case ":$PATH:" in
    *":$BINDIR:"*) ;;
    *) say "note: $BINDIR is not on your PATH; add it: export PATH=\"$BINDIR:\$PATH\"" ;;
    esac
fi
