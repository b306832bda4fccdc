# Two commands for a newcomer: `make run` (bot on SQLite + terminal) and `make test`.
# Each bootstraps .venv on first use and reinstalls only when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-now test-shifted lint typecheck bench clean i18n

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/tailorbot run

# `make test` runs the suite twice: as written, then with the process clock three years ahead
# (faketime; the monotonic clock stays real, or every timed wait would sleep for three years),
# in a far-off timezone and in random order, so no test can lean on today's date,
# the machine's timezone or the order tests run in. PYTEST_ARGS narrows both passes.
# (libfaketime 0.9.10 with a real monotonic clock makes time.sleep fail with EINVAL: tests wait
# with threading.Event().wait or asyncio instead. FAKETIME_FORCE_MONOTONIC_FIX=0: the workaround
# libfaketime turns on by itself for this glibc rewrites timed waits on a condition variable,
# which Python's threads make to take turns on the GIL; with it, tests/profiles on two workers
# took 95 s (50 s of system time) against 37 s (6 s) without, and the whole shifted pass 15 min
# against 3; a real monotonic clock needs no workaround.)
# Both passes spread the tests over the machine's cores (pytest-xdist: each worker has its own
# PostgreSQL database and SQLite files); WORKERS=0 runs them in this process (one test, pdb).
# The static checks (mypy, the import contracts: the `static` marker in pyproject.toml) read
# the source without running it, so the clock cannot change their verdict: the shifted pass
# leaves them out (-m "not static"; a -m of your own in PYTEST_ARGS replaces it), which saves
# ~50 s of one worker. When PYTEST_ARGS selects nothing else, that pass has nothing to run.
test: test-now test-shifted

WORKERS ?= auto
test-now: $(STAMP)
	$(BIN)/python -m pytest -p no:randomly -n $(WORKERS) $(PYTEST_ARGS)

SHIFT ?= +3y
test-shifted: $(STAMP)
	@if command -v faketime >/dev/null 2>&1; then \
		echo "== the same suite, clock $(SHIFT), TZ=Pacific/Kiritimati, random order, asyncio's event loop =="; \
		TZ=Pacific/Kiritimati FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_FORCE_MONOTONIC_FIX=0 \
			TAILORBOT_EVENT_LOOP=asyncio \
			faketime -f '$(SHIFT)' $(BIN)/python -m pytest -p randomly -n $(WORKERS) \
				-m "not static" $(PYTEST_ARGS) || { status=$$?; [ $$status -eq 5 ] || exit $$status; \
				echo "(nothing left for the shifted pass: static checks run in the first only)"; }; \
	elif [ "$${CI:-}" = "true" ]; then \
		echo "faketime is missing: CI must run the time-shifted pass (apt-get install faketime)"; exit 1; \
	else \
		echo "skipping the time-shifted pass: install faketime (Debian: apt-get install faketime)"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --no-cache

# MovieLens-100k for the offline evaluation ships inside the recbole wheel; it is read from
# site-packages at run time and never copied into this repository (its licence forbids it).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps recbole==1.2.1
	$(BIN)/python -m bench $(BENCH_ARGS)

# Re-extract the bot's texts, merge them into every catalog, compile the .mo files (committed,
# so a fresh checkout needs no build step; tests/bot/test_i18n.py fails when one is stale).
LOCALES := bot/locales
i18n: $(STAMP)
	$(BIN)/pybabel extract --no-default-keywords -k N_ -k t -k nt:1,2 -F babel.cfg \
		--sort-by-file --omit-header --add-location=file --no-wrap -o $(LOCALES)/tailorbot.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --no-wrap --ignore-pot-creation-date -i $(LOCALES)/tailorbot.pot -d $(LOCALES) -D tailorbot
	$(BIN)/pybabel compile --statistics -d $(LOCALES) -D tailorbot

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
