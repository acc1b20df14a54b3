# renalpath — `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NATIVE := $(VENV)/.native-stamp
# The pathway engine's hot modules, compiled with mypyc (setup.py; bench/RESULTS.md round 6).
NATIVE_SRC := $(addprefix src/renalpath/pathway/,conditions.py derive.py merge.py plan.py evaluate.py settle.py safety.py choice.py)

.PHONY: run test lint typecheck unit bench install clean demo axe fhir-validator

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=77' wheel
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Rebuilt whenever one of its sources changes; an out-of-date build is never used anyway
# (renalpath/pathway/_native.py runs the source instead and warns).
$(NATIVE): $(STAMP) setup.py $(NATIVE_SRC)
	RENALPATH_NATIVE=1 $(BIN)/python setup.py --quiet build_ext --inplace >$(VENV)/native-build.log 2>&1 \
	  || { tail -n 40 $(VENV)/native-build.log; exit 1; }
	@touch $(NATIVE)

install: $(STAMP) $(NATIVE)

run: install
	$(BIN)/renalpath serve --demo

demo: install
	$(BIN)/renalpath calc egfr --creatinine 1.35 --unit mg/dL --age 64 --sex male --equation mdrd

lint: install
	$(BIN)/ruff check src tests bench docs setup.py
	$(BIN)/ruff format --check src tests bench docs setup.py

typecheck: install
	$(BIN)/mypy

# axe-core (npm, pinned by tests/web/axe/package-lock.json) for the browser accessibility
# scan; without npm the scan is skipped and says so.
AXE := tests/web/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/web/axe/package.json tests/web/axe/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/web/axe --no-audit --no-fund --silent; \
	  else echo "npm not found: the accessibility scan (tests/web/test_a11y.py) will be skipped"; fi

axe: $(AXE)

# Medplum's FHIR validator + the mCODE package (tools/fhir-validator); skipped without Node.js
# (the FHIR validation tests then skip too, unless RENALPATH_REQUIRE_FHIR_VALIDATOR=1).
fhir-validator:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  tools/fhir-validator/setup.sh; \
	else echo "fhir-validator: node/npm not found; FHIR validation tests will skip"; fi

# pytest-xdist: one worker per core, whole files per worker (module fixtures are built once);
# `make unit PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= auto
unit: install axe fhir-validator
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

# The type check (one core, ≈ 20 s without a cache) runs beside the tests, which leave part of
# the second core idle while they wait on the browser, PostgreSQL and child processes.
test: lint
	@$(MAKE) --no-print-directory -j2 typecheck unit

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build
	rm -rf tools/fhir-validator/node_modules tools/fhir-validator/mcode
	rm -f src/*.so src/renalpath/pathway/*.so src/renalpath/pathway/_native.json
