#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: raftops developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

DOCUMENTATION = r"""
module: etcd_member_files
short_description: Put a member's directories, settings, unit and certificates in place, or remove files, in one call
version_added: 1.0.0
description:
  - Makes each directory in O(directories) and writes each file in O(files) and O(private_files) with
    the given content, owner, group and mode, changing only what differs.
  - One call replaces a C(file), C(copy) or C(template) task per item, each of which costs
    several round trips to the host even when nothing changes.
  - A file is written to a temporary file in its own directory, created readable by root only and
    given its owner, group and mode before it is renamed over the old one, so a reader never sees
    a partial file or a key with loose permissions, and etcd never finds one it cannot read.
  - Directories are made before files, in the order given; missing parents are made too, with
    default permissions.
  - With O(stage_dir), a file of O(files) whose content differs is not written in place but staged
    beside the others in O(stage_dir), to be put in place later with O(activate). A service that
    restarts on its own meanwhile keeps running with the file it was proven with.
  - Removes each file in O(absent), after everything else.
extends_documentation_fragment: [raftops.etcd.common]
attributes:
  diff_mode:
    support: partial
    details: Shows the content of changed O(files); a changed O(private_files) item shows only its path.
options:
  directories:
    description: Directories to make, or to give the owner, group and mode listed.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      owner: &owner
        description: User that owns it.
        type: str
        required: true
      group: &group
        description: Group that owns it.
        type: str
        required: true
      mode:
        description: Permissions, in octal, for example V("0750").
        type: raw
        required: true
  files:
    description: Files to write; their content is logged and shown in diffs.
    type: list
    elements: dict
    default: []
    suboptions: &file_options
      path:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description: Exact content of the file.
        type: str
        required: true
      owner: *owner
      group: *group
      mode:
        description: Permissions, in octal, for example V("0640").
        type: raw
        required: true
      stage:
        description:
          - With O(stage_dir), whether a changed file of O(files) waits there (V(true)) or is written in place.
          - O(private_files) are always written in place.
        type: bool
        default: true
      restart:
        description:
          - Whether the service that reads the file must restart when it changes (RV(restart_needed)).
            V(false) for a file read anew on each use, such as a revocation list or a client pair.
        type: bool
        default: true
  private_files:
    description:
      - Files to write whose content is never logged or shown in a diff, such as private keys.
      - Same options as O(files).
    type: list
    elements: dict
    default: []
    suboptions: *file_options
  stage_dir:
    description:
      - Directory (made C(0700) when a file is first staged) where a file of O(files) whose content differs from
        the file at its path is written, under the path's base name, instead of at the path. The file
        in use keeps its content; its owner, group and mode are set as given.
      - A staged copy whose content equals the file in use is removed again.
      - The base names of O(files) must differ from each other.
    type: path
  activate:
    description:
      - Paths whose staged copy in O(stage_dir) is moved over them, atomically, before anything else
        is done. A path with no staged copy is left as it is. Needs O(stage_dir).
    type: list
    elements: path
    default: []
  absent:
    description:
      - Files to remove, after the directories and files above are in place. A path that is not
        there is left as it is; one that is a directory or a link is refused.
    type: list
    elements: path
    default: []
  host_files:
    description:
      - What M(raftops.etcd.etcd_host_info) read of the host earlier, its
        RV(raftops.etcd.etcd_host_info#module:files) for the paths of O(directories), O(files),
        O(private_files) and their staged copies in O(stage_dir).
      - When it shows every directory and file as asked (content, owner, group and mode) and no staged
        copy, the action plugin returns without a call to the host. When it does not, or read less
        than that, the host is asked as without it.
      - Pass it only while nothing has written these paths since that read.
    type: dict
  member:
    description:
      - The member whose settings (C(etcd.env)), systemd unit and start script, and whose bootstrap or
        join settings (C(etcd-initial.env), a private file as it may hold a discovery token), the action
        plugin renders on the controller and writes before the O(files) and O(private_files) given,
        with its directories and, with C(pki), its certificates read from the controller.
        The role passes it.
      - Its keys are C(header) (the comment each file starts with; by default C(ansible_managed) as a
        comment, or the configuration's C(DEFAULT_MANAGED_STR) when the play sets none), C(config_dir),
        C(user) (etcd's account, the group of the settings and the start script), and either or both
        of C(server) and C(initial).
      - C(server) holds the role variables the files are made of, named without C(etcd_)
        (C(data_dir), C(wal_dir), C(heartbeat_interval), C(election_timeout), C(snapshot_count),
        C(quota_backend_bytes), C(auto_compaction_mode), C(auto_compaction_retention), C(log_level),
        C(tls), C(auto_tls), C(tls_transition), C(metrics), C(metrics_port), C(corruption_checks),
        C(feature_gates), C(extra_env), C(limit_nofile), C(systemd_hardening), C(bin_dir)), and C(me)
        (the member's record with name, peer_url, client_url, listen_peer_url), C(version) (the release as
        [major, minor, patch]), C(local_endpoint), C(pki_dir), C(peer_identity), C(crl) (whether a
        revocation list is written), C(env_path), C(unit_path) and C(start_script); with C(runtime)
        V(container) (etcd_runtime) also C(image) and C(stop_timeout), the seconds C(podman stop) waits;
        the unit then runs etcd from that image under Podman, or under Docker with C(engine) V(docker)
        (the host's engine, as M(raftops.etcd.etcd_host_info) reads it), whose unit is started once
        the member answers C(ready_check), an etcdctl command line (version 1.1.0 on).
      - C(pki) holds C(dir) (the PKI directory on the member), and the files on the controller C(ca),
        C(own) (C(cert), C(key), C(peer_cert), C(peer_key)), C(crl) (or none), C(login) and C(root)
        (client pairs, C(cert) and C(key), or none).
      - C(initial) holds C(state) (new or existing), C(cluster), C(token), and for a new cluster
        C(bootstrap) with C(discovery_srv), C(discovery_srv_name), C(discovery_endpoints),
        C(discovery_token) or C(discovery_url).
      - For the first start of a restored member, C(initial) holds C(state) V(restored), C(version),
        C(corruption_checks) and C(feature_gates); its settings then turn etcd's initial corruption check
        off (with the corruption checks on), which every later start runs again once the file is removed
        (version 1.1.0 on).
    type: dict
  service:
    description:
      - The systemd service the unit of O(member) belongs to, C(name), and C(enabled), whether the host's
        read found it enabled; or, instead of C(enabled), C(enabled_path), the link the unit's C(WantedBy=)
        makes, and C(found), the paths the host's read (M(raftops.etcd.etcd_host_info)) found present;
        the service is enabled when the link is among them.
      - After the files, the action plugin reloads systemd when that unit changed and enables the service
        when it is not enabled (M(ansible.builtin.systemd_service)); in check mode not for a unit that is
        not written yet. A staged unit is not loaded.
    type: dict
  timers:
    description:
      - Systemd timers whose files are among those written, each with C(name) (the timer's unit without
        C(.timer)), C(paths) (its files) and C(running), whether the host's read found it active and enabled.
      - After the files, the action plugin restarts each timer whose files changed (reloading systemd first)
        and starts each one that is not running or not enabled, enabling it (M(ansible.builtin.systemd_service));
        the others are left as they run, without a call to the host. It returns which (RV(timers_to_start)).
      - In check mode a timer whose files would be written is not started, as they are not there for systemd.
    type: list
    elements: dict
    version_added: 1.0.0
  restart_note:
    description:
      - The note a member keeps while it must restart, so that a run that stops half-way leaves the restart
        to the next run. C(path), the note; C(due), whether the member must restart for what this run found
        (the note is then written, owned by root, mode C(0644), after O(files); default V(false));
        C(present), the paths the host's read (M(raftops.etcd.etcd_host_info)) found present before anything
        changed, empty where no note of an earlier run counts (default V([])).
      - The action plugin returns whether the member restarts in this run (RV(restart)).
    type: dict
    version_added: 1.0.0
notes:
  - The C(content) of O(private_files) is masked in the module's output and never logged on the host.
seealso:
  - module: ansible.builtin.copy
    description: The general way to write one file.
"""

