"""Baseline for the ingest benchmark: the same work as `chiso ingest` on the long-layout
workbook, done the plain way with pandas + openpyxl + sqlite3.

Reads the sheet, finds the header, maps unit codes to agencies, parses item numbers and
values written the Vietnamese way ("85,5%", "Hoàn thành"), refuses what does not fit, and
stores the observations in one transaction. Prints `RESULT <seconds> <peak RSS kB>`.

    pip install pandas openpyxl
    python3 benches/baseline_ingest.py target/bench/ingest-200000.xlsx /tmp/baseline.db
"""
import os
import re
import resource
import sqlite3
import sys
import time
import unicodedata

import pandas as pd

STATUS = {"hoàn thành": "done", "đang thực hiện": "in_progress", "chưa thực hiện": "not_done", "thường xuyên": "ongoing"}


def fold(s):
    return " ".join(unicodedata.normalize("NFC", str(s)).lower().split())


def parse_number(s):
    s = s.strip()
    if "," in s and "." not in s:
        s = s.replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
        s = s.replace(".", "")
    return float(s)


def main(path, db_path):
    started = time.perf_counter()
    raw = pd.read_excel(path, sheet_name=0, header=None, engine="openpyxl", dtype=object)
    header_row = next(i for i in range(20) if any(fold(v) == "stt" for v in raw.iloc[i].tolist() if isinstance(v, str)))
    df = raw.iloc[header_row + 1 :]
    df.columns = [fold(c) for c in raw.iloc[header_row].tolist()]
    agencies = {str(900000 + c): f"bench_x{900000 + c}" for c in range(4600)}
    obs, rejects = [], []
    for i, row in enumerate(df.itertuples(index=False), start=header_row + 2):
        unit, item, value = str(row[0]), str(row[2]).rstrip("."), row[4]
        agency = agencies.get(unit)
        if agency is None:
            rejects.append((f"E{i}", "unknown_unit"))
            continue
        if isinstance(value, (int, float)):
            kind, num, status = "percent", float(value), None
        else:
            text = fold(value)
            if text in STATUS:
                kind, num, status = "status", None, STATUS[text]
            else:
                try:
                    kind, num, status = "percent", parse_number(text.rstrip("%").strip()), None
                except ValueError:
                    rejects.append((f"E{i}", "unreadable"))
                    continue
        if kind == "percent" and not 0 <= num <= 100:
            rejects.append((f"E{i}", "out_of_range"))
            continue
        obs.append((20242, int(item), "", agency, kind, num, status, str(value), None, 1, f"Cấp xã!E{i}"))
    if os.path.exists(db_path):
        os.remove(db_path)
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "CREATE TABLE observations (id INTEGER PRIMARY KEY, period INTEGER, indicator_id INTEGER, measure TEXT, agency_id TEXT,"
        " kind TEXT, value_num REAL, value_status TEXT, raw_text TEXT, note TEXT, ingestion_id INTEGER, location TEXT)"
    )
    con.execute("CREATE INDEX observations_current ON observations (period, indicator_id, agency_id, measure)")
    with con:
        con.executemany(
            "INSERT INTO observations (period, indicator_id, measure, agency_id, kind, value_num, value_status, raw_text, note,"
            " ingestion_id, location) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            obs,
        )
    con.close()
    secs = time.perf_counter() - started
    print(f"stored {len(obs)} observations, {len(rejects)} rejects", file=sys.stderr)
    print(f"RESULT {secs} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
