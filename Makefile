# rosfw — build, test, run. `make run` and `make test` are the whole set-up on
# a fresh Debian 12 machine: missing Debian -dev packages are installed here.

CC      ?= cc
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
ifeq ($(findstring clang,$(CC)),clang)
WARN    += -Wno-unknown-warning-option
else
WARN    += -Wno-format-truncation
endif
CFLAGS  := -std=c11 -D_GNU_SOURCE -Isrc $(WARN) $(OPT) -MMD -MP
LDLIBS  += -lsqlite3 -ledit -lpcap -ljansson -lsodium -lmicrohttpd -lgnutls -lxdp -lbpf -lm -lpthread

BUILD   ?= build
DB      ?= var/rosfw.db

# Debian packages the build and the tests need (header or tool -> package).
DEB_PKGS := iproute2 libsqlite3-dev libedit-dev libcmocka-dev libpcap-dev libjansson-dev libsodium-dev libmicrohttpd-dev libgnutls28-dev libxdp-dev libbpf-dev python3-librouteros python3-requests curl clang iperf3 nftables irtt iputils-ping ethtool

SRC_LIB  := $(sort $(wildcard src/util/*.c src/conf/*.c src/engine/*.c src/qos/*.c src/sim/*.c src/io/*.c src/mgmt/*.c src/daemon/*.c src/lint/*.c))
SRC_CLI  := $(sort $(wildcard src/cli/*.c))
OBJ_LIB  := $(SRC_LIB:%.c=$(BUILD)/%.o) $(BUILD)/gen/default_rsc.o
OBJ_CLI  := $(SRC_CLI:%.c=$(BUILD)/%.o)
TESTS    := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TESTS:tests/unit/%.c=$(BUILD)/tests/%)
# what the QoS unit tests share, linked into each
QOS_FIX  := $(BUILD)/tests/unit/qos_fixture.o

.PHONY: all deps run test unit integration asan fuzz bench bench-fwd clean

all: deps $(BUILD)/rosfw

# Installs what is missing, once (again when the Makefile, and so perhaps
# DEB_PKGS, changed); a clear message when that is not possible.
deps: $(BUILD)/.deps
$(BUILD)/.deps: Makefile
	@mkdir -p $(BUILD)
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null || \
	      { echo "apt-get install$$missing failed"; exit 1; }; \
	  else \
	    echo "rosfw needs these Debian packages:$$missing"; \
	    echo "run as root: apt-get install$$missing"; exit 1; \
	  fi; \
	fi
	@touch $@

$(BUILD)/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The built-in default configuration is examples/soho.rsc, compiled in.
$(BUILD)/gen/default_rsc.c: examples/soho.rsc
	@mkdir -p $(dir $@)
	@{ echo '/* generated from examples/soho.rsc */'; \
	   echo 'const char conf_default_rsc[] = {'; \
	   od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	   echo '0 };'; } > $@

$(BUILD)/gen/default_rsc.o: $(BUILD)/gen/default_rsc.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/librosfw.a: $(OBJ_LIB)
	ar rcs $@ $^

$(BUILD)/rosfw: $(OBJ_CLI) $(BUILD)/librosfw.a
	$(CC) $(CFLAGS) -o $@ $(OBJ_CLI) $(BUILD)/librosfw.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librosfw.a | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(filter %.o,$^) $(BUILD)/librosfw.a $(LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/tests/test_qos $(BUILD)/tests/test_htb: $(QOS_FIX)

# test tools (capture writer for the scenario tests)
$(BUILD)/tests/mkpcap: tests/tools/mkpcap.c $(BUILD)/librosfw.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/librosfw.a $(LDFLAGS) $(LDLIBS)

# the io contract on a veth pair, per backend (tests/lab/xdp.sh)
$(BUILD)/tests/iotest: tests/tools/iotest.c $(BUILD)/librosfw.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/librosfw.a $(LDFLAGS) $(LDLIBS)

# The router on var/rosfw.db (the default configuration on first start, with
# the admin password printed once), the SOHO traffic profile flowing through
# virtual interfaces, and its console on this terminal. /quit or Ctrl-C on an
# empty line stops it.
run: all
	@mkdir -p $(dir $(DB))
	$(BUILD)/rosfw run --console --db $(DB) --traffic examples/traffic/soho.json

unit: $(TEST_BIN) $(BUILD)/tests/mkpcap $(BUILD)/tests/iotest

# The fuzz smoke run is part of the plain test; the sanitizer run skips it
# (the fuzz targets carry ASan and UBSan already).
test: all unit $(if $(NO_FUZZ),,fuzz)
	@BUILD=$(BUILD) NO_FUZZ=$(NO_FUZZ) tests/run.sh

asan:
	$(MAKE) BUILD=build-asan CC=clang \
	  OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" NO_FUZZ=1 test

FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer-no-link,address,undefined
FUZZ_OBJ := $(SRC_LIB:%.c=build-fuzz/obj/%.o) build-fuzz/obj/default_rsc.o
build-fuzz/obj/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@
build-fuzz/obj/default_rsc.o: $(BUILD)/gen/default_rsc.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@
build-fuzz/librosfw.a: $(FUZZ_OBJ)
	ar rcs $@ $^
build-fuzz/%: fuzz/%.c build-fuzz/librosfw.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/librosfw.a \
	  -lsqlite3 -ledit -lpcap -ljansson -lsodium -lmicrohttpd -lgnutls -lxdp -lbpf -lm -lpthread

fuzz: $(FUZZ_BIN)

BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: bench/%.c $(BUILD)/librosfw.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/librosfw.a $(LDFLAGS) $(LDLIBS)

bench: all $(BENCH_BIN)
	@for b in $(BENCH_BIN); do taskset -c 0 $$b || exit 1; done
	@BUILD=$(BUILD) bench/bench_mgmt.sh
	@BUILD=$(BUILD) bench/live.sh

# 64-byte UDP forwarding, --io af_packet against af_xdp, on a veth lab
# (namespaces: run it under flock /tmp/rosfw-test.lock)
$(BUILD)/bench/udpflood: bench/udpflood.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

bench-fwd: all $(BUILD)/bench/udpflood
	@BUILD=$(BUILD) bench/bench_fwd.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(OBJ_LIB:.o=.d) $(OBJ_CLI:.o=.d) $(QOS_FIX:.o=.d)
