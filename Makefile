# smtpmail.h - build, test and demo. Every target, one line each:
#   make                the command-line tool, build/smtpmail-send
#   make examples       the examples, into build/
#   make tests          every program `make test` runs (TESTS), in parallel with -j
#   make test           every check; the last line is "N passed, N failed"
#   make demo           deliver a sample trading alert to a local TLS server, show it
#   make deps           install (as root) or name what make test and make demo need
#   make install        smtpmail.h, smtpmail-send and its man page into $(DESTDIR)$(PREFIX)
#   make uninstall      remove those three files again
#   make sanitize       the whole suite built with AddressSanitizer + UBSan
#   make valgrind       the whole suite under valgrind memcheck
#   make symbols        check that only smtpmail_ names are exported
#   make fuzz           each libFuzzer target for FUZZ_SECONDS (60)
#   make fuzz-smoke     each libFuzzer target replays its seeds (make test runs it)
#   make mbedtls3       the whole suite against mbedTLS 3.6 LTS (TLS 1.3)
#   make mbedtls3-mingw mbedTLS 3.6 built for MinGW-w64 (make windows links it)
#   make bench          smtpmail beside curl, smtplib and msmtp: one table
#   make bench-deps     install what make bench compares against
#   make embedded-check the Cortex-M4 cross build (arm-none-eabi-gcc), code sizes
#   make windows        MinGW-w64 builds, tested under wine
#   make clean          remove build/
# make test builds with -j$(JOBS) (2) unless make itself got -j; JOBS=1: serially.

CC      ?= cc
CXX     ?= c++
CLANG   ?= clang
PYTHON  ?= /usr/bin/python3
BUILD   ?= build
JOBS    ?= 2
PREFIX  ?= /usr/local
INSTALL ?= install

WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wcast-qual -Wformat=2 -Wundef -Wvla \
           -Wwrite-strings -Wconversion -Wsign-conversion
CXXWARN := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wcast-qual -Wconversion
CFLAGS  ?= -O2 -g
LDFLAGS ?=
# -std=c99 hides POSIX: the socket code needs _POSIX_C_SOURCE (see the header).
STD     := -std=c99 -D_POSIX_C_SOURCE=200112L
ALL_CFLAGS := $(STD) $(WARN) $(CFLAGS) -I.
TLS_LIBS ?= -lmbedtls -lmbedx509 -lmbedcrypto
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# One C file that includes the header, as one program. COMPILER is $(CLANG)
# for the _clang builds; THREADS is -pthread for the programs that start
# threads (glibc before 2.34 needs it).
COMPILER = $(CC)
PROGRAM  = $(COMPILER) $(ALL_CFLAGS) $(THREADS) $< -o $@ $(LDFLAGS) $(TLS_LIBS)

FUZZ_TARGETS := fuzz_reply fuzz_ehlo fuzz_url fuzz_encoders fuzz_mime fuzz_spool fuzz_address
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
EXAMPLES := $(BUILD)/smtpmail-send $(BUILD)/send_alert $(BUILD)/html_report \
            $(BUILD)/many_alerts $(BUILD)/custom_transport $(BUILD)/alert_outbox
# Every program `make test` builds besides EXAMPLES, so that one `make -j2
# tests` builds them all at once; tests/run.sh then checks each is up to date.
TESTS    := $(BUILD)/test_main $(BUILD)/test_main_clang $(BUILD)/test_smtp \
            $(BUILD)/test_smtp_clang $(BUILD)/test_outbox $(BUILD)/test_embedded \
            $(BUILD)/thread_test $(BUILD)/cpp_test $(BUILD)/link_test \
            $(BUILD)/link_impl.o $(BUILD)/quick_start $(BUILD)/real_send \
            $(BUILD)/smtpmail-send-notls $(FUZZ_BINS)

.PHONY: all examples tests test demo deps install uninstall sanitize valgrind symbols clean
all: $(BUILD)/smtpmail-send
examples: $(EXAMPLES)
tests: $(TESTS)

# A compiler that fails leaves no half-written program behind to look
# up to date.
.DELETE_ON_ERROR:

$(BUILD):
	@mkdir -p $(BUILD)

# Every example and test program is one C file that includes the header.
$(BUILD)/%: examples/%.c smtpmail.h | $(BUILD)
	$(PROGRAM)

$(BUILD)/%: tests/%.c smtpmail.h tests/check.h tests/fake_smtp.h | $(BUILD)
	$(PROGRAM)

