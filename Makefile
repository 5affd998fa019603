# m2m-auth — two commands on a fresh machine: `make local` and `make test`.
# Both create .venv from nothing but Python 3.11 and never reach AWS.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8000
# The web console of `make local` (0: any free port).
CONSOLE_PORT ?= 8002
# `make local`'s TLS port with client certificates (docs/mtls.md; 0: any free port, off: none).
MTLS_PORT ?= 8443
# `make docs`: the documentation site on 127.0.0.1 (mkdocs serve).
DOCS_PORT ?= 8003

# Never reach AWS from a developer machine or CI: fake credentials, a fixed
# region, no instance-metadata lookups, no endpoint overrides from the shell.
OFFLINE_ENV := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	AWS_SESSION_TOKEN=testing AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 \
	AWS_EC2_METADATA_DISABLED=true AWS_PROFILE= AWS_CONFIG_FILE=/dev/null \
	AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ENDPOINT_URL= \
	AWS_ENDPOINT_URL_DYNAMODB= AWS_ENDPOINT_URL_KMS=

.PHONY: local test lint unit docs api-reference clean axe screenshots

$(STAMP): requirements.txt requirements-dev.txt client/pyproject.toml
	@echo "Setting up $(VENV): installing the pinned dependencies of requirements-dev.txt"
	@echo "(Chalice, boto3, moto, the test tools, ./client with the m2m CLI)."
	@echo "The first time this takes one to three minutes, quietly; it runs again only"
	@echo "when a requirements file changes."
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)
	@echo "Done: $(VENV) is ready ($(VENV)/bin/m2m is the admin CLI)."

local: $(STAMP)
	@env $(OFFLINE_ENV) PORT=$(PORT) CONSOLE_PORT=$(CONSOLE_PORT) MTLS_PORT=$(MTLS_PORT) \
		$(PY) -m infra.local

# `mkdocs build --strict` fails on a broken link, a missing nav page or an unknown
# anchor; the site goes to site/ (ignored), which `make docs` never needs. Never add
# --quiet: mkdocs 1.6 then drops the warnings before --strict counts them.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

test: lint
	@echo "pytest (offline: fake AWS credentials, no endpoints)"
	@env $(OFFLINE_ENV) $(PY) -m pytest

# The fast part of the suite: protocol rules on in-memory fakes (seconds, no servers).
unit: $(STAMP)
	@env $(OFFLINE_ENV) $(PY) -m pytest tests/unit

# The documentation site (docs/, mkdocs.yml) on http://127.0.0.1:$(DOCS_PORT), rebuilt
# on every change; Ctrl-C stops it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT)

# docs/admin-api-reference.md from chalicelib/openapi.json (a unit test checks it is current).
api-reference: $(STAMP)
	$(PY) -m infra.api_reference

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site

# axe-core (npm, pinned by its package-lock.json) for the console's accessibility test;
# installed once, then used offline. Never shipped: the console has no third-party code.
AXE := client/tests/axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE): client/tests/axe/package.json client/tests/axe/package-lock.json
	npm ci --prefix client/tests/axe --no-audit --no-fund --ignore-scripts
	touch $(AXE)

# docs/console-*.png from a fresh local server in headless chromium (/usr/bin/chromium).
screenshots: $(STAMP)
	@env $(OFFLINE_ENV) $(PY) client/scripts/console_screenshots.py

# Deployment to AWS (docs/deploy.md). STAGE is a stage of .chalice/config.json.
# `package` never talks to AWS; `deploy` and `destroy` use your AWS credentials
# and region (AWS_PROFILE, AWS_REGION), unlike every target above.
STAGE ?= dev
# `make destroy YES=1` deletes without asking (needed without a terminal).
DESTROY_FLAGS := $(if $(YES),--yes,)

.PHONY: package deploy destroy promote

# A multi-region stage packages one region at a time: `make package REGION=us-east-1`.
package: $(STAMP)
	@$(PY) -m infra.package --stage $(STAGE) $(if $(REGION),--region $(REGION),)

deploy: $(STAMP)
	@$(PY) -m infra.deploy deploy --stage $(STAGE)

destroy: $(STAMP)
	@$(PY) -m infra.deploy destroy --stage $(STAGE) $(DESTROY_FLAGS)

# Multi-region: admin writes go to REGION while the home region is down
# (docs/multi-region.md, "Failover drill").
promote: $(STAMP)
	@$(PY) -m infra.promote --stage $(STAGE) --region $(REGION)
