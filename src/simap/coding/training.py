"""Training the learning coder from the project's human decisions, saving it, and measuring it.

- :func:`human_labels` resolves the human decisions stored for a codebook into one label per
  venture x code (majority of coders; a tie counts as accepted), with the evidence they gave.
- :func:`train` fits a :class:`SupervisedCoder`, saves it with joblib next to the project and
  records a ``train`` run (parameters, training-set size, cross-validated scores).
- :func:`learning_curve` gives cross-validated scores at growing numbers of labels.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simap.codebook.schema import Codebook
from simap.coding.calibration import brier_score
from simap.coding.supervised import LABEL_COLUMNS, SupervisedCoder
from simap.embed.base import Embedder
from simap.errors import InvalidInput, NotFound
from simap.review.agreement import compare
from simap.store import repo
from simap.store.db import Store


def human_labels(store: Store, codebook: Codebook, coders: list[str] | None = None) -> pd.DataFrame:
    """One label per venture x code from the human decisions (LABEL_COLUMNS)."""
    a = repo.load_assignments(store, codebook)
    a = a[(a["source"] == "human") & a["status"].isin(["accepted", "rejected"])]
    if coders:
        a = a[a["coder"].isin(coders)]
    if a.empty:
        return pd.DataFrame(columns=LABEL_COLUMNS)
    rows = []
    for (vid, code), g in a.groupby(["venture_id", "code_id"], sort=True):
        acc = g[g["status"] == "accepted"]
        status = "accepted" if len(acc) * 2 >= len(g) else "rejected"
        evidence = [e for ev in acc["evidence"] for e in (ev or [])] if status == "accepted" else []
        rows.append((vid, code, status, evidence))
    return pd.DataFrame(rows, columns=LABEL_COLUMNS)


def models_dir(store: Store) -> Path:
    """Where trained models of this project are saved: next to a SQLite file, else in SIMAP_HOME."""
    if store.path is not None:
        return store.path.with_name(store.path.name + ".models")
    from simap.embed.models import simap_home

    return simap_home() / "projects" / hashlib.sha1(store.url.encode()).hexdigest()[:12] / "models"


@dataclass
class TrainResult:
    run_id: int
    coder: str
    path: Path
    labels: int
    positives: int
    cv: dict[str, Any]
    seconds: float
    codebook: Codebook  # the codebook (and version) the model was trained for
    finetune_seconds: float = 0.0  # of ``seconds``: fine-tuning the sentence model (--finetune)


def train(
    store: Store,
    codebook: Codebook,
    embedder: Embedder,
    *,
    coders: list[str] | None = None,
    params: dict[str, Any] | None = None,
    finetune: bool = False,
    progress: Any = None,
) -> TrainResult:
    """Fit the learning coder on the human decisions and save it (a ``train`` run records it).

    ``finetune`` (``simap train --finetune``): first fine-tune MiniLM on the labelled venture texts
    (:func:`simap.coding.finetune.finetune_classifier`, saved in ``models_dir``; ``progress``
    follows it); its per-code heads then join the blend (``SupervisedCoder(tuned_embedder=)``)."""
    import joblib

    labels = human_labels(store, codebook, coders)
    if labels.empty:
        raise NotFound(
            f"no human decisions on codebook {codebook.name!r} to learn from.",
            hint="review some suggestions or run `simap import-codes FILE --coder NAME`",
        )
    t0 = time.perf_counter()
    version = repo.save_codebook(store, codebook)
    ids = sorted(set(labels["venture_id"]))
    segments = repo.load_segments(store, ids)
    ventures = repo.load_ventures(store, ids)
    coder = SupervisedCoder(embedder, **(params or {}))
    finetune_seconds = 0.0
    if finetune:
        coder.resolve_level(codebook, tuned=True)  # refuse bad options before minutes of fine-tuning
        coder.tuned_embedder = _finetuned_embedder(store, codebook, segments, labels, ventures, progress)
        finetune_seconds = time.perf_counter() - t0
    corpus = repo.load_segments(store)["text"].tolist() if not getattr(embedder, "cacheable", True) else None
    coder.fit(codebook, corpus=corpus, segments=segments, labels=labels, ventures=ventures)
    run_id = repo.start_run(
        store, kind="train", codebook_version=version, model=coder.key, params=coder.get_params()
    )
    folder = models_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"supervised-{version}-run{run_id}.joblib"
    cache, coder.cache = coder.cache, None
    joblib.dump(coder, path)
    coder.cache = cache
    positives = int((labels["status"] == "accepted").sum())
    stats = {
        "labels": len(ids),
        "positives": positives,
        "cv": coder.cv_,
        "path": str(path),
        "coders": sorted(coders) if coders else "all humans",
        "train_params": params or {},  # what was asked for; automatic retraining asks the same
        "finetune": finetune,  # and automatic retraining fine-tunes again
        "tuned_embedder": getattr(coder.tuned_embedder, "key", None),
    }
    repo.finish_run(store, run_id, stats=stats)
    repo.log_event_now(
        store,
        actor="simap",
        action="model_trained",
        entity="run",
        entity_id=str(run_id),
        after={"labels": len(ids), "path": str(path)},
    )
    return TrainResult(
        run_id=run_id,
        coder=f"supervised:{coder.embedder.key}:run{run_id}",
        path=path,
        labels=len(ids),
        positives=positives,
        cv=coder.cv_,
        seconds=time.perf_counter() - t0,
        codebook=codebook,
        finetune_seconds=finetune_seconds,
    )


def _finetuned_embedder(
    store: Store,
    codebook: Codebook,
    segments: pd.DataFrame,
    labels: pd.DataFrame,
    ventures: pd.DataFrame,
    progress: Any,
) -> Embedder:
    """MiniLM fine-tuned on the labelled ventures' texts (what the blend reads: name, then
    texts), saved in ``models_dir``; returned as a ``minilm`` embedder of that folder."""
    from simap.coding.finetune import finetune_classifier
    from simap.coding.supervised import label_targets, venture_texts
    from simap.embed import get_embedder

    ids = sorted(set(labels["venture_id"]) & set(segments["venture_id"]))
    folder = models_dir(store) / f"finetuned-{codebook.version}-{len(ids)}"
    path = finetune_classifier(
        venture_texts(segments, ids, ventures),
        label_targets(labels, ids, codebook.ids()),
        folder,
        progress=progress,
    )
    return get_embedder("minilm", model=str(path))


def _latest_train_run(store: Store, codebook: Codebook) -> Any:
    """The newest finished train run for this codebook version, or None."""
    from sqlalchemy import select

    from simap.store.schema import Run

    with store.session() as session:
        return session.execute(
            select(Run)
            .where(Run.kind == "train", Run.status == "done", Run.codebook_version == codebook.version)
            .order_by(Run.id.desc())
            .limit(1)
        ).scalar_one_or_none()


def last_train_params(store: Store, codebook: Codebook) -> dict[str, Any] | None:
    """The options the newest model of this codebook version was trained with (to retrain alike)."""
    run = _latest_train_run(store, codebook)
    return (run.stats or {}).get("train_params") if run is not None else None


def last_train_finetuned(store: Store, codebook: Codebook) -> bool:
    """Whether the newest model of this codebook version was trained with ``--finetune``."""
    run = _latest_train_run(store, codebook)
    return bool((run.stats or {}).get("finetune")) if run is not None else False


def load_trained(store: Store, codebook: Codebook) -> tuple[SupervisedCoder, int]:
    """The newest trained model for this codebook version, and its run id."""
    import joblib

    run = _latest_train_run(store, codebook)
    if run is None:
        raise NotFound(
            f"no trained model for codebook {codebook.name}@{codebook.version}.",
            hint="run `simap train` first",
        )
    path = Path(run.stats["path"])
    if not path.exists():
        raise NotFound(
            f"the model file of train run {run.id} is missing: {path}.", hint="run `simap train` again"
        )
    coder = joblib.load(path)
    return coder, int(run.id)


def decisions_since_training(store: Store, codebook: Codebook) -> int:
    """Human decisions logged since the newest train run for this codebook (for auto-retraining)."""
    from sqlalchemy import func, select

    from simap.store.schema import Event, Run

    with store.session() as session:
        last = session.execute(
            select(func.max(Run.started_at)).where(
                Run.kind == "train", Run.codebook_version == codebook.version
            )
        ).scalar_one_or_none()
        q = (
            select(func.count())
            .select_from(Event)
            .where(Event.action.in_(["code_accepted", "code_rejected", "human_codes_imported"]))
        )
        if last is not None:
            q = q.where(Event.ts > last)
        return int(session.execute(q).scalar_one())


def learning_curve(
    codebook: Codebook,
    segments: pd.DataFrame,
    labels: pd.DataFrame,
    embedder: Embedder,
    *,
    sizes: list[int] | None = None,
    folds: int = 5,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    ventures: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Cross-validated scores of the learning coder trained on n = ``sizes`` labelled ventures.

    Each fold's held-out ventures are coded by a coder trained on the first n ventures of the
    other folds; scores are pooled over all held-out venture x code decisions. ``brier`` is the
    Brier score of the held-out scores; ``curve.attrs["oof"]`` keeps the held-out scores and
    answers (venture_id, code_id, score, truth) of the largest size.
    """
    from simap.embed.cache import MemoryCache

    ids = sorted(set(labels["venture_id"]) & set(segments["venture_id"]))
    if len(ids) < folds:
        raise InvalidInput(
            f"cross-validation with {folds} folds needs at least {folds} labelled ventures; got {len(ids)}.",
            field="cv",
            hint="label more ventures or lower --cv",
        )
    gold: dict[str, set[str]] = {v: set() for v in ids}
    for v, c, st in zip(labels["venture_id"], labels["code_id"], labels["status"], strict=True):
        if st == "accepted" and v in gold:
            gold[v].add(c)
    rng = np.random.default_rng(seed)
    order = [ids[i] for i in rng.permutation(len(ids))]
    fold_of = {v: i % folds for i, v in enumerate(order)}
    max_train = len(ids) - (len(ids) + folds - 1) // folds
    sizes = sorted({min(n, max_train) for n in (sizes or [0, 10, 25, 50, 100, 200, 500, 1000])})
    cache = MemoryCache() if getattr(embedder, "cacheable", False) else None
    preds: dict[int, dict[str, set[str]]] = {n: {} for n in sizes}
    scores: dict[int, list[pd.DataFrame]] = {n: [] for n in sizes}
    corpus = segments["text"].tolist()
    for f in range(folds):
        test = [v for v in order if fold_of[v] == f]
        pool = [v for v in order if fold_of[v] != f]
        test_seg = segments[segments["venture_id"].isin(set(test))]
        for n in sizes:
            train_ids = set(pool[:n])
            coder = SupervisedCoder(embedder, cache=cache, **(params or {}))
            coder.fit(
                codebook,
                corpus=corpus,
                segments=segments[segments["venture_id"].isin(train_ids)],
                labels=labels[labels["venture_id"].isin(train_ids)],
                ventures=ventures,
            )
            out = coder.predict(test_seg, ventures=ventures)
            scores[n].append(out[["venture_id", "code_id", "score"]])
            present = out[out["score"] >= 0.5]
            for v in test:
                preds[n][v] = set(present.loc[present["venture_id"] == v, "code_id"])
            if progress:
                progress("cross-validate", f * len(sizes) + sizes.index(n) + 1, folds * len(sizes))
    rows = []
    oof: dict[int, pd.DataFrame] = {}
    for n in sizes:
        rep = compare(gold, preds[n], codebook.ids())
        frame = pd.concat(scores[n], ignore_index=True) if scores[n] else pd.DataFrame()
        if len(frame):
            frame["truth"] = [
                c in gold.get(v, set()) for v, c in zip(frame["venture_id"], frame["code_id"], strict=True)
            ]
        oof[n] = frame
        rows.append(
            {
                "labels": n,
                **{
                    k: round(rep.pooled[k], 4)
                    for k in ("kappa", "alpha", "f1", "macro_f1", "precision", "recall")
                },
                "brier": round(brier_score(frame["score"], frame["truth"]), 4)
                if len(frame)
                else float("nan"),
            }
        )
    curve = pd.DataFrame(rows)
    # the held-out scores at the largest size: for the reliability diagram (simap evaluate --chart)
    curve.attrs["oof"] = oof[sizes[-1]]
    return curve


