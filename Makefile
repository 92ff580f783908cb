# raftops.etcd: `make demo` deploys a 3-member cluster on local test hosts; `make test` runs
# every gate (ruff, ansible-lint, the execution environment check, ansible-test sanity, unit tests,
# Molecule scenarios).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTHON ?= python3
export PATH := $(BIN):$(PATH)
# The clone is the collection: collections/ansible_collections/raftops/etcd links back here.
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Python keeps the bytecode of the collection's plugins (__pycache__, which git and the build leave
# out), as on an operator's controller: where the environment sets PYTHONDONTWRITEBYTECODE, every
# task's process would compile the plugins it loads from source again, each run.
unexport PYTHONDONTWRITEBYTECODE

# `make molecule`: every scenario with every test, in two lanes that run side by side
# (tests/testbed/lanes.sh), balanced by their whole durations (lanes.sh prints each scenario's and each
# lane's at the end), in minutes, measured 2026-11-29 with the lanes as below (the machine's speed varies
# two to three times between days): restore 12.3, pki 8.1, hardening 4.7, membership 6.3, discovery 4.5,
# maintenance 3.8, adopt_bookworm about 10, pitr about 4, bigdata about 6 | proxy 8.5, default 8.4,
# upgrade 6.1, adopt 10.2, recovery about 7, adopt_container about 11, container about 15 (loaded),
# adopt_docker about 10, container_docker about 10, chaos (the fault campaign's sample) about 4, last as it varies most. `make test` and `make test-full` run their own
# lanes (tests/testbed/suite.sh). `make molecule MOLECULE_LANES=pki` runs one scenario, every test.
MOLECULE_LANES ?= "restore pki hardening membership discovery maintenance adopt_bookworm pitr bigdata container_docker" "proxy default upgrade adopt recovery adopt_container container adopt_docker chaos"
SANITY_TREE := $(CURDIR)/.cache/sanity/ansible_collections/raftops/etcd
# prometheus brings promtool, which the unit tests run on the shipped alert rules.
SYSTEM_PACKAGES := podman runc debootstrap uidmap slirp4netns iptables shellcheck openssl prometheus

.PHONY: help deps system-deps venv lint ruff ansible-lint shellcheck ee sanity unit molecule test test-full compat chaos demo demo-destroy bench bench-data clean

help:
	@echo "make demo   - install what is needed, start 3 local test hosts, deploy a TLS etcd cluster on them"
	@echo "make test   - install what is needed, run every check and each scenario without its tests marked full (each operation walked once), then a timing table: what CI runs"
	@echo "make test-full - the same with every test of every scenario and the fault campaign's sample: run it for the scenarios that walk a path you change"
	@echo "make compat - the unit tests and the default scenario on the lowest ansible-core that meta/runtime.yml admits (make test runs the highest)"
	@echo "make ee     - write the build context of the execution environment in docs/ee/ and check this collection's requirements reach it"
	@echo "make chaos  - the seeded fault campaign (docs/chaos.md): make chaos SEED=1234 CASES=40; one case alone: CASE=7, several: CASE=7,12"
	@echo "make bench  - deploy timings: the floors (a first deploy, a no-change run), then first deploy, no-change re-run and --check of 3, 5 and 7 members, with task profiles, ansible-core's floor of each run's shape, and ratios"
	@echo "make bench-data - day-2 operations on a keyspace of pod-like objects (BENCH_DATA_MIB, default 1024) beside etcd's own tools: backup, restore, defragmentation, a learner, a drill, the re-run; ratios and peak memory; then a point-in-time restore an hour (BENCH_PITR_RATE writes a second, default 100) after the last full backup, by its parts"

# Both download (Debian's packages, PyPI) and neither needs the other: side by side.
deps:
	$(MAKE) --no-print-directory -j2 system-deps venv

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

# The execution environment of docs/ee/execution-environment.yml, as far as it goes without a
# container runtime or network: ansible-builder writes its build context around this collection's
# tarball, then the two steps the image build runs on that context are run here: the collection
# install from the context's requirements.yml, and the context's own introspect script, which
# collects the Python and system requirements that collections declare in their
# meta/execution-environment.yml. What comes out for raftops.etcd must be exactly
# meta/ee-requirements.txt and meta/ee-bindep.txt, cryptography and dnspython among them.
EE_DIR := .cache/ee
EE_FROM := \s*\# from collection raftops\.etcd$$

