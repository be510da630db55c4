"""Lints what CloudFormation will see: template.yaml after the SAM transform, and the state
machine definition as Step Functions will see it.

`sam validate --lint` checks SAM resources against SAM's schema only (cfn-lint 1.54 and later
no longer run the SAM transform), so nothing it runs looks inside a function's `Policies` or
the roles, policies and permissions SAM generates. This script does what `sam package` and
CloudFormation's transform do, offline:

1. reads template.yaml, inlines the state machine definition and gives every CodeUri an S3
   placeholder, as `sam package` leaves them;
2. expands it with samtranslator (the library `sam` runs), with a managed-policy loader that
   needs no AWS account;
3. lints the result with cfn-lint, failing on any error;
4. lints the ASL file through cfn-lint's Step Functions definition schema (rule E3601), inside
   a one-resource `AWS::StepFunctions::StateMachine` with its placeholders replaced by ARNs;
5. computes, with SAM CLI's own code, the environment `sam local invoke --env-vars
   events/sam-local-env.json` gives each function, and checks that it points every function at
   the emulator and gives pipeline-entry a state machine ARN;
6. lints examples/pipeline/template.yaml, the example pipeline, the same way (transformed if it
   declares a transform), once with each way of invoking the workflow.

Before that it proves it can fail: a function whose policy builds an ARN list with a function as
the Fn::Join delimiter (what the first template.yaml did, and CloudFormation refuses) must be
reported.

Usage: .venv/bin/python scripts/check_template.py [template.yaml]
"""

import copy
import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # samtranslator needs a region

from cfnlint.api import ManualArgs, lint  # noqa: E402
from samcli.lib.translate.sam_template_validator import SamTemplateValidator  # noqa: E402
from samcli.yamlhelper import yaml_parse  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402

# samtranslator's metrics warn at exit that nobody published them; nobody is meant to here.
logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)

ROOT = Path(__file__).resolve().parent.parent
REGION = os.environ["AWS_DEFAULT_REGION"]
ACCOUNT = "123456789012"
LINT_CONFIG = ManualArgs(regions=[REGION])
# Parameter values the transformed template is linted with; both lists non-empty, so that
# every conditional statement is present.
PARAMETERS = {
    "DistributionIds": "E2QWRUHEXAMPLE,E1U5RQF7T870K0",
    "DistributionTenantIds": "dt_2wjDZi3hD1ivOXf6rpZJO1AB",
    # With a topic, every alarm has its actions.
    "AlarmTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:invalidation-alarms",
}
EXAMPLE_PIPELINE = ROOT / "examples" / "pipeline" / "template.yaml"
# The example pipeline, linted once with each way of invoking the workflow (its conditional
# statements and actions differ).
EXAMPLE_PARAMETERS = [
    {
        "InvalidationStateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"
        "InvalidationStateMachine-Ab12Cd34",
        "InvokeWith": invoke_with,
        "PipelineEntryFunctionName": "cloudfront-invalidation-PipelineEntryFunction-Ab12Cd34",
    }
    for invoke_with in ["StepFunctions", "Lambda"]
]


class OfflinePolicyLoader:
    """samtranslator looks managed policy names up in its bundled list first; this loader is
    asked only for names that list lacks, and knows none (so an unknown name fails)."""

    def load(self):
        return {}


def state_machines(template):
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::StateMachine"
    }


def packaged(template):
    """The template as `sam package` leaves it: definitions inline, code in S3."""
    template = copy.deepcopy(template)
    for resource in state_machines(template).values():
        properties = resource["Properties"]
        uri = properties.pop("DefinitionUri")
        properties["Definition"] = json.loads((ROOT / uri).read_text())
    validator = SamTemplateValidator(template, OfflinePolicyLoader(), region=REGION)
    validator._replace_local_codeuri()  # CodeUri: . → s3://bucket/value, as `sam validate` does
    return validator.sam_template


def transformed(template, parameters=None):
    parameters = PARAMETERS if parameters is None else parameters
    return transform(packaged(template), parameters, OfflinePolicyLoader())


def as_deployed(template, parameters):
    """A template as CloudFormation sees it: after the SAM transform if it declares one, with
    these parameter values as its defaults (so that cfn-lint resolves the conditions they
    decide)."""
    if "Transform" in template:
        template = transformed(template, parameters)
    template = copy.deepcopy(template)
    for name, value in parameters.items():
        template["Parameters"][name]["Default"] = value
    return template


def problems(template_dict):
    """cfn-lint's errors (and warnings) for a template, as lines."""
    matches = lint(json.dumps(template_dict), config=LINT_CONFIG)
    return [
        f"{match.rule.id} {'/'.join(str(p) for p in match.path)}: {match.message}"
        for match in matches
    ]