def learning_curve_svg(curve: pd.DataFrame, *, width: int = 480, height: int = 260) -> str:
    """A small self-contained SVG line chart of kappa and F1 against the number of labels."""
    pad = 40
    xs = curve["labels"].to_numpy(dtype=float)
    xmax = max(float(xs.max()), 1.0)

    def px(x: float) -> float:
        return pad + (width - 2 * pad) * x / xmax

    def py(y: float) -> float:
        return height - pad - (height - 2 * pad) * max(min(y, 1.0), 0.0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Learning curve: pooled kappa and F1 by number of labelled ventures">',
        f'<line x1="{pad}" y1="{py(0)}" x2="{width - pad}" y2="{py(0)}" stroke="#999"/>',
        f'<line x1="{pad}" y1="{py(0)}" x2="{pad}" y2="{py(1)}" stroke="#999"/>',
    ]
    for t in (0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{pad - 6}" y="{py(t) + 4}" font-size="10" text-anchor="end">{t:.2f}</text>')
    for x in xs:
        parts.append(
            f'<text x="{px(x)}" y="{height - pad + 14}" font-size="10" text-anchor="middle">{int(x)}</text>'
        )
    for col, color in (("kappa", "#1f6feb"), ("f1", "#d9480f")):
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, curve[col], strict=True))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>')
        parts.append(
            f'<text x="{width - pad + 4}" y="{py(float(curve[col].iloc[-1])) + 4}" font-size="11" '
            f'fill="{color}">{col}</text>'
        )
    parts.append(
        f'<text x="{width / 2}" y="{height - 6}" font-size="11" text-anchor="middle">labelled ventures'
        "</text></svg>"
    )
    return "\n".join(parts)
