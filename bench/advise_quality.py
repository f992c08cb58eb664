"""Quality and speed of the advice (issue 6) on the real DPG data.

1. Held-out principles: import ../shared/data/dpg_ventures.jsonl into a throw-away project, code
   it with the default ``static`` backend, and for every venture with >= 1 design principle and
   >= 1 barrier in its stored codes hide each of its principles in turn: do the recommendations
   for its barriers (the venture itself left out of the statistics, its other principles known)
   bring the hidden one back in the top 3 (hit@3; hit@1 too)? Next to it, in the same run, the
   popularity baseline: always recommend the most common principles. Repeated at lower
   ``min_score`` because at the map's default (0.5) few DPG ventures carry both kinds of code.
2. Peers: diagnose ventures of the map from their own text (``venture_id``; each is left out of
   the statistics and the peers) and judge every recommended peer against the stored codes: does
   it really face a barrier the venture faces (precision), use the principle it is shown for,
   and work in a different country or sector? For the ventures of the hand-coded dev labels the
   venture's barrier is also taken from the human labels.
3. Latency: a synthetic 10,000-venture map (the real ventures repeated with new ids), one
   venture diagnosed from its description: cold (``diagnose()``: builds the map index and fits
   the coder) and warm (an ``Advisor`` kept between calls, as the web app does).

    python bench/advise_quality.py [--quick] [--write]

``--write`` replaces the "## Advice" section at the end of docs/benchmarks.md (or appends it).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
from simap.advise.diagnose import Advisor, diagnose
from simap.advise.landscape import AdviceIndex
from simap.advise.recommend import popular_principles, recommend_principles
from simap.pipeline import Project

SECTION = "## Advice"


def held_out(index: AdviceIndex, prior_weight: float = 1.0) -> dict[str, Any]:
    dps = set(index.kind_ids("design_principle"))
    bars = set(index.kind_ids("barrier"))
    hits = {"rec@1": 0, "rec@3": 0, "pop@1": 0, "pop@3": 0}
    n = ventures = 0
    for row in range(len(index.ids)):
        codes = index.codes_of(row)
        held, faced = sorted(codes & dps), sorted(codes & bars)
        if not held or not faced:
            continue
        ventures += 1
        popular = popular_principles(index, exclude=[row])
        for hidden in held:
            uses = set(held) - {hidden}
            recs = recommend_principles(index, faced, uses=uses, exclude=[row], prior_weight=prior_weight)
            ranked = [r.code_id for r in recs if r.code_id not in uses]
            baseline = [d for d in popular if d not in uses]
            n += 1
            hits["rec@1"] += hidden in ranked[:1]
            hits["rec@3"] += hidden in ranked[:3]
            hits["pop@1"] += hidden in baseline[:1]
            hits["pop@3"] += hidden in baseline[:3]
    return {
        "ventures": ventures,
        "held_out": n,
        **{k: round(v / n, 3) if n else None for k, v in hits.items()},
    }


def peers_quality(advisor: Advisor, gold: dict[str, set[str]], limit: int | None) -> dict[str, Any]:
    index = advisor.index
    bars = set(index.kind_ids("barrier"))
    rows = [r for r in range(len(index.ids)) if index.codes_of(r) & bars]
    rows = rows[:limit] if limit else rows
    shown = share_b = uses_d = different = 0
    gold_shown = gold_share = 0
    with_peers = 0
    for row in rows:
        vid = index.ids[row]
        mine = index.codes_of(row) & bars
        diag = advisor.diagnose(venture_id=vid)
        with_peers += bool(diag.peers)
        for peer in diag.peers:
            theirs = index.codes_of(index.row_of[peer.venture_id])
            shown += 1
            share_b += bool(theirs & mine)
            uses_d += peer.principle in theirs
            different += peer.different_context
            if vid in gold and gold[vid] & bars:
                gold_shown += 1
                gold_share += bool(theirs & gold[vid])
    return {
        "diagnosed": len(rows),
        "with_peers": with_peers,
        "peers": shown,
        "precision_barrier": round(share_b / shown, 3) if shown else None,
        "precision_principle": round(uses_d / shown, 3) if shown else None,
        "different_context": round(different / shown, 3) if shown else None,
        "gold_peers": gold_shown,
        "precision_vs_human_barrier": round(gold_share / gold_shown, 3) if gold_shown else None,
    }


def latency(path: Path, tmp: Path, n_target: int = 10_000, repeats: int = 20) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    synth = tmp / "synthetic.jsonl"
    with synth.open("w", encoding="utf-8") as fh:
        for i in range(n_target):
            rec = dict(rows[i % len(rows)])
            rec["id"] = f"{rec['id']}--{i // len(rows)}"
            fh.write(json.dumps(rec) + "\n")
    texts = [r["description"] for r in rows[:repeats]]
    with Project.open(tmp / "big.db") as proj:
        t0 = time.perf_counter()
        proj.import_path(synth)
        proj.code(embedder="static", workers=2)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        diagnose(proj, texts[0], countries=["Kenya"], sectors=["Health"])
        cold = time.perf_counter() - t0
        advisor = Advisor(proj)
        t0 = time.perf_counter()
        _ = advisor.index
        index_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        advisor.coder()
        coder_s = time.perf_counter() - t0
        warm = []
        for i, text in enumerate(texts):
            t0 = time.perf_counter()
            advisor.diagnose(text, countries=["Kenya" if i % 2 else "India"], sectors=["Health"])
            warm.append(time.perf_counter() - t0)
    warm.sort()
    return {
        "ventures": n_target,
        "build_map_s": round(build, 1),
        "cold_s": round(cold, 2),
        "index_s": round(index_s, 2),
        "coder_s": round(coder_s, 2),
        "warm_median_s": round(statistics.median(warm), 4),
        "warm_p95_s": round(warm[int(0.95 * (len(warm) - 1))], 4),
    }


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        SECTION,
        "",
        f"`python bench/advise_quality.py` on {m['date']}, {m['cores']} cores ({m['cpu']}), "
        f"Python {m['python']}; real DPG data (727 ventures) coded with the default `static` backend.",
        "",
        "**Held-out principles.** For every venture with >= 1 design principle and >= 1 barrier in its "
        "stored codes, each principle is hidden in turn; the recommendations for its barriers (the venture "
        "left out of the statistics) should bring it back. Popularity baseline = always the most common "
        "principles, same run.",
        "",
        "| min_score | ventures | held out | hit@3 advice | hit@3 popularity | hit@1 advice "
        "| hit@1 popularity |",
        "|---|---|---|---|---|---|---|",
    ]
    for ms, h in res["held_out"].items():
        lines.append(
            f"| {ms} | {h['ventures']} | {h['held_out']} | **{h['rec@3']}** | {h['pop@3']} | "
            f"{h['rec@1']} | {h['pop@1']} |"
        )
    p = res["peers"]
    lines += [
        "",
        "At the map's default `min_score` 0.5 only a handful of DPG ventures carry both a principle and a "
        "barrier (the descriptions are short product blurbs), and DP1 never reaches it, so 4 of 5 "
        "principles fill the top 3; the rows at 0.3 and 0.2 (more, noisier codes) are the informative ones. "
        "Without the codebook prior (see docs/advise.md) hit@3 is "
        + ", ".join(f"{h['no_prior']['rec@3']} at {ms}" for ms, h in res["held_out"].items())
        + ": the prior costs little here and keeps rare barriers answerable.",
        "",
        f"**Peers** (min_score {res['peers_min_score']}). {p['diagnosed']} ventures that face a barrier were "
        f"diagnosed from their own text; {p['with_peers']} got peers, {p['peers']} peers in all. "
        "Share of peers that really face one of the venture's stored barriers: "
        f"**{p['precision_barrier']}**; "
        f"that use the principle they are shown for: {p['precision_principle']}; in a different country "
        f"or sector (known): {p['different_context']}. Against the stored codes the first two are 1.0 by "
        "construction (peers are chosen on those codes, and a venture's text is coded as the map was); the "
        "real check is the human labels: the "
        f"{p['gold_peers']} peers of dev-labelled ventures face the venture's hand-coded barrier in "
        f"**{p['precision_vs_human_barrier']}** of cases. Few DPG ventures record a country or sector, "
        "so most "
        'peers are flagged "context not comparable" rather than claimed to be from another context.',
        "",
    ]
    lat = res["latency"]
    lines += [
        f"**Latency**, one venture against a {lat['ventures']:,}-venture synthetic map (the real ventures "
        f"repeated with new ids; import + coding took {lat['build_map_s']} s): cold `diagnose()` "
        f"(loads the map, fits the coder) **{lat['cold_s']} s**: the map index {lat['index_s']} s, "
        f"loading the model and fitting the zero-shot coder on the codebook {lat['coder_s']} s; "
        f"warm `Advisor.diagnose()` (index and coder kept, as a server does) median "
        f"**{lat['warm_median_s'] * 1000:.0f} ms**, p95 {lat['warm_p95_s'] * 1000:.0f} ms. Target < 1 s.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> Path:
    path = _common.ROOT / "docs" / "benchmarks.md"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if SECTION + "\n" in old:
        head = old[: old.index(SECTION + "\n")]
        rest = old[old.index(SECTION + "\n") + len(SECTION) :]
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1 :] if nxt >= 0 else ""
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + ("\n\n" if old.strip() else "") + text
    path.write_text(new, encoding="utf-8")
    return path


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    data = _common.shared("dpg_ventures.jsonl")
    gold_path = _common.SHARED_DATA / "dev_seed_labels.jsonl"
    gold: dict[str, set[str]] = {}
    if gold_path.exists():
        for line in gold_path.open(encoding="utf-8"):
            if line.strip():
                rec = json.loads(line)
                gold[str(rec["id"])] = set(rec.get("codes") or [])
    res: dict[str, Any] = {"machine": _common.machine()}
    with tempfile.TemporaryDirectory() as tmp, Project.open(Path(tmp) / "dpg.db") as proj:
        proj.import_path(data)
        proj.code(embedder="static", workers=2)
        res["held_out"] = {}
        for ms in (0.5, 0.3, 0.2):
            advisor = Advisor(proj, min_score=ms)
            res["held_out"][str(ms)] = held_out(advisor.index)
            res["held_out"][str(ms)]["no_prior"] = held_out(advisor.index, prior_weight=0.0)
        res["peers_min_score"] = 0.5
        res["peers"] = peers_quality(Advisor(proj, min_score=0.5), gold, 60 if quick else None)
        res["latency"] = {"ventures": 0} if quick else latency(data, Path(tmp))
    print(json.dumps(res, indent=2, default=str))
    _common.write_result("advise_quality", res)
    if not quick:
        text = markdown(res)
        print(text)
        if "--write" in argv:
            print(f"wrote {write_section(text)}")


if __name__ == "__main__":
    main(sys.argv[1:])
