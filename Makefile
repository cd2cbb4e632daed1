# Build, run and test the ride-sharing matcher.
#   make            build every binary (-Wall -Wextra -Werror -O2) into build/
#   make SAN=1      the same with AddressSanitizer + UBSan, into build-san/
#   make up/down    start/stop the local stack (Redis, Postgres, nginx, services)
#   make run        up + the bot in the foreground + the dashboard URL
#   make test       deps, build, unit tests, then integration tests on a fresh stack
#   make test-debian make test and make run in a fresh Debian 12 root (tests/debian/run.sh)
#   make bench      benchmarks; figures go to BENCHMARKS.md and var/bench/
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS (60) each; make test-fuzz: their corpora once
#
# Layout: lib/ is the shared library (librs.a). Each service directory builds
# one binary from its main.c plus an archive of its other .c files (its core),
# which unit tests and benchmarks link against. intake/ has no main: it is the
# core rider-svc and driver-svc share (uses_<service> names it); bench/lib/
# is the benchmark tools' own (every bench/*.c is one tool).

SHELL      := /bin/bash
PORT       ?= 8080
TICK_MS    ?= 1000
SAN        ?= 0
SCALE      ?= 1
export PORT TICK_MS SCALE

PKGS       := libwebsockets libuv hiredis jansson libpq
CC         ?= cc
ifeq ($(SAN),1)
BUILD      ?= build-san
CC         := clang
SANFLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT        := -O1 -g
else
BUILD      ?= build
SANFLAGS   :=
OPT        := -O2 -g
endif
# The libraries' flags are asked of pkg-config when a compile or link first
# needs them, not when the Makefile is read: `make run` on a fresh machine
# installs the -dev packages (deps) before it builds. If pkg-config fails
# (a package missing) the build stops with its message instead of compiling
# without the flags.
pkgconfig   = $(eval _pc := $(shell pkg-config $(1) $(PKGS) 2>&1))$(if $(filter 0,$(.SHELLSTATUS)),$(_pc),$(error \
              pkg-config $(1) $(PKGS) failed: $(or $(_pc),pkg-config not found); `make deps` (scripts/deps.sh) installs them))
PKG_CFLAGS  = $(if $(_pkg_cflags_done),,$(eval _pkg_cflags := $(call pkgconfig,--cflags))$(eval _pkg_cflags_done := 1))$(_pkg_cflags)
PKG_LIBS    = $(if $(_pkg_libs_done),,$(eval _pkg_libs := $(call pkgconfig,--libs))$(eval _pkg_libs_done := 1))$(_pkg_libs)
CFLAGS      = -std=gnu11 $(OPT) -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
              -D_GNU_SOURCE -Ilib $(SANFLAGS) $(PKG_CFLAGS)
LDLIBS      = $(PKG_LIBS) -lm
LDFLAGS    := $(SANFLAGS)
# lib/uvpoll.c wraps these libuv functions; the services export them so that
# lws' libuv event plugin, which lws dlopen()s, binds to the wrappers too
UVPOLL_EXPORTS := $(foreach f,uv_poll_start uv_poll_stop uv_close,-Wl,--export-dynamic-symbol=$(f))