# The same tests built by the other compiler, so both see -Werror.
$(BUILD)/%_clang: private COMPILER = $(CLANG)
$(BUILD)/%_clang: tests/%.c smtpmail.h tests/check.h tests/fake_smtp.h | $(BUILD)
	$(PROGRAM)

# The outbox runs a worker thread; thread_test renders on two threads.
# private: not passed on to what these programs depend on.
$(BUILD)/alert_outbox $(BUILD)/test_outbox $(BUILD)/thread_test: private THREADS := -pthread

# The QUICK START block of the header, compiled as it stands (and run by
# tests/real_smtp.py against a local server).
$(BUILD)/quick_start.c: smtpmail.h | $(BUILD)
	sed -n '/^<quick-start>$$/,/^<\/quick-start>$$/p' smtpmail.h | sed '1d;$$d' > $@

$(BUILD)/quick_start: $(BUILD)/quick_start.c
	$(PROGRAM)

# The header as C++: API-only and with the implementation.
$(BUILD)/cpp_test: tests/cpp_test.cpp smtpmail.h | $(BUILD)
	$(CXX) -std=c++11 $(CXXWARN) $(CFLAGS) -I. $< -o $@ $(LDFLAGS) $(TLS_LIBS)

# Two translation units: the implementation in one (the object below, not
# compiled twice), the API in the other.
$(BUILD)/link_test: tests/link_main.c $(BUILD)/link_impl.o smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< $(BUILD)/link_impl.o -o $@ $(LDFLAGS) $(TLS_LIBS)

# The command-line tool without TLS: no mbedTLS headers or libraries (its
# --version says so).
$(BUILD)/smtpmail-send-notls: examples/smtpmail-send.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -DSMTPMAIL_NO_TLS $< -o $@ $(LDFLAGS)

# The implementation's object: it must define nothing but smtpmail_ names.
$(BUILD)/link_impl.o: tests/link_impl.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

deps:
	@sh tests/deps.sh

# JOBS reaches tests/run.sh only when make got no -j of its own: then the
# jobserver in MAKEFLAGS decides.
test: deps
	@BUILD="$(BUILD)" CC="$(CC)" JOBS="$(if $(findstring -j,$(MAKEFLAGS)),,$(JOBS))" \
	    sh tests/run.sh "$(MAKE)" "$(PYTHON)"

demo: deps $(BUILD)/smtpmail-send
	@sh examples/demo.sh $(BUILD)/smtpmail-send "$(PYTHON)"

# Three files, nothing else (tests/tool.sh checks): the header, the tool,
# its man page (doc/smtpmail-send.1). DESTDIR: a staging root for packages.
install: $(BUILD)/smtpmail-send
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/share/man/man1
	$(INSTALL) -m 644 smtpmail.h $(DESTDIR)$(PREFIX)/include/smtpmail.h
	$(INSTALL) -m 755 $(BUILD)/smtpmail-send $(DESTDIR)$(PREFIX)/bin/smtpmail-send
	$(INSTALL) -m 644 doc/smtpmail-send.1 $(DESTDIR)$(PREFIX)/share/man/man1/smtpmail-send.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/smtpmail.h $(DESTDIR)$(PREFIX)/bin/smtpmail-send \
	    $(DESTDIR)$(PREFIX)/share/man/man1/smtpmail-send.1

# The whole suite again, every C program built with ASan + UBSan (leaks
# included): any report fails its test.
sanitize: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/sanitize CFLAGS="-O1 -g $(SAN)" \
	    LDFLAGS="$(SAN)" test

# The whole suite again with every C program under valgrind memcheck: any
# error or definite/indirect leak makes the program exit 99, which fails
# its test.
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
valgrind: deps
	@command -v valgrind >/dev/null || { echo "valgrind: apt-get install valgrind" >&2; exit 1; }
	@SMTPMAIL_TEST_WRAP="$(VALGRIND)" $(MAKE) --no-print-directory BUILD=$(BUILD)/valgrind \
	    CFLAGS="-O1 -g" test

# The implementation exports nothing but smtpmail_ names.
symbols: $(BUILD)/link_impl.o
	@syms=$$(nm -g --defined-only $< | awk '{print $$3}'); \
	bad=$$(printf '%s\n' "$$syms" | grep -v '^smtpmail_'); \
	echo "exported: $$(printf '%s\n' "$$syms" | wc -l) symbols, all smtpmail_*"; \
	[ -n "$$syms" ] && [ -z "$$bad" ] || { echo "not smtpmail_: $$bad" >&2; exit 1; }

clean:
	rm -rf $(BUILD)