EXAMPLES = r"""
- name: Put the certificates of this member in place
  raftops.etcd.etcd_member_files:
    directories:
      - {path: /etc/etcd/pki, owner: root, group: etcd, mode: "0750"}
    files:
      - path: /etc/etcd/pki/server.pem
        content: "{{ lookup('ansible.builtin.file', 'etcd-pki/etcd-host0.pem', rstrip=false) }}"
        owner: etcd
        group: etcd
        mode: "0644"
    private_files:
      - path: /etc/etcd/pki/server-key.pem
        content: "{{ lookup('ansible.builtin.file', 'etcd-pki/etcd-host0-key.pem', rstrip=false) }}"
        owner: etcd
        group: etcd
        mode: "0600"
  register: certificates

- name: Restart etcd when a certificate changed
  ansible.builtin.systemd_service:
    name: etcd
    state: restarted
  when: certificates.restart_needed

- name: Note that this member must restart, and learn whether it restarts in this run
  raftops.etcd.etcd_member_files:
    restart_note:
      path: /etc/etcd/restart-pending
      due: "{{ binaries.changed }}"
      present: "{{ host_read.present }}"
  register: note

- name: Remove the bootstrap settings once the member has joined
  raftops.etcd.etcd_member_files:
    absent: [/etc/etcd/etcd-initial.env]
"""

