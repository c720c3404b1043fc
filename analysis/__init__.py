"""Sampling draws, mastery statistics, item analysis, charts, workbook and notice.
Pure functions over DataFrames plus one query layer; no Flask."""
