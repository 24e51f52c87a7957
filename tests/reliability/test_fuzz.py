"""The short fuzz run inside `make test` (the full one is `make soak`): a few hundred seeded bad
requests against the live service, each answered as documented, with no worker lost."""

from tests.reliability.fuzz import run


def test_bad_requests_get_documented_answers_and_harm_nothing(live_service):
    report = run(live_service, count=300, seed=7)
    assert report.failures == []
    assert sum(report.answered.values()) == 300
