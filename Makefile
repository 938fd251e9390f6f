# Makefile for handle_market (PGXS).
#
#   make / make install      build and install the extension
#   make installcheck        every server suite against a running server
#                            (doc/development.md; CRASH_TESTS=1 adds the
#                            suites that crash it, SUITES= picks some)
#   make test                everything, on a fresh machine (see README.md)
#   make demo                the extension at work on a throw-away cluster
#   make bench               benchmark ratios (bench/)
#   make unit / make fuzz    core unit tests / libFuzzer smoke, no server

EXTENSION = handle_market
# The version lives in one place, the control file's default_version.
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = handle_market
CORE_SRCS = $(addprefix src/core/, utf8.c unicode_chars.c bidi_rule.c \
	normalize.c confusable.c profiles.c icu_support.c lifecycle.c \
	money.c decay.c pricing.c row_rules.c)
GLUE_SRCS = $(addprefix src/, handle_market.c handle_type.c \
	handle_functions.c unicode_versions.c lifecycle_sql.c guard.c \
	sweep_sql.c touch.c activity_lock.c policy_cache.c pricing_sql.c \
	spi_plan.c ledger.c market.c escrow.c quote.c refuse.c outbox_notify.c row_rules_sql.c \
	server_time.c)
OBJS = $(CORE_SRCS:.c=.o) $(GLUE_SRCS:.c=.o)

# The current version's install script is built from src/sql/*.sql; every
# released version's install script and every update script are frozen in
# versions/ (see CHANGELOG.md).
SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(filter-out versions/$(EXTENSION)--$(EXTVERSION).sql,$(wildcard versions/$(EXTENSION)--*.sql))

REGRESS = handle_type handle_errors handle_index confusable_key \
	check_handle unicode_versions encodings lifecycle
REGRESS_OPTS = --load-extension=$(EXTENSION)
ISOLATION = confusable_unique touch_vs_release restore_twice release_runs_concurrent \
	market_two_buyers market_same_key market_cross_buy market_one_wallet \
	market_buy_vs_lifecycle outbox_notify outbox_cursor retry_twice request_same_key touch_vs_settle \
	history_partition_vs_write $(AUCTION_SPECS)
# auctions, offers and escrow (test/specs/auction_*.spec, offer_*.spec)
AUCTION_SPECS = auction_two_bidders auction_bid_vs_settle auction_extend_vs_settle \
	offer_accept_vs_buy offer_accept_vs_withdraw settle_vs_market_deadlock
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION)

# PGXS's installcheck runs pg_regress and the isolation tests only; ours
# (below) runs every server suite, so PGXS must not define its own.
NO_INSTALLCHECK = 1
# The server suites in the order `make installcheck` runs them
# (test/installcheck.sh); the last three crash the server, so they run only
# when asked for, on a server nobody else uses.
SERVER_SUITES = regress isolation pgtap dump_roundtrip roles readme rekey drivers upgrade
CRASH_SUITES = crash_resume ledger_fault market_random
SUITES = $(SERVER_SUITES) $(if $(filter 1,$(CRASH_TESTS)),$(CRASH_SUITES))

PG_CONFIG ?= pg_config

ICU_CFLAGS := $(shell pkg-config --cflags icu-uc icu-i18n 2>/dev/null)
ICU_LIBS := $(shell pkg-config --libs icu-uc icu-i18n 2>/dev/null)
WARNINGS = -Wall -Wextra -Werror
# PostgreSQL's headers are read as system headers, so that -Wextra judges
# only our own code.
PG_CPPFLAGS = -I$(srcdir)/src $(ICU_CFLAGS) \
	-isystem $(shell $(PG_CONFIG) --includedir-server 2>/dev/null)
PG_CFLAGS = $(WARNINGS)
SHLIB_LINK = $(ICU_LIBS)

EXTRA_CLEAN = test/unit/test_core test/unit/test_pricing test/unit/test_row_rules test/fuzz/fuzz_handle \
	test/fuzz/corpus.work \
	results/ regression.diffs regression.out output_iso/ .deps-ok

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

