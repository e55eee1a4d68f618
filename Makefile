# smtpmail.h - build, test and demo.
#   make demo      deliver a sample trading alert to a local TLS server, show it
#   make test      every check; the last line is "N passed, N failed"
#   make           the command-line tool, build/smtpmail-send
#   make examples  the examples, into build/
#   make sanitize  the whole suite built with AddressSanitizer + UBSan
#   make valgrind  the whole suite under valgrind memcheck
#   make symbols   check that only smtpmail_ names are exported
#   make fuzz      each libFuzzer target for FUZZ_SECONDS (60)
#   make clean

CC      ?= cc
CXX     ?= c++
CLANG   ?= clang
PYTHON  ?= /usr/bin/python3
BUILD   ?= build

WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wcast-qual -Wformat=2 -Wundef -Wvla \
           -Wwrite-strings -Wconversion -Wsign-conversion
CXXWARN := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wcast-qual -Wconversion
CFLAGS  ?= -O2 -g
LDFLAGS ?=
# -std=c99 hides POSIX: the socket code needs _POSIX_C_SOURCE (see the header).
ALL_CFLAGS := -std=c99 -D_POSIX_C_SOURCE=200112L $(WARN) $(CFLAGS) -I.
TLS_LIBS ?= -lmbedtls -lmbedx509 -lmbedcrypto

EXAMPLES := $(BUILD)/smtpmail-send $(BUILD)/send_alert $(BUILD)/html_report \
            $(BUILD)/many_alerts
TESTS    := $(BUILD)/test_main $(BUILD)/test_smtp $(BUILD)/real_send \
            $(BUILD)/test_main_clang $(BUILD)/test_smtp_clang $(BUILD)/thread_test \
            $(BUILD)/cpp_test $(BUILD)/link_test $(BUILD)/link_impl.o $(BUILD)/quick_start

.PHONY: all examples tests test demo deps sanitize valgrind symbols clean fuzz fuzz-smoke
all: $(BUILD)/smtpmail-send
examples: $(EXAMPLES)
tests: $(TESTS)

$(BUILD):
	@mkdir -p $(BUILD)

# Every example and test program is one C file that includes the header.
$(BUILD)/%: examples/%.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDFLAGS) $(TLS_LIBS)

$(BUILD)/%: tests/%.c smtpmail.h tests/check.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDFLAGS) $(TLS_LIBS)

# The same tests built by the other compiler, so both see -Werror.
$(BUILD)/%_clang: tests/%.c smtpmail.h tests/check.h | $(BUILD)
	$(CLANG) $(ALL_CFLAGS) $< -o $@ $(LDFLAGS) $(TLS_LIBS)

# Two threads rendering at once (POSIX threads).
$(BUILD)/thread_test: tests/thread_test.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -pthread $< -o $@ $(LDFLAGS) $(TLS_LIBS)

# The QUICK START block of the header, compiled as it stands (and run by
# tests/real_smtp.py against a local server).
$(BUILD)/quick_start.c: smtpmail.h | $(BUILD)
	sed -n '/^<quick-start>$$/,/^<\/quick-start>$$/p' smtpmail.h | sed '1d;$$d' > $@

$(BUILD)/quick_start: $(BUILD)/quick_start.c
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDFLAGS) $(TLS_LIBS)

# The header as C++: API-only and with the implementation.
$(BUILD)/cpp_test: tests/cpp_test.cpp smtpmail.h | $(BUILD)
	$(CXX) -std=c++11 $(CXXWARN) $(CFLAGS) -I. $< -o $@ $(LDFLAGS) $(TLS_LIBS)

# Two translation units: the implementation in one, the API in the other.
$(BUILD)/link_test: tests/link_impl.c tests/link_main.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) tests/link_impl.c tests/link_main.c -o $@ $(LDFLAGS) $(TLS_LIBS)

# The implementation's object: it must define nothing but smtpmail_ names.
$(BUILD)/link_impl.o: tests/link_impl.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

deps:
	@sh tests/deps.sh

test: deps
	@BUILD="$(BUILD)" sh tests/run.sh "$(MAKE)" "$(PYTHON)"

demo: deps $(BUILD)/smtpmail-send
	@sh examples/demo.sh $(BUILD)/smtpmail-send "$(PYTHON)"

# The whole suite again, every C program built with ASan + UBSan (leaks
# included): any report fails its test.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
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
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_reply fuzz_ehlo fuzz_url fuzz_encoders fuzz_mime
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
.PHONY: fuzz fuzz-smoke

$(BUILD)/fuzz:
	@mkdir -p $@

$(FUZZ_BINS): $(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h smtpmail.h | $(BUILD)/fuzz
	$(CLANG) -std=c99 -D_POSIX_C_SOURCE=200112L $(WARN) $(FUZZ_FLAGS) -I. $< -o $@ $(TLS_LIBS)

fuzz: $(FUZZ_BINS)
	@sh tests/fuzz/run.sh fuzz $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BINS)
	@sh tests/fuzz/run.sh smoke $(BUILD)/fuzz $(FUZZ_TARGETS)
