"""Short runs of the load and fault checks inside `make test` (the long ones are `make soak`)."""

from tests.reliability.faults import PROMPT_S, RECOVERY_S, kill_worker_under_load, stop_front_end, under_load


def test_answers_under_load_are_the_answers_alone(live_service):
    report = under_load(live_service, count=300, seed=3)
    assert report.failures == []
    assert report.good > 150 and report.bad > 30


def test_a_worker_killed_under_load_costs_only_what_it_held(live_service):
    report = kill_worker_under_load(live_service)
    assert report.failed == []
    assert report.lost <= report.held
    assert report.recovered_s < RECOVERY_S


def test_torchserve_stopped_and_started_again(live_service):
    """TorchServe is restarted, with new keys: the tests after this one use the restarted instance."""
    report = stop_front_end(live_service)
    assert report.problems == []
    assert report.readyz_s < PROMPT_S and report.ocr_s < PROMPT_S
    assert report.back_s < 180
