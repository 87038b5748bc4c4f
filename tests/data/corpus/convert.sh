#!/bin/sh
# Saves the corpus's .xlsx files as .xls / .ods with LibreOffice: every workbook that has an
# expectation for its .xls or .ods copy (written by `cargo run --example make_corpus`).
set -eu
cd "$(dirname "$0")"
for expect in *.xls.expect.toml *.ods.expect.toml; do
    copy="${expect%.expect.toml}"
    ext="${copy##*.}"
    soffice --headless --convert-to "$ext" --outdir . "${copy%.*}.xlsx"
done
