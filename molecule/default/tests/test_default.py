"""Trivial checks of the test hosts until the role's own verifier replaces them."""


def test_systemd_is_pid_1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_sshd_is_running(host):
    assert host.service("ssh").is_running


def test_python3_is_present(host):
    assert host.exists("python3")