def definition_template(template):
    """Each state machine's definition file in a one-resource plain template, with its
    `${…}` placeholders replaced by ARNs as DefinitionSubstitutions would."""
    resources = {}
    for logical_id, resource in state_machines(template).items():
        properties = resource["Properties"]
        text = (ROOT / properties["DefinitionUri"]).read_text()
        for key in properties.get("DefinitionSubstitutions", {}):
            name = key.removesuffix("Arn")
            text = text.replace(
                "${" + key + "}",
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            )
        resources[logical_id] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{logical_id}Role",
                "Definition": json.loads(text),
            },
        }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}


# A function whose policy builds its ARN list the way the first template.yaml did, with a
# function as the Fn::Join delimiter: `sam validate --lint` accepts it, CloudFormation refuses it.
FUNCTION_IN_JOIN_DELIMITER = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Transform": "AWS::Serverless-2016-10-31",
    "Parameters": {"DistributionIds": {"Type": "CommaDelimitedList"}},
    "Resources": {
        "Invalidator": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Runtime": "provided.al2023",
                "Handler": "bootstrap",
                "CodeUri": ".",
                "Policies": [
                    {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["cloudfront:CreateInvalidation"],
                                "Resource": {
                                    "Fn::Split": [
                                        ",",
                                        {
                                            "Fn::Join": [
                                                {
                                                    "Fn::Sub": ",arn:${AWS::Partition}:cloudfront::"
                                                    "${AWS::AccountId}:distribution/"
                                                },
                                                {"Ref": "DistributionIds"},
                                            ]
                                        },
                                    ]
                                },
                            }
                        ]
                    }
                ],
            },
        }
    },
}


def sam_local_environments(template_path, env_vars_path=None):
    """The environment `sam local invoke --env-vars FILE` gives each function, computed by SAM
    CLI's own code (the function provider that resolves intrinsics as sam local does, and the
    runner's merge of the env-vars file), without starting a container."""
    from types import SimpleNamespace

    from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    stacks, _ = SamLocalStackProvider.get_stacks(str(template_path))
    values = json.loads(Path(env_vars_path).read_text()) if env_vars_path else {}
    runner = SimpleNamespace(
        env_vars_values=values, get_aws_creds=lambda: {}, is_debugging=lambda: False
    )
    return {
        function.name: LocalLambdaRunner._make_env_vars(runner, function).resolve()
        for function in SamFunctionProvider(stacks).get_all()
    }


def sam_local_problems(template_path):
    """What would go wrong under `sam local` with events/sam-local-env.json."""
    found = []
    bare = sam_local_environments(template_path)
    with_file = sam_local_environments(template_path, ROOT / "events" / "sam-local-env.json")
    for function, env in with_file.items():
        if not env.get("AWS_ENDPOINT_URL", "").startswith("http://host.docker.internal:"):
            found.append(f"{function}: AWS_ENDPOINT_URL is {env.get('AWS_ENDPOINT_URL')!r}")
    # Without the file, sam local resolves the template's !Ref to the logical id, which
    # pipeline-entry must answer with a clear error; with it, the function gets an ARN.
    arn = with_file.get("PipelineEntryFunction", {}).get("STATE_MACHINE_ARN", "")
    if not arn.startswith("arn:aws:states:"):
        found.append(f"PipelineEntryFunction: STATE_MACHINE_ARN with the file is {arn!r}")
    plain = bare.get("PipelineEntryFunction", {}).get("STATE_MACHINE_ARN")
    if plain != "InvalidationStateMachine":
        found.append(f"PipelineEntryFunction: STATE_MACHINE_ARN without the file is {plain!r}")
    return found


def main(path):
    template = yaml_parse(Path(path).read_text())

    caught = problems(transformed(FUNCTION_IN_JOIN_DELIMITER))
    if not any(line.startswith(("E1018", "E1022")) for line in caught):
        print("check_template: a function as Fn::Join delimiter went unreported:", caught)
        return 1
    print(
        "self-check: a function as Fn::Join delimiter is reported: "
        + "; ".join(line for line in caught if line.startswith(("E1018", "E1022")))
    )

    failed = False
    for what, found in [
        (f"cfn-lint on {path} after the SAM transform", problems(transformed(template))),
        (
            "cfn-lint on the state machine definition (E3601)",
            problems(definition_template(template)),
        ),
        ("sam local environments with events/sam-local-env.json", sam_local_problems(path)),
    ] + [
        (
            f"cfn-lint on {EXAMPLE_PIPELINE.relative_to(ROOT)} with InvokeWith="
            + parameters["InvokeWith"],
            problems(as_deployed(yaml_parse(EXAMPLE_PIPELINE.read_text()), parameters)),
        )
        for parameters in EXAMPLE_PARAMETERS
    ]:
        if found:
            failed = True
            print(f"FAILED {what}:")
            for line in found:
                print("  " + line)
        else:
            print(f"ok: {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "template.yaml")))
