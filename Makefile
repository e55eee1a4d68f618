# smtpmail.h - build, test and demo.
#   make demo    render a sample trading alert and show it as a mail client would
#   make test    every check; the last line is "N passed, N failed"
#   make         the command-line tool, build/smtpmail-send

CC      ?= cc
CXX     ?= c++
PYTHON  ?= /usr/bin/python3
BUILD   := build

WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wcast-qual -Wformat=2 -Wundef -Wvla \
           -Wwrite-strings -Wconversion -Wsign-conversion
CFLAGS  ?= -O2 -g
# -std=c99 hides POSIX: the socket code needs _POSIX_C_SOURCE (see the header).
ALL_CFLAGS := -std=c99 -D_POSIX_C_SOURCE=200112L $(WARN) $(CFLAGS) -I.
TLS_LIBS ?= -lmbedtls -lmbedx509 -lmbedcrypto
CXXWARN := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wcast-qual -Wconversion

.PHONY: all examples test demo deps clean
all: $(BUILD)/smtpmail-send

EXAMPLES := $(BUILD)/smtpmail-send $(BUILD)/send_alert $(BUILD)/html_report $(BUILD)/many_alerts
examples: $(EXAMPLES)

$(BUILD)/send_alert $(BUILD)/html_report $(BUILD)/many_alerts: $(BUILD)/%: examples/%.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(TLS_LIBS)

$(BUILD):
	@mkdir -p $(BUILD)

$(BUILD)/smtpmail-send: examples/smtpmail-send.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(TLS_LIBS)

$(BUILD)/test_main: tests/test_main.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(TLS_LIBS)

# The SMTP engine against a scripted server (tests/test_smtp.c), both compilers.
$(BUILD)/test_smtp: tests/test_smtp.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(TLS_LIBS)

$(BUILD)/test_smtp_clang: tests/test_smtp.c smtpmail.h | $(BUILD)
	clang $(ALL_CFLAGS) $< -o $@ $(TLS_LIBS)

# The C API against the real servers of tests/real_smtp.py.
$(BUILD)/real_send: tests/real_send.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(TLS_LIBS)

# The same tests built by the other compiler, so both see -Werror.
$(BUILD)/test_main_clang: tests/test_main.c smtpmail.h | $(BUILD)
	clang $(ALL_CFLAGS) $< -o $@ $(TLS_LIBS)

# The QUICK START block of the header, compiled and run as it stands.
$(BUILD)/quick_start.c: smtpmail.h | $(BUILD)
	sed -n '/^<quick-start>$$/,/^<\/quick-start>$$/p' smtpmail.h | sed '1d;$$d' > $@

$(BUILD)/quick_start: $(BUILD)/quick_start.c
	$(CC) $(ALL_CFLAGS) $< -o $@ $(TLS_LIBS)

# The header as C++: API-only and with the implementation.
$(BUILD)/cpp_test: tests/cpp_test.cpp smtpmail.h | $(BUILD)
	$(CXX) -std=c++11 $(CXXWARN) -I. $< -o $@ $(TLS_LIBS)

# Two translation units: the implementation in one, the API in the other.
$(BUILD)/link_test: tests/link_impl.c tests/link_main.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) tests/link_impl.c tests/link_main.c -o $@ $(TLS_LIBS)

deps:
	@sh tests/deps.sh

test: deps
	@sh tests/run.sh "$(MAKE)" "$(PYTHON)"

demo: deps $(BUILD)/smtpmail-send
	@sh examples/demo.sh $(BUILD)/smtpmail-send "$(PYTHON)"

clean:
	rm -rf $(BUILD)

# Two threads rendering at once (POSIX threads).
$(BUILD)/thread_test: tests/thread_test.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -pthread $< -o $@ $(TLS_LIBS)

# The implementation's object must define nothing but smtpmail_ names.
$(BUILD)/link_impl.o: tests/link_impl.c smtpmail.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