RETURN = r"""
changed_paths:
  description:
    - Paths of the directories and files that were made, written, put in place from a staged copy
      (O(activate)), removed (O(absent)), or whose owner, group or mode changed.
    - A file staged instead of written is not listed here but in RV(staged_paths).
  returned: always
  type: list
  elements: str
  sample: [/etc/etcd/pki/server.pem]
staged_paths:
  description: Paths of O(files) that have a staged copy in O(stage_dir) waiting to be put in place, by this call or an earlier one.
  returned: always
  type: list
  elements: str
  sample: [/etc/etcd/etcd.env]
restart_needed:
  description:
    - Whether the service must restart to read what this call changed - a file with O(files[].restart) (the
      default) written in place, given another owner, group or mode, or put in place with O(activate) - or
      a staged copy waits (RV(staged_paths)). A directory or a removed file never makes it so.
  returned: always
  type: bool
  sample: true
timers_to_start:
  description:
    - The timers of O(timers) the action plugin started or restarted (and enabled), each with C(name), C(state)
      (V(restarted) for one whose files changed, with C(daemon_reload) true; V(started) for one that is not
      running or not enabled). Those running whose files did not change are not listed.
    - In check mode a timer whose files would change is not listed either - they are not there for systemd.
  returned: with O(timers)
  type: list
  elements: dict
  sample: [{"name": "etcd-snapshot", "state": "restarted", "daemon_reload": true}]
restart:
  description:
    - Whether the member restarts in this run - its note (O(restart_note)) was written by this call (in check
      mode, would be), or was among the paths found present before; a note already there and not among
      those does not count.
  returned: with O(restart_note)
  type: bool
  sample: true
  version_added: 1.0.0
unit_unwritten:
  description:
    - Whether the member's systemd unit (O(member)'s C(server.unit_path)) is not on the host because this
      call runs in check mode and would write it; systemd can then neither start nor stop the service.
  returned: with O(member) that has C(server)
  type: bool
  sample: false
  version_added: 1.0.0
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.raftops.etcd.plugins.module_utils.host.files import atomic_file

ITEM_OPTIONS = dict(
    path=dict(type="path", required=True),
    owner=dict(type="str", required=True),
    group=dict(type="str", required=True),
    mode=dict(type="raw", required=True),
)
FILE_OPTIONS = dict(ITEM_OPTIONS, content=dict(type="str", required=True), stage=dict(type="bool", default=True),
                    restart=dict(type="bool", default=True))
PRIVATE_OPTIONS = dict(FILE_OPTIONS, content=dict(type="str", required=True, no_log=True))


def attributes_of(module, item):
    """The owner, group and mode of ``item`` in the form AnsibleModule's file helpers take."""
    return module.load_file_common_arguments(
        dict(owner=item["owner"], group=item["group"], mode=item["mode"]), path=item["path"])


def ensure_directory(module, item):
    path = item["path"]
    made = False
    if not os.path.isdir(path):
        if os.path.lexists(path):
            module.fail_json(msg="%s exists and is not a directory; nothing was changed there" % path)
        made = True
        if not module.check_mode:
            os.makedirs(path, 0o700)
    return module.set_fs_attributes_if_different(attributes_of(module, item), made)


def read_regular_file(module, path):
    """The content of ``path``, or None when there is none; anything but a regular file is refused."""
    if not os.path.lexists(path):
        return None
    if not os.path.isfile(path) or os.path.islink(path):
        module.fail_json(msg="%s exists and is not a regular file; nothing was changed there" % path)
    with open(path, "rb") as handle:
        return handle.read()


def staged_path(stage_dir, path):
    return os.path.join(stage_dir, os.path.basename(path))


