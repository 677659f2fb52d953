"""Every deployment in deployments/prefect.yaml names a flow that exists, with parameters its schema accepts."""

from __future__ import annotations

import importlib.util

import jsonschema
import pytest
import yaml
from prefect import Flow
from prefect.utilities.callables import parameter_schema

from .conftest import ROOT

DEPLOYMENTS = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


def _flow(entrypoint: str) -> Flow:
    path, name = entrypoint.split(":")
    spec = importlib.util.spec_from_file_location(f"entry_{name}", ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_deployment_entrypoint_and_parameters_are_valid(deployment):
    flow = _flow(deployment["entrypoint"])
    assert isinstance(flow, Flow)
    schema = parameter_schema(flow.fn).model_dump_for_openapi()
    jsonschema.validate(deployment.get("parameters", {}), schema)
    for path in deployment.get("parameters", {}).get("paths", []):
        assert (ROOT / path).exists(), path


def test_parameter_schema_rejects_an_empty_document_list():
    flow = _flow(DEPLOYMENTS[0]["entrypoint"])
    schema = parameter_schema(flow.fn).model_dump_for_openapi()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"paths": []}, schema)


def _deployment(name: str) -> dict:
    return next(d for d in DEPLOYMENTS if d["name"] == name)


def test_daily_and_weekly_runs_are_scheduled_in_beijing_time_one_at_a_time():
    for name in ("daily-crawl", "weekly-revalidation"):
        deployment = _deployment(name)
        assert [s["timezone"] for s in deployment["schedules"]] == ["Asia/Shanghai"]
        assert deployment["concurrency_limit"]["limit"] == 1
    assert "schedules" not in _deployment("recheck")


def test_the_deployment_step_creates_the_limits_and_the_automation():
    spec = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))
    assert spec["build"] == [{"budgetwatch.service.orchestration.prepare_server": {}}]
