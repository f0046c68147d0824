"""The test command's two xdist workers (pyproject's addopts; the groups: tests/conftest.py)."""

import pytest

from conftest import ONE_WORKER_FIXTURES


def _run_by_loadgroup(request) -> bool:
    return request.config.getoption("loadgroup", default=False)


@pytest.mark.xdist_group("grouping check")
def test_xdist_honours_a_group(request):
    # xdist tags a grouped test's id with its group and schedules by that tag; pytest 9.2 with xdist 3.8 drops the tag
    # silently, and then each worker trains every shared grid again
    if not _run_by_loadgroup(request):
        pytest.skip("not run by xdist's loadgroup scheduling (-n 0 or -p no:xdist)")
    assert request.node.nodeid.endswith("@grouping check")


def test_the_tests_sharing_a_trained_fixture_carry_its_group(request):
    if not _run_by_loadgroup(request):
        pytest.skip("not run by xdist's loadgroup scheduling (-n 0 or -p no:xdist)")
    sharing = {item.nodeid: next(ONE_WORKER_FIXTURES[name] for name in item.fixturenames if name in ONE_WORKER_FIXTURES)
               for item in request.session.items if set(item.fixturenames) & set(ONE_WORKER_FIXTURES)}
    assert all(nodeid.endswith("@" + group) for nodeid, group in sharing.items()), sharing