def ensure_file(module, item, private, diffs, stage_dir=None):
    """Write ``item`` in place, or stage it in ``stage_dir``; returns (changed, staged)."""
    path, wanted = item["path"], to_bytes(item["content"], errors="surrogate_or_strict")
    current = read_regular_file(module, path)
    # A file that does not exist yet has nothing in use to protect: it is written in place.
    staged = stage_dir is not None and current is not None and current != wanted
    target = staged_path(stage_dir, path) if staged else path
    written = (read_regular_file(module, target) if staged else current) != wanted
    if written:
        diffs.append(dict(before_header=path, after_header=target,
                          before="" if private or current is None else to_native(current, errors="surrogate_or_strict"),
                          after="(private content changed)\n" if private else item["content"]))
        if not module.check_mode:
            if staged and not os.path.isdir(stage_dir):
                # made only when something waits there: a run that stages nothing changes nothing
                os.makedirs(stage_dir, 0o700)
            write_atomically(module, target, wanted, item)
    if stage_dir is not None and not staged and os.path.lexists(staged_path(stage_dir, path)):
        # staged by an earlier run, and no longer wanted
        written = True
        if not module.check_mode:
            os.unlink(staged_path(stage_dir, path))
    if staged and not module.check_mode:
        module.set_fs_attributes_if_different(attributes_of(module, dict(item, path=target)), False)
    return module.set_fs_attributes_if_different(attributes_of(module, item), written), staged


def activate(module, stage_dir, paths):
    """Move the staged copy of each path over it; returns the paths put in place."""
    moved = []
    for path in paths:
        copy = staged_path(stage_dir, path)
        if read_regular_file(module, copy) is None:
            continue
        moved.append(path)
        if not module.check_mode:
            module.atomic_move(copy, path)
    return moved


def remove(module, paths):
    """Remove each regular file of ``paths``; returns the paths that were there."""
    removed = [path for path in paths if read_regular_file(module, path) is not None]
    if not module.check_mode:
        for path in removed:
            os.unlink(path)
    return removed


def write_atomically(module, path, content, item):
    """Replace ``path`` with ``content``, owned and moded as ``item`` says before it takes the name,
    so that etcd, which reads its certificates on every connection, never finds one it cannot read."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        module.fail_json(msg="cannot write %s: its directory %s does not exist" % (path, directory))
    with atomic_file(path) as out:
        out.write(content)
        out.handle.flush()
        module.set_fs_attributes_if_different(attributes_of(module, dict(item, path=out.path)), False)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[], options=ITEM_OPTIONS),
            files=dict(type="list", elements="dict", default=[], options=FILE_OPTIONS),
            private_files=dict(type="list", elements="dict", default=[], options=PRIVATE_OPTIONS),
            stage_dir=dict(type="path"),
            activate=dict(type="list", elements="path", default=[]),
            absent=dict(type="list", elements="path", default=[]),
            # Read by the action plugin, which does not pass them on.
            host_files=dict(type="dict"),
            member=dict(type="dict"),
            service=dict(type="dict"),
            timers=dict(type="list", elements="dict"),
            restart_note=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    stage_dir = module.params["stage_dir"]
    if module.params["activate"] and stage_dir is None:
        module.fail_json(msg="activate needs stage_dir, the directory the staged copies are in")
    names = [os.path.basename(item["path"]) for item in module.params["files"]]
    if stage_dir is not None and len(set(names)) != len(names):
        module.fail_json(msg="with stage_dir, the files must have different base names: %s" % ", ".join(sorted(names)))
    changed_paths = activate(module, stage_dir, module.params["activate"]) if stage_dir else []
    staged_paths, diffs, any_staged_change = [], [], False
    # What was put in place from a staged copy is what a restart is for.
    restart_needed = bool(changed_paths)
    for item in module.params["directories"]:
        if ensure_directory(module, item):
            changed_paths.append(item["path"])
    for key, private in (("files", False), ("private_files", True)):
        for item in module.params[key]:
            staging = stage_dir if key == "files" and item["stage"] else None
            changed, staged = ensure_file(module, item, private, diffs, staging)
            if staged:
                staged_paths.append(item["path"])
                any_staged_change = any_staged_change or changed
            elif changed:
                changed_paths.append(item["path"])
                restart_needed = restart_needed or item["restart"]
    changed_paths.extend(remove(module, module.params["absent"]))
    result = dict(changed=bool(changed_paths) or any_staged_change, changed_paths=changed_paths,
                  staged_paths=staged_paths, restart_needed=restart_needed or bool(staged_paths))
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
