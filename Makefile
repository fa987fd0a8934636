# flame: every target installs what it needs and can be run again.
SHELL        := bash
.SHELLFLAGS  := -euo pipefail -c
DENO_VERSION := 2.9.6
TOOLS        := .tools
DENO_BIN     := $(TOOLS)/node_modules/@deno/linux-x64-glibc/deno
DENO_STAMP   := $(TOOLS)/.deno-$(DENO_VERSION)
DENO         := RUST_BACKTRACE=0 DENO_NO_UPDATE_CHECK=1 $(DENO_BIN)
export RUST_BACKTRACE := 0

.PHONY: setup deno browser demo test lint build bench conformance clean

## setup: install the pinned Deno, the npm packages the tests use, and the system tools.
setup: deno browser
	@scripts/system-deps.sh

deno: $(DENO_STAMP)
$(DENO_STAMP):
	@mkdir -p $(TOOLS)
	@# A Deno of the pinned version on PATH would do; the project installs its own to be sure.
	npm install --prefix $(TOOLS) --no-save --no-audit --no-fund @deno/linux-x64-glibc@$(DENO_VERSION)
	$(DENO_BIN) --version | head -1
	@touch $@

browser: $(DENO_STAMP)
	$(DENO) install --frozen --quiet

## demo: profile a bundled demo program with `flame run` and write demo.svg. Where perf cannot
## record (no perf, not permitted), render a bundled real recording instead, and say so.
demo: $(DENO_STAMP)
	@mkdir -p $(TOOLS)/demo
	@if command -v perf >/dev/null 2>&1 && perf record -q -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then \
	  cc -O2 -g -o $(TOOLS)/demo/demo demo/demo.c && \
	  $(DENO) run -A main.ts run -F 999 -o demo.svg --title "flame demo: a toy request handler" -- $(TOOLS)/demo/demo 1.5; \
	else \
	  echo "demo: perf cannot record here; rendering the bundled recording fixtures/perf/c-dwarf.perf.txt" >&2; \
	  $(DENO) run -A main.ts collapse fixtures/perf/c-dwarf.perf.txt -o $(TOOLS)/demo/demo.folded && \
	  $(DENO) run -A main.ts svg $(TOOLS)/demo/demo.folded --title "flame demo: a C program (recorded)" -o demo.svg && \
	  echo "wrote demo.svg: open it in a web browser"; \
	fi

## test: format, lint and type checks, then every test; ends with "N passed, M failed".
test: setup build
	$(DENO) fmt --check
	$(DENO) lint
	$(DENO) check main.ts src test bench
	$(DENO) test -A --frozen 2>&1 | scripts/test-summary.sh

## build: dist/flame, a single file to copy onto a server.
build: $(DENO_STAMP)
	@scripts/build.sh "$(DENO_BIN)" "$(DENO_VERSION)"

## bench: throughput (MB/s, lines/s) and peak memory of each stage.
bench: $(DENO_STAMP)
	$(DENO) run -A bench/run.ts

## conformance: the shared collapse conformance suite against dist/flame (needs ../shared).
conformance: build
	../shared/conformance/conformance.sh --target flame \
	  --cmd 'perf=dist/flame collapse perf {flags} {input}' \
	  --cmd 'dtrace=dist/flame collapse dtrace {flags} {input}' \
	  --cmd 'diff-folded=dist/flame diff --folded {flags} {input1} {input2}' \
	  --flag-map '-n=--normalize;-s=--strip-hex'

clean:
	rm -rf dist demo.svg cov
