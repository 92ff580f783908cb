"""plan filters: installed_local_endpoint (where a host's own etcd listens), and the deprecated
member_plan and roll_order, which give module_utils/etcd_plan.py's answers and its errors as
filter errors."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.raftops.etcd.plugins.filter import plan as plan_filters
from ansible_collections.raftops.etcd.plugins.filter.plan import installed_local_endpoint, member_plan, roll_order


def test_the_filters_are_registered():
    assert plan_filters.FilterModule().filters() == {
        "installed_local_endpoint": installed_local_endpoint, "member_plan": member_plan, "roll_order": roll_order}


def test_the_deprecated_filters_answer_as_the_plan_does():
    members = [dict(host="h0", name="m0", peer_url="https://10.0.0.10:2380", client_url="https://10.0.0.10:2379")]
    assert member_plan(members, {"h0": dict(info={}, local={}, wanted={})})["new"] == ["h0"]
    assert roll_order(["h0", "h1"], {"h0": True, "h1": True}, "m0", members) == ["h1", "h0"]


def test_the_plan_s_errors_are_filter_errors():
    with pytest.raises(AnsibleFilterError, match="facts must be a dict"):
        member_plan([], [])
    with pytest.raises(AnsibleFilterError, match="restart_due must be a dict"):
        roll_order([], [], "", [])


# --- installed_local_endpoint ----------------------------------------------------------------------

DEFAULT = "https://127.0.0.1:2379"


@pytest.mark.parametrize("settings, endpoint", [
    ({"ETCD_LISTEN_CLIENT_URLS": "https://10.0.0.1:2379,https://127.0.0.1:2379"}, "https://127.0.0.1:2379"),
    ({"ETCD_LISTEN_CLIENT_URLS": "http://10.0.0.1:4001,http://127.0.0.1:4001,https://127.0.0.1:2379"}, "http://127.0.0.1:4001"),
    ({"ETCD_LISTEN_CLIENT_URLS": "https://127.0.0.1:2999"}, "https://127.0.0.1:2999"),
])
def test_the_member_is_asked_on_the_loopback_url_it_listens_on(settings, endpoint):
    assert installed_local_endpoint(settings, DEFAULT) == endpoint


@pytest.mark.parametrize("settings", [
    {}, None, {"ETCD_LISTEN_CLIENT_URLS": ""}, {"ETCD_LISTEN_CLIENT_URLS": None},
    {"ETCD_LISTEN_CLIENT_URLS": "https://10.0.0.1:2379"},
    # Taken as etcd_host_info read them: an item with a space before it is no loopback URL.
    {"ETCD_LISTEN_CLIENT_URLS": "https://10.0.0.1:2379, https://127.0.0.1:2379"},
    {"ETCD_LISTEN_CLIENT_URLS": "https://127.0.0.10:2379,unix://127.0.0.1:2379"},
])
def test_without_an_installed_loopback_url_the_default_is_asked(settings):
    assert installed_local_endpoint(settings, DEFAULT) == DEFAULT
