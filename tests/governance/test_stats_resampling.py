"""How many resamples an interval's ends rest on: enough for the family-wise level asked, or the normal form
from the resamples' spread, and the answer says which."""

import numpy as np
import pytest

from governance.stats import Predictions, fairness_report
from governance.stats import fairness as fairness_module
from governance.stats.intervals import MIN_TAIL_RESAMPLES, resamples_for, sidak, tail_resamples


def paired(groups: int, per_group: int, seed: int, *, scores: bool = False) -> Predictions:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per_group).astype(np.int32)
    y_pred = (rng.random(g.size) < 0.5).astype(np.int8)
    champion = np.where(rng.random(g.size) < 0.9, y_pred, 1 - y_pred).astype(np.int8)
    extra = {}
    if scores:
        y = (rng.random(g.size) < 0.5).astype(np.int8)
        extra = {"y_true": y, "score": np.clip(rng.random(g.size) * 0.6 + 0.3 * y, 0, 1)}
    return Predictions(tuple(f"g{i:02d}" for i in range(groups)), g, y_pred, y_pred_champion=champion, **extra)


def test_tail_count_follows_numpys_linear_method():
    assert tail_resamples(1001, 0.95) == 25 and tail_resamples(2000, 0.95) == 49
    assert resamples_for(0.95) == 1001
    # 40 groups compared pairwise at 95 % jointly: at 10,000 resamples both ends fell below the second draw.
    assert tail_resamples(10_000, sidak(0.95, 780)) == 0


def test_champion_draws_enough_resamples_for_its_family_and_says_so():
    report = fairness_report(paired(40, 200, 1), n_boot=10_000)
    champion = report["champion"]
    level = sidak(0.95, champion["comparisons"])
    assert champion["comparisons"] == 39
    assert champion["interval_method"] == "percentile bootstrap"
    assert champion["resamples"] >= resamples_for(level) > 10_000
    assert champion["tail_resamples"] == tail_resamples(champion["resamples"], level) >= MIN_TAIL_RESAMPLES
    assert f"each end of an interval rests on {champion['tail_resamples']} resamples" in champion["detail"]


def test_few_groups_keep_the_resamples_asked():
    champion = fairness_report(paired(3, 300, 2), n_boot=4000)["champion"]
    assert champion["resamples"] == 4000 and champion["tail_resamples"] == tail_resamples(4000, sidak(0.95, 2))


def test_past_the_memory_bound_the_champion_interval_takes_the_delta_methods_normal_form(monkeypatch):
    monkeypatch.setattr(fairness_module, "_CHAMPION_ELEMENTS", 40 * 2000)
    data = paired(40, 200, 3)
    champion = fairness_report(data, n_boot=2000)["champion"]
    assert champion["resamples"] is None
    assert champion["interval_method"] == "normal (delta method)" and champion["tail_resamples"] is None
    assert "delta-method standard error" in champion["detail"]
    for g in champion["groups"]:
        change = g["air_change"]
        assert change["ci_low"] <= change["estimate"] <= change["ci_high"]
    # The same spread as the decision bootstrap's, read as a normal interval at the same level.
    monkeypatch.setattr(fairness_module, "_CHAMPION_ELEMENTS", 8_000_000)
    monkeypatch.setattr(fairness_module, "MIN_TAIL_RESAMPLES", 0)
    boot = fairness_report(data, n_boot=20_000)["champion"]
    for delta, resampled in zip(champion["groups"], boot["groups"], strict=True):
        width = delta["air_change"]["ci_high"] - delta["air_change"]["ci_low"]
        boot_width = resampled["air_change"]["ci_high"] - resampled["air_change"]["ci_low"]
        assert width == pytest.approx(boot_width, rel=0.15)


@pytest.mark.slow  # 40 groups' AUC over several seeds: about 25 s on two cores
def test_auc_gap_over_many_pairs_is_normal_form_and_steady_across_seeds():
    """At 780 pairs the percentile ends were the extreme draws and moved from seed to seed; the normal form
    reads them off the spread, which 2,000 resamples estimate well."""
    data = paired(40, 200, 4, scores=True)
    gaps = [fairness_report(data, n_boot=2000, seed=s)["scores"]["auc_gap"] for s in (1, 2)]
    for gap in gaps:
        assert gap["interval_method"] == "normal bootstrap" and gap["tail_resamples"] is None
        assert gap["ci_low"] <= gap["estimate"] <= gap["ci_high"]
    assert gaps[0]["ci_high"] == pytest.approx(gaps[1]["ci_high"], abs=0.01)


def test_score_figures_state_their_tail_resamples():
    scores = fairness_report(paired(2, 400, 5, scores=True), n_boot=100)["scores"]
    assert scores["n_boot"] >= resamples_for(0.95)  # raised from the 100 asked
    assert scores["tail_resamples"] >= MIN_TAIL_RESAMPLES
    assert scores["auc_gap"]["tail_resamples"] == tail_resamples(scores["n_boot"], sidak(0.95, 1))
    assert f"each end rests on {scores['tail_resamples']} resamples" in scores["resampling"]


def test_closed_form_checks_rest_on_no_resamples():
    for check in fairness_report(paired(4, 200, 6), n_boot=1000)["checks"]:
        assert check["interval_method"] == "closed form" and check["tail_resamples"] is None
