"""A stand-in for Google's distroless Python image, made of the Debian packages it is made of.

GoogleContainerTools/distroless (commit cd080764af, 2026-08-21) builds
`gcr.io/distroless/python3-debian13` with Bazel from Debian 13 packages, unpacked and never
installed: no maintainer script runs, and neither a shell, apt nor dpkg is among them. Its
layers, and where each list was read:

    static   base-files netbase tzdata tzdata-legacy media-types   static/config.bzl
             + /etc/passwd, /etc/group (root 0, nobody 65534, nonroot 65532), /home/nonroot,
             /tmp 1777, nsswitch.conf, os-release, CA roots          common/BUILD.bazel
    base     libc6 libssl3t64 libzstd1 zlib1g                        base/config.bzl
    cc       libgomp1 libstdc++6 libgcc-s1 gcc-14-base               cc/config.bzl
    python3  PACKAGES below, /usr/bin/python{,3} -> python3.13,
             /etc/ld.so.cache, ENTRYPOINT /usr/bin/python3.13        python3/config.bzl, python.bzl
    debug    busybox 1.37.0 at /busybox, its applets linked there,
             PATH + :/busybox (python3's ENTRYPOINT stays)           static/static.bzl

This stand-in unpacks the same packages from this machine's trixie mirror with `dpkg -x` (what
Bazel's rules_distroless does), writes the same users, folders and files, the package metadata
of PACKAGE_METADATA.md (/var/lib/dpkg/status.d), and sets the same configuration. What differs,
and why: the package versions are the mirror's trixie point release, not Google's weekly
snapshot of trixie-security; busybox is Debian's busybox-static 1.37.0, not docker-library's
musl build of the same version; ld.so.cache is made by the host's ldconfig, not shipped pre-
generated; the CA bundle is the host's (as every stand-in's, so a TLS proxy is trusted). Like
every stand-in it carries io.github.copier-uv-docker.stand-in.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from lab import debian

SUITE = "trixie"
PYTHON = "3.13"
NONROOT = 65532
NOBODY = 65534
STATIC = ["base-files", "netbase", "tzdata", "tzdata-legacy", "media-types"]
BASE = ["libc6", "libssl3t64", "libzstd1", "zlib1g"]
CC = ["libgomp1", "libstdc++6", "libgcc-s1", "gcc-14-base"]
# python3/config.bzl's list for debian13, in its order.
PACKAGES = [
    "libbz2-1.0",
    "libdb5.3t64",
    "libexpat1",
    "liblzma5",
    "libsqlite3-0",
    "libuuid1",
    "libncursesw6",
    "libtinfo6",
    "zlib1g",
    "libcom-err2",
    "libcrypt1",
    "libc-bin",
    "libgssapi-krb5-2",
    "libk5crypto3",
    "libkeyutils1",
    "libkrb5-3",
    "libkrb5support0",
    "libnsl2",
    "libreadline8t64",
    "libtirpc3t64",
    "libffi8",
    f"libpython{PYTHON}-minimal",
    f"libpython{PYTHON}-stdlib",
    f"python{PYTHON}-minimal",
    f"python{PYTHON}-venv",
]
ALL_PACKAGES = sorted(set(STATIC + BASE + CC + PACKAGES))
PATH_IN_IMAGE = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    f"nobody:x:{NOBODY}:{NOBODY}:nobody:/nonexistent:/sbin/nologin\n"
    f"nonroot:x:{NONROOT}:{NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n"
)
GROUP = f"root:x:0:\nnobody:x:{NOBODY}:\ntty:x:5:\nstaff:x:50:\nnonroot:x:{NONROOT}:\n"
NSSWITCH = (
    "passwd: compat\ngroup: compat\nshadow: compat\ngshadow: files\n\n"
    "hosts: files dns\nnetworks: files\n\nprotocols: db files\nservices: db files\n"
    "ethers: db files\nrpc: db files\n\nnetgroup: nis\n"
)
OS_RELEASE = (
    'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="13"\n'
    'VERSION="Debian GNU/Linux 13 (trixie)"\n'
    'HOME_URL="https://github.com/GoogleContainerTools/distroless"\n'
)


def tree(scratch: Path, host_ca_bundle: Path) -> Path:
    """The image's root file system, without busybox."""
    root = scratch / "distroless"
    debs = scratch / "debs"
    debs.mkdir()
    index = debian.index(SUITE)
    # What scanners read in place of dpkg's database (PACKAGE_METADATA.md): each package's
    # control fields and md5sums under /var/lib/dpkg/status.d, and no /var/lib/dpkg/status.
    status = root / "var" / "lib" / "dpkg" / "status.d"
    for name in ALL_PACKAGES:
        deb = debian.fetch(index[name], debs, SUITE)
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        status.mkdir(parents=True, exist_ok=True)
        fields = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True, check=True)
        (status / name).write_bytes(fields.stdout)
        control = debs / f"{name}.control"
        subprocess.run(["dpkg-deb", "--control", str(deb), str(control)], check=True)
        if (control / "md5sums").exists():
            shutil.copyfile(control / "md5sums", status / f"{name}.md5sums")
    etc = root / "etc"
    (etc / "passwd").write_text(PASSWD)
    (etc / "group").write_text(GROUP)
    (etc / "nsswitch.conf").write_text(NSSWITCH)
    (etc / "os-release").unlink(missing_ok=True)
    (etc / "os-release").write_text(OS_RELEASE)
    certs = etc / "ssl" / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(host_ca_bundle, certs / "ca-certificates.crt")
    for folder, mode, owner in (("root", 0o700, 0), ("home/nonroot", 0o700, NONROOT)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder).chmod(mode)
        shutil.chown(root / folder, owner, owner)
    (root / "tmp").mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    for alias in ("python", "python3"):
        link = root / "usr" / "bin" / alias
        link.unlink(missing_ok=True)
        link.symlink_to(f"/usr/bin/python{PYTHON}")
    subprocess.run(["ldconfig", "-r", str(root)], check=True)
    (root / "var" / "cache" / "ldconfig" / "aux-cache").unlink(missing_ok=True)  # ldconfig's own
    return root