.PHONY: test demo bench unit fuzz deps installcheck installcheck-regress installcheck-isolation

# Against the server PGHOST, PGPORT and PGUSER (a superuser) name, as PGXS's
# installcheck; test/installcheck.sh runs each suite, with a count line per
# suite and a total.  '+': the script runs make again (installcheck-regress).
installcheck:
	+@CRASH_TESTS='$(CRASH_TESTS)' bash test/installcheck.sh $(SUITES)

installcheck-regress:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

installcheck-isolation:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)

deps:
	bash scripts/install_deps.sh

test:
	bash scripts/run_tests.sh

demo:
	bash scripts/demo.sh

bench:
	bash bench/run.sh

UNIT_CC ?= gcc
UNIT_TESTS = test/unit/test_core test/unit/test_pricing test/unit/test_row_rules
# source checks that need no server: the HM error codes (src/errcodes.h)
UNIT_SCRIPTS = test/unit/errcodes.sh
# Runs every unit test program and script and ends with the total, "unit: N
# passed, M failed" (the line scripts/run_tests.sh reads); a program that
# exits non-zero without reporting a failure (a sanitizer abort) counts as one.
unit: $(UNIT_TESTS)
	@p=0; f=0; for t in $(UNIT_TESTS) $(UNIT_SCRIPTS); do \
		out=$$($$t 2>&1); rc=$$?; printf '%s\n' "$$out"; \
		line=$$(printf '%s\n' "$$out" | grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed$$' | tail -1); \
		tp=$$(echo "$$line" | awk '{print $$2}'); tf=$$(echo "$$line" | awk '{print $$4}'); \
		if [ -z "$$line" ] || { [ $$rc -ne 0 ] && [ "$$tf" -eq 0 ]; }; then \
			echo "$$t: exited with status $$rc"; tp=$${tp:-0}; tf=$$((tf + 1)); \
		fi; \
		p=$$((p + tp)); f=$$((f + tf)); \
	done; echo "unit: $$p passed, $$f failed"; [ $$f -eq 0 ]

test/unit/test_core: test/unit/test_core.c $(CORE_SRCS) $(wildcard src/core/*.h)
	$(UNIT_CC) -std=c11 -O1 -g $(WARNINGS) -fsanitize=address,undefined \
		-o $@ test/unit/test_core.c $(CORE_SRCS) $(ICU_CFLAGS) $(ICU_LIBS)

test/unit/test_pricing: test/unit/test_pricing.c $(wildcard src/core/*.h) \
		$(addprefix src/core/, money.c decay.c pricing.c)
	$(UNIT_CC) -std=c11 -O1 -g $(WARNINGS) -fsanitize=address,undefined \
		-o $@ test/unit/test_pricing.c \
		$(addprefix src/core/, money.c decay.c pricing.c) -lm

test/unit/test_row_rules: test/unit/test_row_rules.c src/core/row_rules.c src/core/row_rules.h
	$(UNIT_CC) -std=c11 -O1 -g $(WARNINGS) -fsanitize=address,undefined \
		-o $@ test/unit/test_row_rules.c src/core/row_rules.c

FUZZ_SECONDS ?= 30
fuzz: test/fuzz/fuzz_handle
	mkdir -p test/fuzz/corpus.work
	test/fuzz/fuzz_handle -max_total_time=$(FUZZ_SECONDS) -max_len=512 \
		-print_final_stats=1 test/fuzz/corpus.work test/fuzz/seeds

test/fuzz/fuzz_handle: test/fuzz/fuzz_handle.c $(CORE_SRCS) $(wildcard src/core/*.h)
	clang -std=c11 -O1 -g $(WARNINGS) -fsanitize=fuzzer,address,undefined \
		-o $@ test/fuzz/fuzz_handle.c $(CORE_SRCS) $(ICU_CFLAGS) $(ICU_LIBS)
