"""Drive two Pontis connectors' management APIs with tractusx-sdk's own classes, unmodified.

Runs under Python >= 3.12 with ``tractusx-sdk`` installed (not in the project's venv)::

    python sdk_driver.py --provider http://127.0.0.1:8181 --consumer http://127.0.0.1:8182 \
        --api-key KEY --provider-id did:web:provider --provider-dsp http://127.0.0.1:8181/api/dsp/2025-1

The provider publishes an asset, two policies and a contract definition, and queries them back;
the consumer asks the provider's catalog (filtered by asset id and by dct:type, as the SDK does),
picks the offer with the SDK's own ``DspTools``, starts a negotiation and polls its state until
it ends, then reads the agreement. Every step is printed as one JSON document on stdout:
``{"sdk_version", "steps": {name: {"ok", "status", "body"}}}``; the exit code is 0 only if every
step worked. tests/management/test_tractusx_sdk.py runs this against real connector processes.

``--edr-flow --endpoints FILE --asset ID`` instead runs the SDK's consumer flow on the consumer
named in an endpoints.json (examples/two-party): ``do_get`` (catalog → policy allow-list →
``POST /v3/edrs`` → negotiation state → transfer process by agreement id → EDR data address →
GET the provider's data plane), then the EDR entry and ``/v3/edrs/{tp}/refresh`` through the
SDK's own EDR controller. tests/transfers/test_two_party.py runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from importlib.metadata import version
from urllib.parse import urlsplit

from tractusx_sdk.dataspace.controllers.connector.controller_factory import ControllerFactory, ControllerType
from tractusx_sdk.dataspace.models.connector.model_factory import ModelFactory
from tractusx_sdk.dataspace.models.connector.saturn import EvaluationPolicyModel
from tractusx_sdk.dataspace.services.connector.service_factory import ServiceFactory
from tractusx_sdk.dataspace.tools.dsp_tools import DspTools

SATURN = "saturn"
DSP_2025 = "dataspace-protocol-http:2025-1"
ASSET_ID = "sdk-asset-1"
DCT_TYPE = "https://w3id.org/catenax/taxonomy#PcfExchange"

steps: dict[str, dict] = {}


def record(name: str, response=None, body=None, ok: bool | None = None):  # type: ignore[no-untyped-def]
    """Keep one step's outcome; a requests.Response is summarised by status and JSON body."""
    status = None
    if response is not None:
        status = response.status_code
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text[:500]
        if ok is None:
            ok = 200 <= status < 300
    steps[name] = {"ok": bool(ok if ok is not None else True), "status": status, "body": body}
    return body


