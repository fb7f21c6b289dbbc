"""Score sheets between the database and xlsx: export a template for recorded samples, import a filled one.

An import is checked whole before anything is kept: a bad cell in the second worksheet leaves the first
unrecorded too, so the inspector fixes the file and imports it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from duban.domain.scoring import check_scores, find_sheet
from duban.errors import SubmissionError
from duban.instants import in_zone
from duban.services.score_xlsx import SampleRows, read_scores, write_template
from duban.services.scores import ScoreError, ScoreOutcome, hidden_problems, record_scores
from duban.services.submit import not_a_file
from duban.spec.models import ScoreSheet
from duban.views.campaigns import load_campaign
from duban.views.samples import sample_members

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class Imported:
    sheet: ScoreSheet
    outcomes: dict[str, list[ScoreOutcome]]  # sample id → outcomes


def export_template(
    engine: Engine,
    campaign_id: str,
    sample_ids: list[str],
    out: Path,
    *,
    sheet_id: str | None = None,
    under: str | None = None,
) -> tuple[ScoreSheet, dict[str, int]]:
    """Write the score sheet template for the recorded samples (only units below `under`, when given)."""
    campaign = load_campaign(engine, campaign_id)
    sheet = find_sheet(campaign.spec, sheet_id, sample_ids[0])
    names = {s.id: s.name for s in campaign.spec.samples}
    sheets = []
    for sample_id in sample_ids:
        if sample_id not in sheet.samples:
            raise SubmissionError(
                f"score sheet {sheet.id!r} does not score sample {sample_id!r} (it scores {'、'.join(sheet.samples)})"
            )
        members = [
            c for c in sample_members(engine, campaign_id, sample_id) if under is None or campaign.is_below(c, under)
        ]
        units = [
            (c, campaign.display(c), campaign.display(campaign.units[c].parent) if c in campaign.units else "")
            for c in members
        ]
        sheets.append(SampleRows(sample_id, names[sample_id], units))
    write_template(out, campaign_id, sheet, sheets)
    return sheet, {rows.sample_id: len(rows.units) for rows in sheets}


def import_workbook(
    engine: Engine,
    campaign_id: str,
    path: Path,
    *,
    at: datetime,
    sheet_id: str | None = None,
    actor: str = "cli",
    calendar_file: Path | None = None,
) -> Imported:
    """Read a filled template, check every worksheet, then record each sample's scores."""
    if not path.is_file():
        raise not_a_file(path)
    campaign = load_campaign(engine, campaign_id)
    sheets = [s for s in campaign.spec.score_sheets if sheet_id in (None, s.id)]
    if not sheets:
        raise SubmissionError(f"campaign {campaign_id!r} has no score sheet" + (f" {sheet_id!r}" if sheet_id else ""))
    sheet = sheets[0]
    samples = {s.id: s.name for s in campaign.spec.samples if s.id in sheet.samples}
    by_name = {campaign.display(code): code for code in campaign.units}
    found = read_scores(path, sheet, campaign_id, samples, by_name, today=in_zone(at, campaign.tz).date())
    names = {code: campaign.display(code) for code in campaign.units}
    problems = []
    for sample_id, entries in found.items():
        if entries:
            problems += hidden_problems(engine, campaign, sample_id, at)
        problems += check_scores(sheet, entries, sample_members(engine, campaign_id, sample_id), names)
    if problems:
        raise ScoreError(problems)
    source = f"{path.name} sha256:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
    outcomes = {
        sample_id: record_scores(
            engine,
            campaign_id,
            sample_id,
            entries,
            at=at,
            sheet_id=sheet.id,
            actor=actor,
            source=source,
            calendar_file=calendar_file,
        )
        for sample_id, entries in found.items()
        if entries
    }
    return Imported(sheet, outcomes)
