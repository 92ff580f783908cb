"""The one decision of what etcd_install changes: from the module's own read of a host, and from
an etcd_host_info read, which lets the action plugin leave a host that has everything in place."""

import pytest

from ansible_collections.raftops.etcd.plugins.module_utils.host.install_plan import (
    install_changes, install_needed, podman_needed, state_from_host_info)

RELEASE, BIN, BINARIES = "/opt/etcd/v3.5.1", "/usr/local/bin", ["etcd", "etcdctl", "etcdutl"]
IN_PLACE = {"/usr/local/bin/" + name: "/opt/etcd/v3.5.1/" + name for name in BINARIES}
NOTHING = dict(account_made=False, unpacked=False, linked=[], image_made=False)
IMAGE = "localhost/raftops-etcd:v3.5.1"


def state(**changes):
    return dict(dict(group_missing=False, user_missing=False, complete=True, links=dict(IN_PLACE), image_present=False),
                **changes)


def test_a_host_with_everything_in_place_needs_nothing():
    assert install_changes(state(), RELEASE, BIN, BINARIES, True, "etcd") == NOTHING


@pytest.mark.parametrize("changed, expected", [
    (dict(complete=False), dict(NOTHING, unpacked=True)),
    (dict(group_missing=True), dict(NOTHING, account_made=True)),
    (dict(user_missing=True), dict(NOTHING, account_made=True)),
    (dict(links=dict(IN_PLACE, **{"/usr/local/bin/etcd": "/opt/etcd/v3.4.23/etcd"})), dict(NOTHING, linked=["/usr/local/bin/etcd"])),
    (dict(links=dict(IN_PLACE, **{"/usr/local/bin/etcdutl": None})), dict(NOTHING, linked=["/usr/local/bin/etcdutl"])),
])
def test_each_thing_out_of_place_is_named(changed, expected):
    assert install_changes(state(**changed), RELEASE, BIN, BINARIES, True, "etcd") == expected


def test_an_image_is_made_only_when_one_is_asked_and_the_host_lacks_it():
    assert install_changes(state(), RELEASE, BIN, BINARIES, True, "etcd", IMAGE) == dict(NOTHING, image_made=True)
    assert install_changes(state(image_present=True), RELEASE, BIN, BINARIES, True, "etcd", IMAGE) == NOTHING


def test_a_read_gives_the_image_it_was_asked_about_and_none_that_it_was_not():
    assert state_from_host_info(info(images={IMAGE: True}), RELEASE, BIN, BINARIES, "etcd", IMAGE) == state(image_present=True)
    assert state_from_host_info(info(images={IMAGE: False}), RELEASE, BIN, BINARIES, "etcd", IMAGE) == state()
    # A read that did not ask (the runtime changed since, or another release's image): the host is asked.
    assert state_from_host_info(info(images={}), RELEASE, BIN, BINARIES, "etcd", IMAGE) is None


def test_podman_is_needed_on_a_container_host_without_the_image():
    settings = dict(container=True, container_image=IMAGE)
    assert podman_needed(dict(host_settings=settings, images={IMAGE: False}))
    assert not podman_needed(dict(host_settings=settings, images={IMAGE: True}))
    assert not podman_needed(dict(host_settings=dict(settings, container=False), images={}))
    # A host with Docker and no Podman runs the image under Docker: no Podman installed there.
    assert not podman_needed(dict(host_settings=settings, images={IMAGE: False}, container_engine="docker"))
    assert podman_needed(dict(host_settings=settings, images={IMAGE: False}, container_engine="podman"))


def test_links_are_left_alone_without_link_and_no_account_is_asked_for_without_user():
    outdated = state(links={path: "/opt/etcd/v3.4.23/x" for path in IN_PLACE}, group_missing=True)
    assert install_changes(outdated, RELEASE, BIN, BINARIES, False, None) == NOTHING


def info(**changes):
    read = dict(account=["x", "998", "998", "", "/var/lib/etcd", "/usr/sbin/nologin"], account_name="etcd",
                account_group=True, present=["/etc/etcd/pki/client-key.pem", RELEASE + "/etcd"], absent=[],
                links=dict(IN_PLACE))
    read.update(changes)
    return read


def test_a_host_info_read_of_a_complete_install_gives_its_state():
    assert state_from_host_info(info(), RELEASE, BIN, BINARIES, "etcd") == state()
    assert state_from_host_info(info(account_group=False, account=[]), RELEASE, BIN, BINARIES, "etcd") == state(
        group_missing=True, user_missing=True)
    assert state_from_host_info(info(present=[], absent=[RELEASE + "/etcd"]), RELEASE, BIN, BINARIES, "etcd") == state(
        complete=False)


@pytest.mark.parametrize("changes", [
    # The release's etcd was not asked about.
    dict(present=["/etc/etcd/pki/client-key.pem"]),
    # A binary's link was not read, nor any (a read from before links were asked for).
    dict(links={path: target for path, target in IN_PLACE.items() if not path.endswith("etcdutl")}),
    dict(links=None),
    # Another account was read.
    dict(account_name="other"),
])
def test_a_read_that_does_not_cover_the_install_gives_no_state(changes):
    assert state_from_host_info(info(**changes), RELEASE, BIN, BINARIES, "etcd") is None


def role_read(**changes):
    """A read of etcd_host_info with the role's settings (host_settings), as the plan sees it."""
    return dict(info(**changes), host_settings=dict(release_dir=RELEASE, bin_dir=BIN, binaries=BINARIES,
                                                    read=dict(account="etcd")))


@pytest.mark.parametrize("read, link, needed", [
    (role_read(), True, False),
    # The release is not complete, the account is not there, a link points elsewhere.
    (role_read(present=[], absent=[RELEASE + "/etcd"]), True, True),
    (role_read(account_group=False, account=[]), True, True),
    (role_read(links=dict(IN_PLACE, **{BIN + "/etcd": "/opt/etcd/v3.4.23/etcd"})), True, True),
    # A member whose release changes in its roll step: its links are that step's.
    (role_read(links=dict(IN_PLACE, **{BIN + "/etcd": "/opt/etcd/v3.4.23/etcd"})), False, False),
    # A read that does not tell: without the role's settings, or without the links.
    (info(), True, True),
    (dict(info(), host_settings=dict(release_dir=RELEASE)), True, True),
    (role_read(links=None), True, True),
])
def test_the_install_is_needed_where_the_role_read_shows_its_work_undone(read, link, needed):
    assert install_needed(read, link) is needed
