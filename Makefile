# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
SOCKETIO_CLIENT_VERSION := 4.8.4

.PHONY: run test lint vendor bench soak cluster clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime $@

## make run: install, upgrade the schema, serve on http://$(HOST):$(PORT) (app.py; eventlet
## unless ASYNC_MODE=gevent); it prints the address once it accepts connections
run: $(VENV)/.runtime
	$(BIN)/flask --app fitness_app db upgrade
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python app.py

## make cluster: WORKERS gunicorn workers behind nginx on http://127.0.0.1:$(PORT), for local
## trials of the production layout (deploy/); needs DATABASE_URL (PostgreSQL) and REDIS_URL
cluster: $(VENV)/.runtime
	$(BIN)/python -m deploy.cluster --workers $(WORKERS) --port $(PORT)

## make bench: the standard performance set, each app figure beside the bare server's
## (docs/performance.md, under 10 minutes); BENCH_ARGS="--help" lists the bigger runs
bench: $(VENV)/.dev bench/node_modules/.package-lock.json
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## make soak: three minutes of load on two workers with killed workers, Redis and PostgreSQL
## stopped (bench/soak.py, private servers), with push devices, reminders due at the kills and
## an import cut by one; prints the invariants and figures per fault
soak: $(VENV)/.dev
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

bench/node_modules/.package-lock.json: bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund --silent

## make test: install the test tools and run every test
test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .

## make vendor: refresh the bundled socket.io client from the npm registry
vendor:
	rm -rf .vendor-tmp && mkdir .vendor-tmp
	cd .vendor-tmp && npm pack --silent socket.io-client@$(SOCKETIO_CLIENT_VERSION) >/dev/null && tar xzf socket.io-client-$(SOCKETIO_CLIENT_VERSION).tgz
	cp .vendor-tmp/package/dist/socket.io.min.js static/vendor/socket.io.min.js
	cp .vendor-tmp/package/LICENSE static/vendor/socket.io.LICENSE
	printf 'socket.io-client %s (npm package dist/socket.io.min.js); refresh with make vendor\n' $(SOCKETIO_CLIENT_VERSION) > static/vendor/README.md
	rm -rf .vendor-tmp

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