def provider_side(args: argparse.Namespace) -> None:
    provider = ServiceFactory.get_connector_provider_service(
        dataspace_version=SATURN, base_url=args.provider, dma_path="/management",
        headers={"X-Api-Key": args.api_key}, verbose=False)

    record("create_asset", body=provider.create_asset(
        asset_id=ASSET_ID, base_url="https://backend.invalid/pcf", dct_type=DCT_TYPE, version="3.0"))
    record("create_access_policy", body=provider.create_policy(
        policy_id="sdk-access",
        permissions=[{"action": "access", "constraint": {
            "leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}}]))
    record("create_usage_policy", body=provider.create_policy(
        policy_id="sdk-usage",
        permissions=[{"action": "use", "constraint": {"and": [
            {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
            {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]},
        ]}}]))
    record("create_contract", body=provider.create_contract(
        contract_id="sdk-contract", usage_policy_id="sdk-usage", access_policy_id="sdk-access", asset_id=ASSET_ID))

    record("get_asset", provider.assets.get_by_id(ASSET_ID))
    record("query_assets_all", provider.assets.get_all())
    by_type = ModelFactory.get_queryspec_model(dataspace_version=SATURN, filter_expression=[
        {"operandLeft": "'http://purl.org/dc/terms/type'.'@id'", "operator": "=", "operandRight": DCT_TYPE}])
    record("query_assets_by_dct_type", provider.assets.query(obj=by_type))
    updated = ModelFactory.get_asset_model(
        dataspace_version=SATURN, oid=ASSET_ID,
        context={"edc": "https://w3id.org/edc/v0.0.1/ns/", "dct": "http://purl.org/dc/terms/"},
        properties={"dct:type": {"@id": DCT_TYPE}, "edc:description": "updated by tractusx-sdk"},
        data_address={"@type": "DataAddress", "type": "HttpData", "baseUrl": "https://backend.invalid/pcf"})
    record("update_asset", provider.assets.update(obj=updated))
    record("get_policy", provider.policies.get_by_id("sdk-usage"))
    record("query_policies", provider.policies.get_all())
    record("validate_policy", provider.policies.validate_policy("sdk-usage"))
    record("evaluation_plan", provider.policies.evaluation_plan(
        "sdk-usage", obj=EvaluationPolicyModel(policy_scope="contract.negotiation")))
    record("get_contract_definition", provider.contract_definitions.get_by_id("sdk-contract"))
    record("query_contract_definitions", provider.contract_definitions.get_all())


def consumer_side(args: argparse.Namespace) -> None:
    consumer = ServiceFactory.get_connector_consumer_service(
        dataspace_version=SATURN, base_url=args.consumer, dma_path="/management",
        headers={"X-Api-Key": args.api_key}, verbose=False)

    catalog = record("catalog", body=consumer.get_catalog(
        counter_party_id=args.provider_id, counter_party_address=args.provider_dsp))
    by_id = record("catalog_by_asset_id", body=consumer.get_catalog_by_asset_id(
        counter_party_id=args.provider_id, counter_party_address=args.provider_dsp, asset_id=ASSET_ID))
    record("catalog_by_dct_type", body=consumer.get_catalog_by_dct_type(
        counter_party_id=args.provider_id, counter_party_address=args.provider_dsp, dct_type=DCT_TYPE))
    assert catalog is not None

    [(asset_id, policy)] = DspTools.filter_assets_and_policies(catalog=by_id, allowed_policies=None)
    record("selected_offer", body={"asset_id": asset_id, "policy": policy})
    request = consumer.get_edr_negotiation_request(
        counter_party_id=args.provider_id, counter_party_address=args.provider_dsp,
        target=asset_id, policy=policy, protocol=DSP_2025)
    created = record("start_negotiation", consumer.contract_negotiations.create(request))
    negotiation_id = created["@id"]

    state = None
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        state = consumer.contract_negotiations.get_state_by_id(negotiation_id).json().get("state")
        if state in ("FINALIZED", "TERMINATED"):
            break
        time.sleep(0.2)
    record("negotiation_state", body={"state": state}, ok=state == "FINALIZED")
    negotiation = record("get_negotiation", consumer.contract_negotiations.get_by_id(negotiation_id))
    record("get_agreement", consumer.contract_negotiations.get_agreement_by_negotiation_id(negotiation_id))
    record("query_negotiations", consumer.contract_negotiations.get_all())
    # the consumer service builds no agreement controller; the SDK's factory gives one on its adapter
    controller = ControllerFactory.get_dma_controllers_for_version(
        dataspace_version=SATURN, adapter=consumer.dma_adapter,
        controller_types=[ControllerType.CONTRACT_AGREEMENT])[ControllerType.CONTRACT_AGREEMENT]
    record("agreement_negotiation", controller.get_negotiation_by_id(negotiation["contractAgreementId"]))


# the usage policy a Catena-X consumer app accepts for PCF data: what it configures, not what it is shown
PCF_POLICY = {"permission": {"action": "use", "constraint": {"and": [
    {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
    {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
    {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}}}


def edr_flow(args: argparse.Namespace) -> None:
    """tractusx-sdk's consumer flow, ``do_get`` style, against the consumer of an endpoints.json."""
    with open(args.endpoints) as handle:
        endpoints = json.load(handle)
    me, provider = endpoints["consumer"], endpoints["provider"]
    parts = urlsplit(me["management_url"])
    consumer = ServiceFactory.get_connector_consumer_service(
        dataspace_version=SATURN, base_url=f"{parts.scheme}://{parts.netloc}", dma_path=parts.path,
        headers={"X-Api-Key": me["api_key"]}, verbose=False)
    by_id = [consumer.get_filter_expression(key="https://w3id.org/edc/v0.0.1/ns/id", value=args.asset)]
    response = consumer.do_get(
        counter_party_id=provider["participant_id"], counter_party_address=provider["dsp_url"],
        filter_expression=by_id, policies=[PCF_POLICY], max_wait=int(args.timeout), poll_interval=0.25)
    record("do_get", response)
    # the SDK cached the EDR entry: the same query and policies give its transfer id without a negotiation
    transfer_id = consumer.get_transfer_id(
        counter_party_id=provider["participant_id"], counter_party_address=provider["dsp_url"],
        filter_expression=by_id, policies=[PCF_POLICY])
    record("cached_transfer_id", body={"transferProcessId": transfer_id}, ok=bool(transfer_id))
    endpoint, token = consumer.get_endpoint_with_token(transfer_id=transfer_id)
    record("edr", body={"endpoint": endpoint, "has_token": bool(token)})
    record("edr_refresh", consumer.edrs.refresh(transfer_id))
    record("transfer", consumer.transfer_processes.get_by_id(transfer_id))
    # a second call finds the EDR in the SDK's cache: no new negotiation, the same transfer
    record("do_get_again", consumer.do_get(
        counter_party_id=provider["participant_id"], counter_party_address=provider["dsp_url"],
        filter_expression=by_id, policies=[PCF_POLICY], max_wait=int(args.timeout), poll_interval=0.25))
    record("transfer_id_again", body={"transferProcessId": consumer.get_transfer_id(
        counter_party_id=provider["participant_id"], counter_party_address=provider["dsp_url"],
        filter_expression=by_id, policies=[PCF_POLICY])})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edr-flow", action="store_true", help="run the SDK's consumer EDR flow (see above)")
    parser.add_argument("--endpoints", help="endpoints.json (with --edr-flow)")
    parser.add_argument("--asset", default="demo-pcf", help="the asset to get (with --edr-flow)")
    parser.add_argument("--provider", help="the provider's base URL (without /management)")
    parser.add_argument("--consumer", help="the consumer's base URL (without /management)")
    parser.add_argument("--api-key")
    parser.add_argument("--provider-id", help="the provider's participant id")
    parser.add_argument("--provider-dsp", help="the provider's DSP URL")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    failure = None
    try:
        if args.edr_flow:
            edr_flow(args)
        else:
            provider_side(args)
            consumer_side(args)
    except Exception as exc:  # noqa: BLE001 - reported in the JSON, with the step it stopped at
        failure = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    result = {"sdk_version": version("tractusx-sdk"), "steps": steps, "failure": failure}
    print(json.dumps(result, indent=2))
    return 0 if failure is None and all(s["ok"] for s in steps.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