def add_busybox(root: Path, scratch: Path) -> None:
    """The debug tag's busybox: the binary at /busybox/busybox, each applet a link beside it."""
    unpacked = scratch / "busybox"
    deb = debian.fetch(debian.index(SUITE)["busybox-static"], scratch, SUITE)
    subprocess.run(["dpkg", "-x", str(deb), str(unpacked)], check=True)
    binary = unpacked / "usr" / "bin" / "busybox"
    folder = root / "busybox"
    folder.mkdir()
    shutil.copy2(binary, folder / "busybox")
    applets = subprocess.run(
        [str(binary), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (folder / applet).symlink_to("busybox")


def changes(debug: bool, nonroot: bool, label: str) -> list[str]:
    """The image configuration of each tag, as `docker import --change` lines."""
    path = PATH_IN_IMAGE + (":/busybox" if debug else "")
    return [
        f"ENV PATH={path}",
        "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        "ENV LANG=C.UTF-8",
        f"USER {NONROOT if nonroot else 0}",
        f"WORKDIR {'/home/nonroot' if nonroot else '/'}",
        f'ENTRYPOINT ["/usr/bin/python{PYTHON}"]',
        f"LABEL {label}=true",
    ]


def make(docker: str, repository: str, tags: list[str], host_ca_bundle: Path, label: str) -> None:
    """Import the stand-in under each of these tags of the repository (latest, nonroot, debug,
    debug-nonroot): the debug ones with busybox."""
    with tempfile.TemporaryDirectory(prefix="distroless-") as folder:
        scratch = Path(folder)
        root = tree(scratch, host_ca_bundle)
        for debug in (False, True):
            if debug:
                add_busybox(root, scratch)
            for tag in tags:
                if tag.startswith("debug") != debug:
                    continue
                tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
                config = changes(debug, tag.endswith("nonroot"), label)
                subprocess.run(
                    [
                        docker,
                        "import",
                        *(a for c in config for a in ("-c", c)),
                        "-",
                        f"{repository}:{tag}",
                    ],
                    stdin=tar.stdout,
                    stdout=subprocess.DEVNULL,
                    check=True,
                )
                if tar.wait() != 0:
                    raise SystemExit(f"distroless: tar of {root} failed")
