"""Lays the workspace's debug build out as `sam build` lays out its own: a folder per function
holding its binary as `bootstrap`, and beside them the template `sam build` writes, each
function's CodeUri pointing at its folder and the state machine's DefinitionUri at the source
file. `sam local invoke -t OUT/template.yaml` and `sam local start-lambda -t OUT/template.yaml`
then run the binaries `cargo build` already made for this machine (x86_64, so
`--parameter-overrides Architecture=x86_64`), and nothing compiles a second time.

It writes under target/ (default target/sam-local/build), not .aws-sam/build: that folder holds
what `sam build` made, the release build `sam deploy` uploads, and a debug build must never be
deployed in its place.

The template is written with SAM CLI's own code (`move_template`, which `sam build` calls), so
relative paths are rewritten as `sam build` rewrites them.

Usage: .venv/bin/python scripts/sam_debug_build.py [OUT]
"""

import os
import shutil
import sys
from pathlib import Path

from samcli.commands._utils.template import move_template
from samcli.yamlhelper import parse_yaml_file

ROOT = Path(__file__).resolve().parent.parent
SOURCE_TEMPLATE = ROOT / "template.yaml"
DEBUG_BINARIES = ROOT / "target" / "debug"


def binary_of(logical_id, resource):
    """The cargo binary the template builds for a function (its rust-cargolambda `Binary`)."""
    try:
        return resource["Metadata"]["BuildProperties"]["Binary"]
    except KeyError:
        sys.exit(f"sam_debug_build: {logical_id} names no Metadata.BuildProperties.Binary")


def lay_out(out):
    template = parse_yaml_file(str(SOURCE_TEMPLATE))
    shutil.rmtree(out, ignore_errors=True)
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = DEBUG_BINARIES / binary_of(logical_id, resource)
        if not binary.is_file():
            sys.exit(f"sam_debug_build: {binary} is missing: run cargo build --workspace first")
        folder = out / logical_id
        folder.mkdir(parents=True)
        # A hard link costs nothing and keeps this build's binary even if cargo replaces it.
        try:
            os.link(binary, folder / "bootstrap")
        except OSError:
            shutil.copy2(binary, folder / "bootstrap")
        # Relative to the source template, as sam build records it; move_template then makes it
        # relative to the written one.
        resource.setdefault("Properties", {})["CodeUri"] = os.path.relpath(folder, ROOT)
        # sam build records each resource it built under this id.
        resource.setdefault("Metadata", {})["SamResourceId"] = logical_id
    move_template(str(SOURCE_TEMPLATE), str(out / "template.yaml"), template)
    return out / "template.yaml"


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target" / "sam-local" / "build"
    print(lay_out(out.resolve()))