SERVICES   := $(foreach d,rider-svc driver-svc rating-svc comm-svc matcher bot,$(if $(wildcard $(d)/main.c),$(d)))
LIB_SRC    := $(wildcard lib/*.c)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_A      := $(BUILD)/librs.a
core_src    = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
core_a      = $(if $(call core_src,$(1)),$(BUILD)/lib$(1).a)
SHARED     := intake bench/lib
uses_rider-svc  := intake
uses_driver-svc := intake
CORE_AS    := $(foreach s,$(SERVICES) $(SHARED),$(call core_a,$(s)))
BINS       := $(SERVICES:%=$(BUILD)/bin/%)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/test/%)
BENCH_SRC  := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps up down run test test-unit test-integration test-deploy test-netns test-regions test-san test-debian bench clean status \
        fuzz fuzz-build test-fuzz
all: $(BINS) $(UNIT_BINS) $(BENCH_BINS)

deps:
	@bash scripts/deps.sh

# V=1 shows the full commands
Q          := $(if $(filter 1,$(V)),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(Q)ar rcs $@ $^

define core_rules
$(if $(call core_src,$(1)),$(BUILD)/lib$(1).a: $(patsubst %.c,$(BUILD)/obj/%.o,$(call core_src,$(1)))
	@mkdir -p $$(@D)
	$$(Q)ar rcs $$@ $$^)
endef
define service_rules
$(BUILD)/bin/$(1): $(BUILD)/obj/$(1)/main.o $(call core_a,$(1)) $(foreach u,$(uses_$(1)),$(call core_a,$(u))) $(LIB_A)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LINK    $$@")
	$$(Q)$$(CC) $$(LDFLAGS) $$(UVPOLL_EXPORTS) -o $$@ $$^ $$(LDLIBS)
$(BUILD)/obj/$(1)/%.o: CFLAGS += $(uses_$(1):%=-I%)
endef
$(foreach s,$(SERVICES) $(SHARED),$(eval $(call core_rules,$(s))))
$(foreach s,$(SERVICES),$(eval $(call service_rules,$(s))))

# A unit test is tests/unit/test_<dir>_<module>.c: it sees the headers of lib/
# and of <dir> only, and links <dir>'s core (with the cores that one uses) and
# librs.a, nothing else (test_lib_* links librs.a alone).
TEST_DIRS      := lib:lib matcher:matcher bot:bot comm:comm-svc rating:rating-svc intake:intake \
                  bench:bench/lib
test_dir        = $(patsubst $(word 2,$(subst _, ,$(1))):%,%,$(filter $(word 2,$(subst _, ,$(1))):%,$(TEST_DIRS)))
test_cores      = $(foreach d,$(filter-out lib,$(call test_dir,$(1))),$(call core_a,$(d)) $(foreach u,$(uses_$(d)),$(call core_a,$(u))))
$(foreach t,$(TEST_DIRS),$(eval $(BUILD)/obj/tests/unit/test_$(word 1,$(subst :, ,$(t)))_%.o: \
	CFLAGS += $(if $(filter-out lib,$(word 2,$(subst :, ,$(t)))),-I$(word 2,$(subst :, ,$(t))))))
$(foreach t,$(UNIT_SRC:tests/unit/%.c=%),$(if $(call test_dir,$(t)),,$(error tests/unit/$(t).c: a unit test is named test_<dir>_<module>.c, <dir> one of $(TEST_DIRS))))

.SECONDEXPANSION:
$(BUILD)/test/%: $(BUILD)/obj/tests/unit/%.o $$(call test_cores,$$*) $(LIB_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(CORE_AS) $(LIB_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# benchmarks see every service's headers (the cores they measure)
$(BUILD)/obj/bench/%.o: CFLAGS += $(SERVICES:%=-I%) $(SHARED:%=-I%)

# objects of tests and benchmarks are intermediates: keep them
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# deps first, then a new make for the build: what deps installed is there
# when that make reads the Makefile (also under make -j)
up: deps
	@$(MAKE) --no-print-directory all
	@BUILD_DIR=$(CURDIR)/$(BUILD) bash scripts/stack.sh up

down:
	@bash scripts/stack.sh down

status:
	@bash scripts/stack.sh status

run: up
	@BUILD_DIR=$(CURDIR)/$(BUILD) bash scripts/run.sh

test-unit: $(UNIT_BINS)
	@bash tests/lint/guards.sh && bash tests/run-unit.sh $(UNIT_BINS)

test-integration: all
	@BUILD_DIR=$(CURDIR)/$(BUILD) bash tests/run-integration.sh

# offline checks of the Dockerfiles, deploy/compose.yaml and deploy/k8s
test-deploy:
	@cd tests/deploy && /usr/bin/python3 -m pytest -q -p no:cacheprovider .

# the stack on three hosts made of network namespaces (edge, app, data); root only
test-netns: all
	@BUILD_DIR=$(CURDIR)/$(BUILD) bash tests/netns/run.sh

# two regions, each a whole stack, behind the regional front (scripts/regions.sh)
test-regions: all
	@BUILD_DIR=$(CURDIR)/$(BUILD) bash tests/regions/run.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-deploy
	@$(MAKE) --no-print-directory test-fuzz
	@$(MAKE) --no-print-directory test-integration
	@$(MAKE) --no-print-directory test-netns
	@$(MAKE) --no-print-directory test-regions
	@$(MAKE) --no-print-directory bench-smoke

test-san: deps
	@$(MAKE) --no-print-directory SAN=1 all
	@$(MAKE) --no-print-directory SAN=1 test-unit
	@$(MAKE) --no-print-directory SAN=1 test-integration

# the README's `make test` and `make run` in a fresh Debian 12 (debootstrap
# minbase + git, make) made under var/debian/; root only; ~11 min
test-debian:
	@bash tests/debian/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bash bench/run.sh

# ---------------------------------------------------------------- fuzzing
# libFuzzer harnesses (clang, ASan + UBSan) for every parser of outside bytes;
# fuzz/README.md. `make fuzz` fuzzes each for FUZZ_SECONDS; `make test-fuzz`
# (part of `make test`) runs each once over its committed corpus.
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -D_GNU_SOURCE \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Ilib -Ibot -Icomm-svc
FUZZERS      := validate wsmsg http_parse hub http_server
fuzz_validate_SRC   := fuzz/fuzz_validate.c lib/validate.c lib/fastbody.c lib/numfmt.c lib/sbuf.c
fuzz_wsmsg_SRC      := fuzz/fuzz_wsmsg.c bot/wsmsg.c
fuzz_http_parse_SRC := fuzz/fuzz_http_parse.c bot/http_parse.c
fuzz_hub_SRC        := fuzz/fuzz_hub.c $(addprefix comm-svc/,hub.c client.c sock.c queue.c ring.c batch.c live.c msg.c) lib/streamid.c lib/validate.c lib/fastbody.c lib/numfmt.c lib/sbuf.c lib/log.c
# lib/http*.c behind the system's libwebsockets (not instrumented) on libuv
fuzz_http_server_SRC := fuzz/fuzz_http_server.c lib/http.c lib/http_req.c lib/http_reply.c lib/sbuf.c lib/log.c
fuzz_http_server_FLAGS := $(shell pkg-config --cflags libwebsockets libuv 2>/dev/null)
fuzz_http_server_LIBS  := $(shell pkg-config --libs libwebsockets libuv 2>/dev/null)
FUZZ_BINS    := $(FUZZERS:%=$(FUZZ_BUILD)/fuzz_%)

define fuzz_rule
$(FUZZ_BUILD)/fuzz_$(1): $(fuzz_$(1)_SRC) $(wildcard lib/*.h bot/*.h comm-svc/*.h)
	@mkdir -p $$(@D)
	clang $(FUZZ_CFLAGS) $(fuzz_$(1)_FLAGS) -o $$@ $(fuzz_$(1)_SRC) $(fuzz_$(1)_LIBS) -ljansson
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rule,$(f))))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_BUILD=$(CURDIR)/$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh fuzz

test-fuzz: fuzz-build
	@FUZZ_BUILD=$(CURDIR)/$(FUZZ_BUILD) bash fuzz/run.sh corpus

clean:
	rm -rf build build-san build-fuzz

# bench-smoke: a few seconds of every benchmark on its own stack (port 15180),
# checks only that the tool runs and writes well-formed JSON (never speed);
# for `make test`. Output in var/bench-smoke/.
.PHONY: bench-smoke
bench-smoke: all
	@BUILD_DIR=$(CURDIR)/$(BUILD) BENCH_SMOKE=1 bash bench/run.sh

# soak: SOAK_MINUTES (10) of the default bot with --strict on its own stack
# (SOAK_PORT 16080, var/soak), sampling every process's memory, Redis, the
# streams and the logs every 10 s; fails when something grows without bound
# (bench/soak.py). Figures in BENCHMARKS.md ("Soak").
.PHONY: soak
soak: all
	@BUILD_DIR=$(CURDIR)/$(BUILD) bash scripts/soak.sh