ee: venv
	rm -rf $(EE_DIR) && mkdir -p $(EE_DIR)
	cp docs/ee/execution-environment.yml $(EE_DIR)/
	ansible-galaxy collection build --force --output-path $(EE_DIR) . >/dev/null
	mv $(EE_DIR)/raftops-etcd-*.tar.gz $(EE_DIR)/raftops-etcd.tar.gz
	ansible-builder create -f $(EE_DIR)/execution-environment.yml -c $(EE_DIR)/context >$(EE_DIR)/create.log 2>&1 \
	  || { cat $(EE_DIR)/create.log; exit 1; }
	cd $(EE_DIR)/context/_build && ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(EE_DIR)/collections ANSIBLE_GALAXY_DISABLE_GPG_VERIFY=1 \
	  ansible-galaxy collection install --offline -r requirements.yml -p $(CURDIR)/$(EE_DIR)/collections >/dev/null
	python $(EE_DIR)/context/_build/scripts/introspect.py introspect --write-pip=$(EE_DIR)/requirements.txt \
	  --write-bindep=$(EE_DIR)/bindep.txt $(EE_DIR)/collections >$(EE_DIR)/introspect.log
	# Without a system requirement (meta/ee-bindep.txt has comments only) introspect writes no bindep.txt.
	touch $(EE_DIR)/bindep.txt
	for f in requirements bindep; do \
	  sed -e 's/\s*#.*//' -e '/^\s*$$/d' meta/ee-$$f.txt | sort >$(EE_DIR)/declared-$$f.txt; \
	  sed -n 's/$(EE_FROM)//p' $(EE_DIR)/$$f.txt | sort >$(EE_DIR)/introspected-$$f.txt; \
	  diff -u --label meta/ee-$$f.txt --label "execution environment" $(EE_DIR)/declared-$$f.txt $(EE_DIR)/introspected-$$f.txt; \
	done
	for p in cryptography dnspython; do \
	  grep -Eq "^$$p([^A-Za-z0-9._-]|$$)" $(EE_DIR)/introspected-requirements.txt || { echo "ee: $$p is not in the execution environment"; exit 1; }; \
	done
	@echo "ee: the execution environment gets $$(cat $(EE_DIR)/introspected-requirements.txt $(EE_DIR)/introspected-bindep.txt | paste -sd' ') from raftops.etcd"

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

# `make test` (what CI runs, within 40 minutes on a 2-core machine): every check, then each
# scenario with its tests marked `full` left out (each operation is walked once), and a timing table
# at the end. `make test-full`: every scenario and every test, the fault campaign's sample (chaos)
# included; whoever changes a path runs it (or `make molecule MOLECULE_LANES=SCENARIO`) for the
# scenarios that walk it. Both run every check and scenario whatever an earlier one gave, so one run
# reports every failure (tests/testbed/suite.sh). The checks run one after another beside the test
# bed's preparation: the lanes keep both cores busy, so checks beside them slowed them as much.
test: deps
	tests/testbed/suite.sh short

test-full: deps
	tests/testbed/suite.sh full

# `make compat`: the unit tests and one scenario (default, every test) on the lowest ansible-core that
# meta/runtime.yml's requires_ansible admits, in a venv of its own; `make test` runs the pinned one, the
# highest of the range on this Python (ansible-core 2.20 needs Python 3.12 on the controller).
COMPAT_CORE := $(shell sed -n 's/^requires_ansible: ">=\([0-9.]*\).*/\1/p' meta/runtime.yml)
COMPAT_BIN := $(CURDIR)/.cache/venv-compat/bin
compat: system-deps
	$(PYTHON) -m venv .cache/venv-compat
	sed 's/^ansible-core==.*/ansible-core==$(COMPAT_CORE)/' requirements-dev.txt > .cache/venv-compat/requirements.txt
	$(COMPAT_BIN)/pip install -q --disable-pip-version-check -r .cache/venv-compat/requirements.txt
	PATH=$(COMPAT_BIN):$$PATH ansible --version | head -1
	PATH=$(COMPAT_BIN):$$PATH python -m pytest -q tests/unit
	tests/testbed/prepare.sh
	PATH=$(COMPAT_BIN):$$PATH tests/testbed/lanes.sh default

# The seeded fault campaign on the hosts of molecule/chaos (`make test` runs its fixed sample):
# every case is printed, then a table per operation and fault, also written to .cache/chaos/.
SEED ?= $(shell date +%s)
CASES ?= 40
CASE ?=
# BEFORE=1/8,...: regression cases replayed first, on the same hosts, each recorded in its seed's journal.
BEFORE ?=
# UNTIL=HH:MM (UTC): no case starts after it; `make chaos` again with the same SEED and CASES goes on
# with the cases its journal (.cache/chaos/journal-SEED.jsonl) does not record yet.
UNTIL ?=
chaos: deps
	tests/testbed/prepare.sh
	CHAOS_SEED=$(SEED) CHAOS_CASES=$(CASES) CHAOS_CASE=$(CASE) CHAOS_BEFORE=$(BEFORE) CHAOS_UNTIL=$(UNTIL) molecule test -s chaos

demo: deps
	tests/testbed/demo.sh

demo-destroy:
	tests/testbed/host.sh rm demo-host0 demo-host1 demo-host2
	rm -rf .cache/demo

bench: deps
	tests/bench/deploy.sh

bench-data: deps
	tests/bench/data.sh
	tests/bench/pitr.sh

clean:
	rm -rf .cache/sanity .cache/ee tests/output
