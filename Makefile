# Director: `make run` and `make test` are the two commands a newcomer needs.
SWIFT ?= swift
JOBS ?= jobs
STATE ?= .director
CONFIG ?= debug

.PHONY: deps build release run test bench bench-quick soak clean

deps:
	@bash scripts/ensure-deps.sh

build: deps
	$(SWIFT) build -c $(CONFIG)

release: deps
	$(SWIFT) build -c release

run: build
	$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/director run --jobs $(JOBS) --state $(STATE)

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
