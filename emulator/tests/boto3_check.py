#!/usr/bin/env python3
"""Checks that boto3 parses the emulator's answers, errors included.

Write the input artifact the S3 checks read, then start the emulator with it
and with the distributions, tenant and state machine this script uses, on a
manual clock (the script moves it with POST /_emulator/clock, so that what it
checks does not depend on how fast the machine is):

    python emulator/tests/boto3_check.py --write-artifact artifact.zip
    aws-emulator --distribution E2QWRUHAPOMQZL --denied EDENIED0000000 \
        --tenant dt_2wjDZi3hD1ivOXf6rpZJO1AB \
        --object "codepipeline-us-east-1-123456789012/boto3 pipeline/SourceArti/artifact.zip=artifact.zip" \
        --bucket boto3-state-bucket \
        --invalidation-seconds 1 --manual-clock \
        --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:InvalidationStateMachine

then run:

    python emulator/tests/boto3_check.py http://127.0.0.1:PORT

Prints one line per check (PASS/FAIL), then "N passed, M failed"; exits 1
if any check failed. Unique caller references, job ids and execution names
make it safe to run twice against the same emulator.
"""

import argparse
import base64
import hashlib
import io
import json
import sys
import traceback
import urllib.error
import urllib.request
import uuid
import zipfile
import zlib

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

results = []