# >>fuzz: libFuzzer targets (clang), one C file each in tests/fuzz/, seeds in
# tests/fuzz/corpus/<target>/.
#   make fuzz [FUZZ_SECONDS=60]  each target fuzzes FUZZ_SECONDS on a copy of
#                                its seeds in $(BUILD)/fuzz/corpus-<target>;
#                                one summary line each; any crash fails
#   make fuzz-smoke              each target replays its seeds (make test)
#   (FUZZ_TARGETS and FUZZ_BINS are defined at the top: TESTS holds them.)
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer $(SAN)
.PHONY: fuzz fuzz-smoke

$(BUILD)/fuzz:
	@mkdir -p $@

$(FUZZ_BINS): $(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h smtpmail.h | $(BUILD)/fuzz
	$(CLANG) $(STD) $(WARN) $(FUZZ_FLAGS) -I. $< -o $@ $(TLS_LIBS)

fuzz: $(FUZZ_BINS)
	@sh tests/fuzz/run.sh fuzz $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BINS)
	@sh tests/fuzz/run.sh smoke $(BUILD)/fuzz $(FUZZ_TARGETS)

# >>mbedtls3: the suite against mbedTLS 3.6 LTS (TLS 1.3 on), built as static
# libraries from Debian's source package by tests/mbedtls.sh.
#   make mbedtls3       tests/mbedtls.sh host, then the whole `make test`
#                       suite with every C program built against
#                       build/mbedtls-3.6/host, into $(BUILD)/mbedtls3;
#                       ends with its own "N passed, N failed"
#   make mbedtls3-mingw tests/mbedtls.sh mingw: build/mbedtls-3.6/mingw,
#                       the libraries `make windows` links
MBEDTLS3 := build/mbedtls-3.6
.PHONY: mbedtls3 mbedtls3-mingw

mbedtls3: deps
	@sh tests/mbedtls.sh host
	@sh tests/mbedtls3.sh "$(MAKE)" $(BUILD)/mbedtls3 $(MBEDTLS3)/host

mbedtls3-mingw:
	@sh tests/mbedtls.sh mingw
# <<mbedtls3

# >>bench: smtpmail beside curl, Python smtplib and msmtp, one table (see
# tests/bench/README.md). Loopback only, a few minutes; never part of make
# test or CI: the figures are not assertions.
#   make bench [BENCH_ARGS="--runs 1"]
BENCH_BINS := $(BUILD)/bench/heap $(BUILD)/bench/tput $(BUILD)/bench/impl-full.o \
              $(BUILD)/bench/impl-notls.o $(BUILD)/bench/quick-start-gc
.PHONY: bench bench-deps

$(BUILD)/bench:
	@mkdir -p $@

$(BUILD)/bench/%: tests/bench/%.c smtpmail.h | $(BUILD)/bench
	$(PROGRAM)

# The implementation's object as a user would ship it: -Os, no -g.
$(BUILD)/bench/impl-full.o: tests/link_impl.c smtpmail.h | $(BUILD)/bench
	$(CC) $(STD) -Os -I. -c $< -o $@

$(BUILD)/bench/impl-notls.o: tests/link_impl.c smtpmail.h | $(BUILD)/bench
	$(CC) $(STD) -Os -DSMTPMAIL_NO_TLS -I. -c $< -o $@

# What a program that sends alerts carries: the QUICK START, -Os, linked
# with unused functions dropped (bench.py sums its smtpmail functions).
$(BUILD)/bench/quick-start-gc: $(BUILD)/quick_start.c | $(BUILD)/bench
	$(CC) $(STD) -Os -ffunction-sections -fdata-sections -I. $< -o $@ -Wl,--gc-sections $(TLS_LIBS)

bench-deps:
	@sh tests/bench/deps.sh

bench: bench-deps $(BUILD)/smtpmail-send $(BENCH_BINS)
	@$(PYTHON) tests/bench/bench.py --build $(BUILD) $(BENCH_ARGS)
# <<bench

# >>embedded: the build tests/embedded_impl.c describes (SMTPMAIL_NO_SOCKETS,
# SMTPMAIL_NO_STDIO, minimum buffers).
#   make embedded-check     cross-compiles it for a Cortex-M4 (arm-none-eabi-gcc,
#                           newlib; installed if missing), without and with TLS,
#                           links tests/embedded_firmware.c, prints code sizes
#   $(BUILD)/test_embedded  the same build on the host without TLS, driven by a
#                           scripted transport and hooks (make test runs it)
.PHONY: embedded-check

