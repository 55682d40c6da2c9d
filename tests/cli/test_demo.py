"""``connector demo`` end to end: three connector processes in DCP mode tell the whole story."""

import pytest

from connector.cli.demo import run_demo

pytestmark = pytest.mark.integration


def test_the_demo_tells_its_story_and_exits_0(tmp_path):
    workdir = tmp_path / "demo"
    assert run_demo(workdir) == 0
    assert (workdir / "downloads" / "achsen" / "ng-wc-400-ct-scan.bin").stat().st_size == 50 << 20
    assert sorted(p.name for p in (workdir / "agreements").iterdir()) == [
        "achsen-nordguss-pcf-NG-WC-400.json", "motorwerke-achsen-pcf-exchange.json"]
    # provenance (issue 10): the three traversal pictures of demo-story steps 5-7
    assert sorted(p.name for p in (workdir / "provenance").iterdir()) == [
        "casting-batch-upward.html", "vehicle-downward-denied.html", "vehicle-downward.html"]
    assert "no offer of the Digital Twin Registry visible to BPNL00000MOTORWK" in (
        workdir / "provenance" / "vehicle-downward-denied.html").read_text()
