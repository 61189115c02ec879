"""The image the manifests run: what its Containerfile copies exists, and the installed
package (the image installs it, not an editable checkout) carries every file the services
read at run time."""

from __future__ import annotations

import re
import tomllib

from tests.k8s.manifests import K8S, ROOT

# Folders whose files the services open at run time (data, the supergraph, the
# dashboard's static files).
READ_AT_RUN_TIME = [
    "shared/data",
    "gateway/supergraph",
    "gateway/dashboard/static",
]


def test_the_image_file_copies_what_the_manifests_run() -> None:
    containerfile = (K8S / "image" / "Containerfile").read_text(encoding="utf-8")
    copied = re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) (\S+)$", containerfile, re.MULTILINE)
    sources = {s for line, _ in copied for s in line.split()}
    for source in sources:
        assert (ROOT / source).exists(), source
    assert re.search(r"^USER 10001", containerfile, re.MULTILINE)
    assert 'ENTRYPOINT ["xinfang"]' in containerfile


def test_the_installed_package_carries_every_file_the_services_read() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data: dict[str, list[str]] = config["tool"]["setuptools"]["package-data"]
    shipped = {
        path.resolve()
        for package, patterns in package_data.items()
        for pattern in patterns
        for path in (ROOT / package).glob(pattern)
    }
    missing = [
        str(path.relative_to(ROOT))
        for folder in READ_AT_RUN_TIME
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and path.suffix not in {".py", ".pyc"}  # modules ship as modules
        and path.resolve() not in shipped
    ]
    assert missing == []
