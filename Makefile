# raftops.etcd: `make demo` deploys a 3-member cluster on local test hosts; `make test` runs
# every gate (ruff, ansible-lint, ansible-test sanity, unit tests, Molecule scenarios).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTHON ?= python3
export PATH := $(BIN):$(PATH)
# The clone is the collection: collections/ansible_collections/raftops/etcd links back here.
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

# Molecule scenarios in two lanes that run side by side (tests/testbed/lanes.sh), balanced by their
# measured durations; `make molecule MOLECULE_LANES=pki` runs one scenario.
MOLECULE_LANES ?= "default hardening pki discovery recovery" "upgrade restore proxy maintenance membership"
SANITY_TREE := $(CURDIR)/.cache/sanity/ansible_collections/raftops/etcd
# prometheus brings promtool, which the unit tests run on the shipped alert rules.
SYSTEM_PACKAGES := podman runc debootstrap uidmap slirp4netns iptables shellcheck openssl prometheus

.PHONY: help deps system-deps venv lint ruff ansible-lint shellcheck sanity unit molecule test demo demo-destroy bench clean

help:
	@echo "make demo   - install what is needed, start 3 local test hosts, deploy a TLS etcd cluster on them"
	@echo "make test   - install what is needed and run ruff, ansible-lint, ansible-test sanity, unit tests, Molecule"
	@echo "make bench  - deploy timings (first deploy of 3 and 5 members, no-change re-run) with a task profile"

deps: system-deps venv

# Test hosts are systemd containers run by Podman; these come from Debian's packages.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

ruff: venv
	ruff check .

ansible-lint: venv
	ansible-lint --offline

# The test bed and bench scripts (ansible-test's shellcheck sees only what the collection ships).
shellcheck: system-deps
	shellcheck tests/testbed/*.sh tests/bench/*.sh

lint: ruff ansible-lint shellcheck

# ansible-test bootstraps pip into the virtual environments it creates with a get-pip script from
# a host our machines cannot reach; this puts the same pip version, from its PyPI wheel, in its place.
PIP_BOOTSTRAP_VERSION := 24.2
PIP_BOOTSTRAP_DIR := $(HOME)/.ansible/test/cache
PIP_BOOTSTRAP := $(PIP_BOOTSTRAP_DIR)/get_pip_$(subst .,_,$(PIP_BOOTSTRAP_VERSION)).py
PIP_WHEEL := $(PIP_BOOTSTRAP_DIR)/pip-$(PIP_BOOTSTRAP_VERSION)-py3-none-any.whl

$(PIP_WHEEL): | venv
	mkdir -p $(PIP_BOOTSTRAP_DIR)
	$(BIN)/pip download -q --disable-pip-version-check --no-deps -d $(PIP_BOOTSTRAP_DIR) pip==$(PIP_BOOTSTRAP_VERSION)

$(PIP_BOOTSTRAP): tests/sanity/get_pip.py.in $(PIP_WHEEL)
	sed "s|@WHEEL@|$(PIP_WHEEL)|" tests/sanity/get_pip.py.in > $@

# ansible-test checks what the collection ships (galaxy.yml's build_ignore leaves out the Molecule
# scenarios, which ruff checks), laid out at ansible_collections/<namespace>/<name>.
sanity: venv $(PIP_BOOTSTRAP)
	rm -rf $(SANITY_TREE) .cache/build && mkdir -p $(SANITY_TREE) .cache/build
	ansible-galaxy collection build --force --output-path .cache/build . >/dev/null
	tar -xzf .cache/build/raftops-etcd-*.tar.gz -C $(SANITY_TREE)
	# ansible-test lists a collection's files through git.
	cd $(SANITY_TREE) && git init -q && git add -A
	cd $(SANITY_TREE) && ansible-test sanity --color no --python 3.11 --requirements

unit: venv
	python -m pytest -q tests/unit

molecule: deps
	tests/testbed/lanes.sh $(MOLECULE_LANES)

test: deps lint sanity unit molecule

demo: deps
	tests/testbed/demo.sh

demo-destroy:
	tests/testbed/host.sh rm demo-host0 demo-host1 demo-host2
	rm -rf .cache/demo

bench: deps
	tests/bench/deploy.sh

clean:
	rm -rf .cache/sanity tests/output
