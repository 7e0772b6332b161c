# Director: `make run` and `make test` are the two commands a newcomer needs.
SWIFT ?= swift
JOBS ?= jobs
STATE ?= .director
CONFIG ?= debug
# `make install`: GNU conventions (PREFIX where the files live, DESTDIR a staging root).
PREFIX ?= /usr/local
DESTDIR ?=
INSTALL_CONFIG ?= release

.PHONY: deps build release run test bench bench-quick soak clean install uninstall

deps:
	@bash scripts/ensure-deps.sh

build: deps
	$(SWIFT) build $(SWIFTPM_FLAGS) -c $(CONFIG)

release: deps
	$(SWIFT) build -c release

# `exec`: make waits for director itself, not for a shell that would die of the Ctrl-C and
# make print `*** [run] Interrupt`; director stops the tree and exits 0.
run: build
	exec $$($(SWIFT) build $(SWIFTPM_FLAGS) -c $(CONFIG) --show-bin-path)/director run --jobs $(JOBS) --state $(STATE)

install: deps
	@SWIFT="$(SWIFT)" SWIFTPM_FLAGS="$(SWIFTPM_FLAGS)" CONFIG="$(INSTALL_CONFIG)" PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" bash scripts/install.sh

uninstall:
	rm -f "$(DESTDIR)$(PREFIX)/bin/director" "$(DESTDIR)$(PREFIX)/share/man/man1/director.1" \
	    "$(DESTDIR)$(PREFIX)/share/bash-completion/completions/director" \
	    "$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_director" \
	    "$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/director.fish"

test: deps
	@bash scripts/test-deps.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: deps
	@bash bench/run.sh

bench-quick: deps
	@bash bench/run.sh --quick

soak: deps
	DIRECTOR_SOAK=1 $(SWIFT) test --filter Soak

clean:
	rm -rf .build
