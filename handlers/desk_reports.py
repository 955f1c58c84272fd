"""The monthly report as a table: the printable page, the CSV and the XLSX share it.

Numbers stay numbers (counts, shares 0-1, hours with one decimal) so a spreadsheet can
sum and chart them; the page formats them for people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.report import Figures, MonthlyReport

# (catalog key of the column heading, the value of one line's figures)
_COLUMNS: tuple[tuple[str, Callable[[Figures], object]], ...] = (
    ("report_received", lambda f: f.received),
    ("report_decided", lambda f: f.response.decided),
    ("report_on_time", lambda f: f.response.on_time),
    ("report_on_time_share", lambda f: _share(f.response.on_time, f.response.decided)),
    ("report_overdue_end", lambda f: f.overdue_at_end),
    ("report_median_hours", lambda f: _hours(f.response.median_response)),
    ("report_p90_hours", lambda f: _hours(f.response.p90_response)),
    ("report_resolved", lambda f: f.resolved),
    ("report_confirmed", lambda f: f.confirmed),
    ("report_rated", lambda f: f.rated),
    ("report_rating", lambda f: round(f.average_rating, 2) if f.average_rating else None),
    ("report_reopened", lambda f: f.reopened),
    ("report_moved_away", lambda f: f.moved_away),
)
SHARE_COLUMN = "report_on_time_share"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(span: timedelta | None) -> float | None:
    return round(span.total_seconds() / 3600, 1) if span is not None else None


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: its heading and its lines (a name, then the values)."""

    heading: list[str]
    lines: list[list[object]]


def report_tables(
    report: MonthlyReport, t: Callable[..., str], language: str
) -> tuple[ReportTable, ReportTable]:
    """The per-agency table (every agency, then the regency's total) and the
    per-category table."""
    columns = [t(key) for key, _ in _COLUMNS]

    def line(name: str, figures: Figures) -> list[object]:
        return [name, *(value(figures) for _, value in _COLUMNS)]

    agencies = ReportTable(
        [t("overview_agency_col"), *columns],
        [line(agency.display, figures) for agency, figures in report.agencies]
        + [line(t("report_total"), report.total)],
    )
    categories = ReportTable(
        [t("report_category_col"), *columns],
        [line(category.text(language), figures) for category, figures in report.categories]
        + ([line(t("no_category"), report.uncategorised)] if report.uncategorised else []),
    )
    return agencies, categories


def shown_value(key_index: int, value: object) -> str:
    """A value as the printable page shows it (`key_index`: the column, 0 the name)."""
    if value is None:
        return "-"
    if 0 < key_index <= len(_COLUMNS) and _COLUMNS[key_index - 1][0] == SHARE_COLUMN:
        return f"{round(100 * float(value))} %"  # type: ignore[arg-type]
    return str(value)


def report_csv(title: str, tables: Sequence[tuple[str, ReportTable]]) -> str:
    """Both tables in one CSV: a first column says which table the line belongs to."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([title])
    for name, table in tables:
        writer.writerow([])
        writer.writerow(["", *table.heading])
        for values in table.lines:
            writer.writerow([name, *("" if v is None else spreadsheet_safe(v) for v in values)])
    return buffer.getvalue()


def spreadsheet_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula is quoted (the ticket export and
    the report alike); anything else stays as it is."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_xlsx(title: str, made: str, tables: Sequence[tuple[str, ReportTable]]) -> io.BytesIO:
    """One sheet per table: the title and when it was made, the heading, the lines."""
    import xlsxwriter

    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    share = workbook.add_format({"num_format": "0%"})
    share_at = 1 + [key for key, _ in _COLUMNS].index(SHARE_COLUMN)  # after the name
    for name, table in tables:
        sheet = workbook.add_worksheet(name[:31])
        sheet.write_string(0, 0, title, bold)
        sheet.write_string(1, 0, made)
        for column, heading in enumerate(table.heading):
            sheet.write_string(3, column, heading, wrap)
        sheet.set_column(0, 0, 40)
        sheet.set_column(1, len(table.heading) - 1, 12)
        for row, values in enumerate(table.lines, start=4):
            for column, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(row, column, value)
                else:
                    cell_format = share if column == share_at else None
                    sheet.write_number(row, column, float(value), cell_format)  # type: ignore[arg-type]
    workbook.close()
    output.seek(0)
    return output
