"""The one writer of the roles' systemd units (plugins/module_utils/host/systemd_unit.py): sections in
order, values escaped as systemd.syntax and systemd.unit read them, a value that would break the
unit refused, and the hardening the units share defined once."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host.systemd_unit import (
    HARDENING, SERVER_HARDENING, UnitError, comment, hardening, unit_text, word)


def test_sections_come_in_order_a_blank_line_apart_after_the_header():
    text = unit_text([("Unit", [("Description", "x"), comment("why\nand why again"), ("After", "a.service")]),
                      ("Install", [("WantedBy", "multi-user.target")])], "#\n# managed\n#")
    assert text == ("#\n# managed\n#\n[Unit]\nDescription=x\n# why\n# and why again\nAfter=a.service\n\n"
                    "[Install]\nWantedBy=multi-user.target\n")


def test_none_leaves_a_directive_out_and_an_empty_value_resets_it():
    text = unit_text([("Service", [("Persistent", None), ("CapabilityBoundingSet", ""), ("Nice", 10), ("Persistent", True),
                                   ("RemainAfterExit", False)])])
    assert text == "[Service]\nCapabilityBoundingSet=\nNice=10\nPersistent=true\nRemainAfterExit=false\n"


@pytest.mark.parametrize("argument, written", [
    ("/usr/local/bin/etcd", "/usr/local/bin/etcd"),
    # A specifier's % is doubled: systemd would expand %h, %n, ...
    ("--name=50%h", "--name=50%%h"),
    # A space, a quote or a backslash: one quoted word, its quote and backslash escaped (systemd.syntax).
    ("/srv/etcd data/wal", '"/srv/etcd data/wal"'),
    ("say \"hi\"", '"say \\"hi\\""'),
    ("C:\\etcd", '"C:\\\\etcd"'),
    ("it's", '"it\'s"'),
    ("", '""'),
])
def test_each_word_of_a_command_line_is_one_word_for_systemd(argument, written):
    assert word(argument) == written
    assert unit_text([("Service", [("ExecStart", ["/bin/echo", argument])])]) == "[Service]\nExecStart=/bin/echo %s\n" % written


def test_text_keeps_its_spaces_and_escapes_its_specifiers():
    assert unit_text([("Unit", [("Description", "etcd member a b at 100%")])]) == "[Unit]\nDescription=etcd member a b at 100%%\n"


def test_a_command_line_given_as_lines_goes_on_with_continuations():
    text = unit_text([("Service", [("ExecStart", [["/bin/etcd", "gateway", "start"], ["--a=1"], ["--b=two words"]])])])
    assert text == '[Service]\nExecStart=/bin/etcd gateway start \\\n    --a=1 \\\n    "--b=two words"\n'


@pytest.mark.parametrize("directive, message", [
    (("Description", "one\nExecStartPre=/bin/sh -c evil"), "a unit's value cannot hold a line break: 'one\\nExecStartPre=/bin/sh -c evil'"),
    (("ExecStart", ["/bin/echo", "a\rb"]), "a unit's value cannot hold a line break: 'a\\rb'"),
    (("Description", "ends with \\"), "Description=ends with \\: a unit's value cannot end with a backslash"),
])
def test_a_value_that_would_make_another_line_is_refused_by_name(directive, message):
    with pytest.raises(UnitError) as refused:
        unit_text([("Unit", [directive])])
    assert str(refused.value) == message


def test_hardening_is_one_set_the_servers_add_to_and_the_writable_paths_follow_protect_system():
    assert hardening() == list(HARDENING)
    assert hardening(["/var/backups/etcd", "-/var/lib/metrics"]) == [
        ("NoNewPrivileges", "true"), ("ProtectSystem", "strict"), ("ReadWritePaths", "/var/backups/etcd"),
        ("ReadWritePaths", "-/var/lib/metrics"), ("ProtectHome", "true"), ("PrivateTmp", "true"), ("PrivateDevices", "true")]
    server = hardening([["/var/lib/etcd", "/var/lib/etcd wal"]], server=True)
    assert server[len(HARDENING) + 1:] == list(SERVER_HARDENING)
    assert 'ReadWritePaths=/var/lib/etcd "/var/lib/etcd wal"\n' in unit_text([("Service", server)])
