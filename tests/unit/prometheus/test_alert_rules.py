"""The shipped Prometheus alert rules and Grafana dashboard: promtool checks and unit-tests the
rules (the *.test.yml files here), every alert fires and stays quiet in some test, and every
metric the rules and the dashboard read is one etcd really exports."""

import glob
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RULES = os.path.join(ROOT, "roles", "etcd", "files", "prometheus", "etcd-alerts.yml")
DASHBOARD = os.path.join(ROOT, "roles", "etcd", "files", "grafana", "etcd-dashboard.json")
MONITORING_DOC = os.path.join(ROOT, "docs", "monitoring.md")
TESTS = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "*.test.yml")))

# Metric names as etcd 3.4 to 3.6 register them (server, WAL, backend and mvcc metrics), read in
# etcd's source and changelogs. etcd_debugging_server_alarms exists from 3.6 on only. etcd exports
# no certificate expiry. `up` is Prometheus's own, per scrape target.
ETCD_METRICS = {
    "etcd_server_has_leader",
    "etcd_server_is_leader",
    "etcd_server_leader_changes_seen_total",
    "etcd_server_proposals_failed_total",
    "etcd_server_proposals_pending",
    "etcd_server_proposals_committed_total",
    "etcd_server_proposals_applied_total",
    "etcd_server_quota_backend_bytes",
    "etcd_server_id",
    "etcd_debugging_server_alarms",
    "etcd_disk_wal_fsync_duration_seconds_bucket",
    "etcd_disk_backend_commit_duration_seconds_bucket",
    "etcd_mvcc_db_total_size_in_bytes",
    "etcd_mvcc_db_total_size_in_use_in_bytes",
}
PROMETHEUS_METRICS = {"up"}
# The collection's own, written on the members for node_exporter's textfile collector by the push and
# the drill (write_metrics: raftops_etcd_backup_ and the sample's name).
BACKUP_SCRIPTS = [os.path.join(ROOT, "roles", "etcd", "files", name) for name in ("etcd_backup_push.py", "etcd_backup_drill.py")]
BACKUP_PREFIX = "raftops_etcd_backup_"

PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr):
    """The metric names a PromQL expression reads (no full parser: enough for these files)."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\$\w+", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = re.findall(r"(?<![\w:.])[A-Za-z_:][\w:]*(?![\w:])(?!\s*\()", expr)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def promtool(*args):
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: `make deps` installs it (Debian package prometheus)")
    result = subprocess.run([path, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def alert_rules():
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def dashboard_queries(dash):
    """Every panel query, and the variables' queries with label_values' label argument left out."""
    queries = [target["expr"] for panel in dash["panels"] for target in panel.get("targets", [])]
    for variable in dash["templating"]["list"]:
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        queries.append(re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", query))
    return queries


def test_promtool_checks_the_rules():
    promtool("check", "rules", RULES)


def test_promtool_unit_tests_pass():
    assert TESTS, "no *.test.yml beside this file"
    promtool("test", "rules", *TESTS)


def test_every_alert_fires_and_stays_quiet_in_a_unit_test():
    fired, quiet = set(), set()
    for path in TESTS:
        for group in load_yaml(path)["tests"]:
            for case in group.get("alert_rule_test", []):
                expected = case.get("exp_alerts") or []
                fired.update((case["alertname"], alert["exp_labels"]["severity"]) for alert in expected)
                if not expected:
                    quiet.add(case["alertname"])
    rules = {(rule["alert"], rule["labels"]["severity"]) for rule in alert_rules()}
    assert sorted(rules - fired) == []
    assert sorted({alert for alert, _severity in rules} - quiet) == []


def test_every_alert_has_a_for_a_severity_and_says_what_to_do():
    for rule in alert_rules():
        assert rule.get("for"), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description"}, rule["alert"]
        assert "{{ $labels.cluster }}" in rule["annotations"]["summary"], rule["alert"]


def backup_metrics():
    """The metric names the push and the drill write: the name of each sample, ("name", value, {labels}), in their source."""
    source = ""
    for path in BACKUP_SCRIPTS:
        with open(path) as script:
            source += script.read()
    return {BACKUP_PREFIX + name for name in re.findall(r'\(\s*"(\w+)",[^\n]*?, (?:\{\}|dict\(\w+=)', source)}


def test_rules_read_only_metrics_etcd_or_the_backup_scripts_export():
    used = set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))
    assert sorted(used - ETCD_METRICS - PROMETHEUS_METRICS - backup_metrics()) == []
    assert {name for name in used if name.startswith(BACKUP_PREFIX)} <= backup_metrics()


def test_metric_names_finds_metrics_not_functions_or_labels():
    expr = 'histogram_quantile(0.99, sum by (cluster, le) (rate(a_bucket{job="etcd"}[5m]))) > 0.01 and b > 0'
    assert metric_names(expr) == {"a_bucket", "b"}


def test_dashboard_reads_only_known_metrics():
    used = set().union(*(metric_names(query) for query in dashboard_queries(dashboard())))
    rules_metrics = set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))
    assert sorted(used - rules_metrics - ETCD_METRICS - PROMETHEUS_METRICS) == []


def test_dashboard_queries_are_valid_promql(tmp_path):
    # promtool parses PromQL in rule files: each query becomes a recording rule, with Grafana's
    # variables replaced by values.
    queries = [q.replace("$__rate_interval", "5m").replace("$cluster", "etcd") for q in dashboard_queries(dashboard())]
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"q{i}", "expr": q} for i, q in enumerate(queries)]}]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    promtool("check", "rules", str(path))


def datasources(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            yield from datasources(value)
    elif isinstance(node, list):
        for item in node:
            yield from datasources(item)


def test_dashboard_takes_its_datasource_as_an_input():
    dash = dashboard()
    assert [i["name"] for i in dash["__inputs"]] == ["DS_PROMETHEUS"]
    sources = list(datasources(dash))
    assert sources and all(source == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"} for source in sources)


def test_monitoring_guide_lists_every_alert():
    with open(MONITORING_DOC) as f:
        guide = f.read()
    assert sorted(rule["alert"] for rule in alert_rules() if f"`{rule['alert']}`" not in guide) == []
