"""Write an image archive in `docker save` format from layer tarballs: no registry, daemon or base.

``ctr images import`` and ``docker load`` both read it. Used by tests/node/image.sh for the pause
image and for the stand-in of the Dockerfile's base image.

    python3 tests/node/mkimage.py --out img.tar --tag example.local/x:1 --layer rootfs.tar \\
        [--layer more.tar ...] [--entrypoint '["/x"]'] [--cmd '[]'] [--user 65532:65532] [--env K=V ...]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from pathlib import Path

EPOCH = "1970-01-01T00:00:00Z"  # reproducible: the same layers give the same image id
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    archive.addfile(info, io.BytesIO(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--layer", type=Path, action="append", required=True)
    parser.add_argument("--entrypoint")
    parser.add_argument("--cmd")
    parser.add_argument("--user", default="")
    parser.add_argument("--env", action="append", default=[])
    args = parser.parse_args()

    diff_ids = [sha256_file(layer) for layer in args.layer]
    config: dict[str, object] = {"Env": [PATH, *args.env], "WorkingDir": "/", "User": args.user}
    if args.entrypoint is not None:
        config["Entrypoint"] = json.loads(args.entrypoint)
    if args.cmd is not None:
        config["Cmd"] = json.loads(args.cmd)
    image = {
        "architecture": "amd64",
        "os": "linux",
        "created": EPOCH,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in diff_ids]},
        "history": [{"created": EPOCH, "created_by": "tests/node/mkimage.py"} for _ in args.layer],
    }
    image_bytes = json.dumps(image, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(image_bytes).hexdigest() + ".json"
    layer_names = [f"{d}/layer.tar" for d in diff_ids]
    manifest = [{"Config": config_name, "RepoTags": [args.tag], "Layers": layer_names}]
    with tarfile.open(args.out, "w") as archive:
        _add_bytes(archive, config_name, image_bytes)
        for source, name in zip(args.layer, layer_names, strict=True):
            info = archive.gettarinfo(str(source), arcname=name)
            info.mtime, info.uid, info.gid = 0, 0, 0
            with source.open("rb") as stream:
                archive.addfile(info, stream)
        _add_bytes(archive, "manifest.json", json.dumps(manifest).encode())


if __name__ == "__main__":
    main()