def check(name):
    """Runs the decorated function at once as one named check."""

    def run(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any failure is reported
            detail = f"{type(e).__name__}: {e}"
            results.append((name, False))
            print(f"FAIL {name}: {detail}")
            if not isinstance(e, AssertionError):
                traceback.print_exc(file=sys.stderr)
        else:
            results.append((name, True))
            print(f"PASS {name}")
        return fn

    return run


def artifact_zip():
    """The input artifact the S3 checks expect: a deflated zip of a small site."""
    buf = io.BytesIO()
    # A fixed time in each entry: writestr(name, …) stamps the current time, and the zip this
    # script writes for the emulator must be byte for byte the one it expects later.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in [("index.html", "<h1>hello</h1>" * 50), ("css/site.css", "body { margin: 0 }")]:
            entry = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(entry, text)
    return buf.getvalue()


def advance_clock(endpoint, seconds):
    """Moves the emulator's manual clock; False if it runs on the real clock."""
    request = urllib.request.Request(
        endpoint.rstrip("/") + "/_emulator/clock",
        data=json.dumps({"advanceSeconds": seconds}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert "now" in json.load(resp)
            return True
    except urllib.error.HTTPError as e:
        if e.code == 409:
            return False
        raise


def expect_error(call, code, status):
    """Calls `call`, which must fail with `code` and HTTP `status`."""
    try:
        call()
    except ClientError as e:
        got = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
        assert got == (code, status), f"expected {(code, status)}, got {got}"
        assert e.response["Error"].get("Message"), "error has no message"
        assert e.response["ResponseMetadata"].get("RequestId"), "error has no request id"
        return e
    raise AssertionError(f"expected {code}, the call succeeded")


def batch(paths, ref=None):
    return {
        "Paths": {"Quantity": len(paths), "Items": paths},
        "CallerReference": ref or f"boto3-{uuid.uuid4()}",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", nargs="?", help="the emulator's URL, e.g. http://127.0.0.1:4566")
    parser.add_argument("--write-artifact", metavar="PATH", help="write the input artifact to PATH and exit")
    parser.add_argument("--distribution", default="E2QWRUHAPOMQZL")
    parser.add_argument("--denied", default="EDENIED0000000")
    parser.add_argument(
        "--state-machine",
        default="arn:aws:states:us-east-1:123456789012:stateMachine:InvalidationStateMachine",
        help="a state machine ARN the emulator was started with (--state-machine)",
    )
    parser.add_argument(
        "--tenant",
        default="dt_2wjDZi3hD1ivOXf6rpZJO1AB",
        help="a distribution tenant id the emulator was started with (--tenant)",
    )
    parser.add_argument(
        "--bucket",
        default="boto3-state-bucket",
        help="an empty bucket the emulator was started with (--bucket), for the put, list and delete checks",
    )
    parser.add_argument(
        "--artifact",
        default="codepipeline-us-east-1-123456789012/boto3 pipeline/SourceArti/artifact.zip",
        help="BUCKET/KEY of the object the emulator was started with (--object), holding --write-artifact's zip",
    )
    args = parser.parse_args()
    if args.write_artifact:
        with open(args.write_artifact, "wb") as out:
            out.write(artifact_zip())
        return 0
    if not args.endpoint:
        parser.error("the emulator's URL is required")
    if not advance_clock(args.endpoint, 0):
        print("the emulator must run on a manual clock (--manual-clock)", file=sys.stderr)
        return 2
    dist = args.distribution

    common = dict(
        endpoint_url=args.endpoint,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        # Every error must be seen as the emulator sent it.
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    cf = boto3.client("cloudfront", region_name="us-east-1", **common)
    cp = boto3.client("codepipeline", region_name="eu-west-1", **common)
    sfn = boto3.client("stepfunctions", region_name="us-east-1", **common)
    # boto3 addresses buckets path-style at an IP endpoint by itself, as the
    # emulator expects.
    s3 = boto3.client("s3", region_name="us-east-1", **common)

    created = {}

    @check("cloudfront create_invalidation parses Invalidation and Location")
    def _():
        ref = f"boto3-{uuid.uuid4()}"
        out = cf.create_invalidation(DistributionId=dist, InvalidationBatch=batch(["/index.html", "/img/*"], ref))
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 201, out["ResponseMetadata"]
        inv = out["Invalidation"]
        assert inv["Id"].startswith("I") and len(inv["Id"]) == 14, inv["Id"]
        assert inv["Status"] == "InProgress", inv["Status"]
        assert inv["CreateTime"].tzinfo is not None, inv["CreateTime"]
        assert inv["InvalidationBatch"]["Paths"] == {"Quantity": 2, "Items": ["/index.html", "/img/*"]}
        assert inv["InvalidationBatch"]["CallerReference"] == ref
        assert out["Location"].endswith(f"/2020-05-31/distribution/{dist}/invalidation/{inv['Id']}"), out["Location"]
        created.update(id=inv["Id"], ref=ref)

    @check("cloudfront get_invalidation")
    def _():
        out = cf.get_invalidation(DistributionId=dist, Id=created["id"])
        assert out["Invalidation"]["Id"] == created["id"]
        # The clock has not moved since the invalidation was created.
        assert out["Invalidation"]["Status"] == "InProgress", out["Invalidation"]["Status"]

    @check("cloudfront waiter invalidation_completed sees Completed")
    def _():
        # On a manual clock, let the invalidation's second pass at once.
        advance_clock(args.endpoint, 1)
        cf.get_waiter("invalidation_completed").wait(
            DistributionId=dist, Id=created["id"], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        assert cf.get_invalidation(DistributionId=dist, Id=created["id"])["Invalidation"]["Status"] == "Completed"

    @check("cloudfront same CallerReference and paths returns the same invalidation")
    def _():
        out = cf.create_invalidation(DistributionId=dist, InvalidationBatch=batch(["/img/*", "/index.html"], created["ref"]))
        assert out["Invalidation"]["Id"] == created["id"]

    @check("cloudfront same CallerReference, other paths -> InvalidationBatchAlreadyExists")
    def _():
        expect_error(
            lambda: cf.create_invalidation(DistributionId=dist, InvalidationBatch=batch(["/other"], created["ref"])),
            "InvalidationBatchAlreadyExists",
            409,
        )

    @check("cloudfront NoSuchDistribution (modelled exception)")
    def _():
        try:
            cf.get_invalidation(DistributionId="ENOSUCHDIST000", Id="I1")
        except cf.exceptions.NoSuchDistribution as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        else:
            raise AssertionError("no error")
        expect_error(
            lambda: cf.create_invalidation(DistributionId="ENOSUCHDIST000", InvalidationBatch=batch(["/a"])),
            "NoSuchDistribution",
            404,
        )

    @check("cloudfront AccessDenied")
    def _():
        expect_error(
            lambda: cf.create_invalidation(DistributionId=args.denied, InvalidationBatch=batch(["/a"])),
            "AccessDenied",
            403,
        )

    @check("cloudfront NoSuchInvalidation (modelled exception)")
    def _():
        try:
            cf.get_invalidation(DistributionId=dist, Id="I0000000000000")
        except cf.exceptions.NoSuchInvalidation as e:
            assert e.response["Error"]["Code"] == "NoSuchInvalidation"
        else:
            raise AssertionError("no error")

    @check("cloudfront InvalidArgument for bad paths")
    def _():
        for paths in (["index.html"], ["/a*/b"], ["/" + "x" * 4000]):
            expect_error(
                lambda: cf.create_invalidation(DistributionId=dist, InvalidationBatch=batch(paths)),
                "InvalidArgument",
                400,
            )

    @check("cloudfront InconsistentQuantities")
    def _():
        bad = batch(["/a"])
        bad["Paths"]["Quantity"] = 2
        expect_error(
            lambda: cf.create_invalidation(DistributionId=dist, InvalidationBatch=bad), "InconsistentQuantities", 400
        )

    @check("cloudfront BatchTooLarge")
    def _():
        expect_error(
            lambda: cf.create_invalidation(
                DistributionId=dist, InvalidationBatch=batch([f"/f{i}" for i in range(3001)])
            ),
            "BatchTooLarge",
            413,
        )

    job = str(uuid.uuid4())

    @check("codepipeline put_job_success_result")
    def _():
        out = cp.put_job_success_result(
            jobId=job,
            executionDetails={"summary": "done", "externalExecutionId": created.get("id", "I1"), "percentComplete": 100},
            outputVariables={"InvalidationId": created.get("id", "I1")},
        )
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 200

    @check("codepipeline second terminal result -> InvalidJobStateException (modelled)")
    def _():
        try:
            cp.put_job_failure_result(jobId=job, failureDetails={"type": "JobFailed", "message": "late"})
        except cp.exceptions.InvalidJobStateException as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        else:
            raise AssertionError("no error")

    @check("codepipeline continuation token is not terminal")
    def _():
        j = str(uuid.uuid4())
        cp.put_job_success_result(jobId=j, continuationToken="poll-again")
        cp.put_job_failure_result(jobId=j, failureDetails={"type": "SystemUnavailable", "message": "gave up"})

    @check("codepipeline ValidationException cases")
    def _():
        expect_error(lambda: cp.put_job_success_result(jobId="not-a-uuid"), "ValidationException", 400)
        expect_error(
            lambda: cp.put_job_failure_result(
                jobId=str(uuid.uuid4()), failureDetails={"type": "JobFailed", "message": "x" * 5001}
            ),
            "ValidationException",
            400,
        )
        expect_error(
            lambda: cp.put_job_failure_result(
                jobId=str(uuid.uuid4()), failureDetails={"type": "Oops", "message": "m"}
            ),
            "ValidationException",
            400,
        )
        e = expect_error(
            lambda: cp.put_job_success_result(
                jobId=str(uuid.uuid4()), continuationToken="t", outputVariables={"k": "v"}
            ),
            "ValidationException",
            400,
        )
        assert "continuation token" in e.response["Error"]["Message"]

    sm = args.state_machine
    run = {"name": f"boto3-{uuid.uuid4()}", "input": json.dumps({"paths": ["/index.html"]})}

    @check("stepfunctions start_execution parses executionArn and startDate")
    def _():
        out = sfn.start_execution(stateMachineArn=sm, name=run["name"], input=run["input"])
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 200, out["ResponseMetadata"]
        prefix = sm.replace(":stateMachine:", ":execution:", 1)
        assert out["executionArn"] == f"{prefix}:{run['name']}", out["executionArn"]
        assert out["startDate"].tzinfo is not None, out["startDate"]
        run.update(arn=out["executionArn"], start=out["startDate"])

    @check("stepfunctions same name and input while running returns the same execution")
    def _():
        out = sfn.start_execution(stateMachineArn=sm, name=run["name"], input=run["input"])
        assert (out["executionArn"], out["startDate"]) == (run["arn"], run["start"]), out

    @check("stepfunctions describe_execution")
    def _():
        out = sfn.describe_execution(executionArn=run["arn"])
        assert out["status"] == "RUNNING", out["status"]
        assert out["name"] == run["name"] and out["stateMachineArn"] == sm, out
        assert out["input"] == run["input"], out["input"]
        assert out["startDate"] == run["start"], (out["startDate"], run["start"])
        assert "stopDate" not in out and "output" not in out, out

    @check("stepfunctions same name, other input -> ExecutionAlreadyExists (modelled)")
    def _():
        try:
            sfn.start_execution(stateMachineArn=sm, name=run["name"], input="{}")
        except sfn.exceptions.ExecutionAlreadyExists as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert run["arn"] in e.response["Error"]["Message"], e.response["Error"]
        else:
            raise AssertionError("no error")

    @check("stepfunctions error codes")
    def _():
        other = sm.rsplit(":", 1)[0] + ":NoSuchStateMachine"
        expect_error(lambda: sfn.start_execution(stateMachineArn=other), "StateMachineDoesNotExist", 400)
        expect_error(lambda: sfn.start_execution(stateMachineArn="not-an-arn"), "InvalidArn", 400)
        expect_error(lambda: sfn.start_execution(stateMachineArn=sm, name="has space"), "InvalidName", 400)
        expect_error(lambda: sfn.start_execution(stateMachineArn=sm, input="{"), "InvalidExecutionInput", 400)
        expect_error(
            lambda: sfn.describe_execution(executionArn=run["arn"] + "-never"), "ExecutionDoesNotExist", 400
        )
        expect_error(lambda: sfn.describe_execution(executionArn=sm), "InvalidArn", 400)

    tenant = args.tenant
    tenant_inv = {}

    @check("cloudfront create_invalidation_for_distribution_tenant parses Invalidation and Location")
    def _():
        ref = f"boto3-{uuid.uuid4()}"
        out = cf.create_invalidation_for_distribution_tenant(Id=tenant, InvalidationBatch=batch(["/index.html"], ref))
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 201, out["ResponseMetadata"]
        inv = out["Invalidation"]
        assert inv["Id"].startswith("I") and len(inv["Id"]) == 14, inv["Id"]
        assert inv["Status"] == "InProgress", inv["Status"]
        assert inv["InvalidationBatch"]["CallerReference"] == ref
        assert out["Location"].endswith(f"/2020-05-31/distribution-tenant/{tenant}/invalidation/{inv['Id']}"), out[
            "Location"
        ]
        again = cf.create_invalidation_for_distribution_tenant(Id=tenant, InvalidationBatch=batch(["/index.html"], ref))
        assert again["Invalidation"]["Id"] == inv["Id"], "a repeated CallerReference made a new invalidation"
        tenant_inv.update(id=inv["Id"])

    @check("cloudfront get_invalidation_for_distribution_tenant")
    def _():
        out = cf.get_invalidation_for_distribution_tenant(DistributionTenantId=tenant, Id=tenant_inv["id"])
        assert out["Invalidation"]["Id"] == tenant_inv["id"]
        assert out["Invalidation"]["Status"] == "InProgress", out["Invalidation"]["Status"]

    @check("cloudfront unknown tenant -> EntityNotFound (modelled exception)")
    def _():
        try:
            cf.get_invalidation_for_distribution_tenant(DistributionTenantId="dt_NoSuchTenant000000000001", Id="I1")
        except cf.exceptions.EntityNotFound as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        else:
            raise AssertionError("no error")
        expect_error(
            lambda: cf.create_invalidation_for_distribution_tenant(
                Id="dt_NoSuchTenant000000000001", InvalidationBatch=batch(["/a"])
            ),
            "EntityNotFound",
            404,
        )
        try:
            cf.get_invalidation_for_distribution_tenant(DistributionTenantId=tenant, Id="I0000000000000")
        except cf.exceptions.NoSuchInvalidation as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        else:
            raise AssertionError("no error")

    bucket, key = args.artifact.split("/", 1)
    data = artifact_zip()
    etag = f'"{hashlib.md5(data).hexdigest()}"'

    @check("s3 get_object returns the seeded zip, ETag is its MD5")
    def _():
        got = s3.get_object(Bucket=bucket, Key=key)
        body = got["Body"].read()
        assert body == data, "the bytes differ"
        assert got["ContentLength"] == len(data), got["ContentLength"]
        assert got["ContentType"] == "binary/octet-stream", got["ContentType"]
        assert got["ETag"] == etag, got["ETag"]
        assert got["LastModified"].tzinfo is not None, got["LastModified"]
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            assert sorted(z.namelist()) == ["css/site.css", "index.html"]
            assert z.read("css/site.css") == b"body { margin: 0 }"

    @check("s3 NoSuchKey (modelled exception) and NoSuchBucket")
    def _():
        try:
            s3.get_object(Bucket=bucket, Key=key + ".missing")
        except s3.exceptions.NoSuchKey as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
            assert e.response["Error"]["Key"] == key + ".missing", e.response["Error"]
        else:
            raise AssertionError("no error")
        expect_error(lambda: s3.get_object(Bucket="no-such-bucket-boto3", Key="k"), "NoSuchBucket", 404)

    state_bucket = args.bucket
    # A prefix of its own, so that a second run against the same emulator
    # starts from nothing.
    run_prefix = f"runs/{uuid.uuid4()}/"
    plan_key = run_prefix + "plan.json"
    plan = json.dumps({"batches": [["/index.html", "/a b.html"]]}).encode()
    put_etags = {}

    @check("s3 put_object with boto3's default checksum (CRC32), ETag is the MD5")
    def _():
        out = s3.put_object(Bucket=state_bucket, Key=plan_key, Body=plan, ContentType="application/json")
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 200, out["ResponseMetadata"]
        assert out["ETag"] == f'"{hashlib.md5(plan).hexdigest()}"', out["ETag"]
        crc32 = base64.b64encode(zlib.crc32(plan).to_bytes(4, "big")).decode()
        assert out.get("ChecksumCRC32") == crc32, out
        assert out.get("ChecksumType") == "FULL_OBJECT", out
        put_etags["plan"] = out["ETag"]

    @check("s3 get_object and head_object read it back (checksum validated)")
    def _():
        got = s3.get_object(Bucket=state_bucket, Key=plan_key, ChecksumMode="ENABLED")
        assert got["Body"].read() == plan
        assert got["ETag"] == put_etags["plan"], got["ETag"]
        assert got["ContentType"] == "application/json", got["ContentType"]
        assert "ChecksumCRC32" in got, got
        head = s3.head_object(Bucket=state_bucket, Key=plan_key)
        assert head["ContentLength"] == len(plan), head["ContentLength"]
        assert head["ETag"] == put_etags["plan"]
        try:
            s3.head_object(Bucket=state_bucket, Key=run_prefix + "missing")
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        else:
            raise AssertionError("no error")

    @check("s3 put_object IfNoneMatch='*' creates once, then PreconditionFailed")
    def _():
        lock = run_prefix + "lock"
        s3.put_object(Bucket=state_bucket, Key=lock, Body=b"first", IfNoneMatch="*")
        e = expect_error(
            lambda: s3.put_object(Bucket=state_bucket, Key=lock, Body=b"second", IfNoneMatch="*"),
            "PreconditionFailed",
            412,
        )
        assert e.response["Error"].get("Condition") == "If-None-Match", e.response["Error"]
        assert s3.get_object(Bucket=state_bucket, Key=lock)["Body"].read() == b"first"

    @check("s3 put_object IfMatch replaces only the version read; NoSuchKey without one")
    def _():
        out = s3.put_object(Bucket=state_bucket, Key=plan_key, Body=plan + b" ", IfMatch=put_etags["plan"])
        expect_error(
            lambda: s3.put_object(Bucket=state_bucket, Key=plan_key, Body=b"stale", IfMatch=put_etags["plan"]),
            "PreconditionFailed",
            412,
        )
        put_etags["plan"] = out["ETag"]
        expect_error(
            lambda: s3.put_object(Bucket=state_bucket, Key=run_prefix + "none", Body=b"x", IfMatch=out["ETag"]),
            "NoSuchKey",
            404,
        )

    @check("s3 put_object with a SHA256 checksum and with Content-MD5")
    def _():
        body = b"checked twice"
        out = s3.put_object(Bucket=state_bucket, Key=run_prefix + "sha", Body=body, ChecksumAlgorithm="SHA256")
        assert out.get("ChecksumSHA256") == base64.b64encode(hashlib.sha256(body).digest()).decode(), out
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        out = s3.put_object(Bucket=state_bucket, Key=run_prefix + "md5", Body=body, ContentMD5=md5)
        assert out["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'

    listed_keys = [f"{run_prefix}site/{i:03d}.html" for i in range(117)] + [
        f"{run_prefix}site/a b+c.html",
        f"{run_prefix}site/naïve/日本.html",
    ]

    @check("s3 list_objects_v2 paginator: pages of 50, keys decoded (encoding-type=url)")
    def _():
        for key in listed_keys:
            s3.put_object(Bucket=state_bucket, Key=key, Body=b"x")
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=state_bucket, Prefix=run_prefix + "site/", PaginationConfig={"PageSize": 50}
        )
        seen, sizes = [], []
        for page in pages:
            sizes.append(page["KeyCount"])
            seen += [o["Key"] for o in page.get("Contents", [])]
        assert seen == sorted(listed_keys, key=lambda k: k.encode()), seen[-3:]
        assert sizes == [50, 50, 19], sizes

    @check("s3 list_objects_v2 Delimiter rolls up CommonPrefixes")
    def _():
        out = s3.list_objects_v2(Bucket=state_bucket, Prefix=run_prefix, Delimiter="/")
        prefixes = [p["Prefix"] for p in out.get("CommonPrefixes", [])]
        assert prefixes == [run_prefix + "site/"], prefixes
        files = [o["Key"] for o in out.get("Contents", [])]
        assert files == [run_prefix + k for k in ("lock", "md5", "plan.json", "sha")], files

    @check("s3 delete_object is 204 and idempotent; NoSuchBucket for another bucket")
    def _():
        for _ in range(2):
            out = s3.delete_object(Bucket=state_bucket, Key=plan_key)
            assert out["ResponseMetadata"]["HTTPStatusCode"] == 204, out["ResponseMetadata"]
        expect_error(lambda: s3.get_object(Bucket=state_bucket, Key=plan_key), "NoSuchKey", 404)
        expect_error(lambda: s3.list_objects_v2(Bucket="no-such-bucket-boto3"), "NoSuchBucket", 404)

    @check("emulator state endpoint")
    def _():
        with urllib.request.urlopen(args.endpoint.rstrip("/") + "/_emulator/state", timeout=10) as resp:
            state = json.load(resp)
        ids = {i["id"] for i in state["invalidations"]}
        assert created["id"] in ids
        mine = [r for r in state["jobResults"] if r["jobId"] == job]
        assert [r["operation"] for r in mine] == ["PutJobSuccessResult"], mine
        assert mine[0]["outputVariables"] == {"InvalidationId": created["id"]}
        assert state["calls"]["CreateInvalidation"] >= 1
        execution = [e for e in state["executions"] if e["executionArn"] == run["arn"]]
        assert len(execution) == 1, execution
        assert execution[0]["status"] == "RUNNING" and execution[0]["startCalls"] == 3, execution
        assert state["calls"]["StartExecution"] >= 3
        tenants = [i for i in state["invalidations"] if i["id"] == tenant_inv["id"]]
        assert [(i["distributionId"], i["tenant"]) for i in tenants] == [(tenant, True)], tenants
        artifact = [o for o in state["objects"] if o["bucket"] == bucket]
        assert artifact == [{"bucket": bucket, "key": key, "size": len(data), "etag": etag}], artifact
        mine = [r for r in state["s3Requests"] if r.get("key", "").startswith(run_prefix)]
        puts = [r for r in mine if r["operation"] == "PutObject" and r["status"] == 200]
        assert len(puts) == 5 + len(listed_keys), len(puts)
        assert puts[0]["body"] == plan.decode(), puts[0]
        assert [r["status"] for r in mine if r["operation"] == "DeleteObject"] == [204, 204], mine[-4:]

    passed = sum(ok for _, ok in results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