$(BUILD)/embedded_host.o: tests/embedded_impl.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -DSMTPMAIL_NO_TLS -c $< -o $@

# No TLS libraries: the embedded object must link without them.
$(BUILD)/test_embedded: tests/test_embedded.c $(BUILD)/embedded_host.o $(BUILD)/link_impl.o \
                        smtpmail.h tests/check.h tests/fake_smtp.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -DEMBEDDED_OBJ='"$(BUILD)/embedded_host.o"' \
	    -DFULL_OBJ='"$(BUILD)/link_impl.o"' $< $(BUILD)/embedded_host.o -o $@ $(LDFLAGS)

embedded-check:
	@sh tests/embedded.sh $(BUILD)/embedded "$(WARN)"
# <<embedded

# >>windows: the Windows build, tested for real under wine (tests/windows.sh).
# MinGW-w64's gcc with win32 threads (C only: no libwinpthread to carry),
# static .exe files against mbedTLS 3.6 built for MinGW by tests/mbedtls.sh.
#   make windows   installs what is missing (mingw-w64, wine), builds into
#                  $(BUILD)/windows, runs the offline suites and loopback
#                  deliveries (ROOT store included) under wine; the last line
#                  is "N passed, N failed"
MINGW_CC    ?= x86_64-w64-mingw32-gcc-win32
WIN_BUILD   := $(BUILD)/windows
# tests/mbedtls.sh writes build/mbedtls-3.6/mingw whatever BUILD is.
WIN_MBEDTLS ?= build/mbedtls-3.6/mingw
# No -D_POSIX_C_SOURCE: Winsock, not POSIX sockets.
WIN_CFLAGS  := -std=c99 $(WARN) -O2 -I. -I$(WIN_MBEDTLS)/include
WIN_LIBS    := -static -L$(WIN_MBEDTLS)/lib -lmbedtls -lmbedx509 -lmbedcrypto \
               -lws2_32 -lcrypt32 -ladvapi32 -lbcrypt
WIN_TESTS   := $(WIN_BUILD)/test_main.exe $(WIN_BUILD)/test_smtp.exe $(WIN_BUILD)/test_outbox.exe
.PHONY: windows

$(WIN_BUILD):
	@mkdir -p $@

$(WIN_MBEDTLS)/lib/libmbedtls.a:
	@sh tests/mbedtls.sh mingw

$(WIN_TESTS): $(WIN_BUILD)/%.exe: tests/%.c smtpmail.h tests/check.h tests/fake_smtp.h \
                                  $(WIN_MBEDTLS)/lib/libmbedtls.a | $(WIN_BUILD)
	$(MINGW_CC) $(WIN_CFLAGS) $< -o $@ $(WIN_LIBS)

# CommandLineToArgvW (UTF-8 arguments) is in shell32.
$(WIN_BUILD)/smtpmail-send.exe: examples/smtpmail-send.c smtpmail.h \
                                $(WIN_MBEDTLS)/lib/libmbedtls.a | $(WIN_BUILD)
	$(MINGW_CC) $(WIN_CFLAGS) $< -o $@ $(WIN_LIBS) -lshell32

# The test's helper for the ROOT store: crypt32 only.
$(WIN_BUILD)/win_rootstore.exe: tests/win_rootstore.c | $(WIN_BUILD)
	$(MINGW_CC) $(WIN_CFLAGS) $< -o $@ -static -lcrypt32 -ladvapi32

# The header as C++ with the Windows headers (MinGW's g++, win32 threads).
MINGW_CXX ?= x86_64-w64-mingw32-g++-win32
$(WIN_BUILD)/cpp_test.exe: tests/cpp_test.cpp smtpmail.h $(WIN_MBEDTLS)/lib/libmbedtls.a | $(WIN_BUILD)
	$(MINGW_CXX) -std=c++11 $(CXXWARN) -O2 -I. -I$(WIN_MBEDTLS)/include $< -o $@ $(WIN_LIBS)

# The outbox with the rest of the implementation (its tests run as test_outbox.exe).
$(WIN_BUILD)/outbox_impl.o: tests/link_impl.c smtpmail.h $(WIN_MBEDTLS)/lib/libmbedtls.a | $(WIN_BUILD)
	$(MINGW_CC) $(WIN_CFLAGS) -DSMTPMAIL_OUTBOX -c $< -o $@

windows:
	@BUILD="$(BUILD)" MINGW_CC="$(MINGW_CC)" MINGW_CXX="$(MINGW_CXX)" \
	    sh tests/windows.sh "$(MAKE)" "$(PYTHON)"
# <<windows
