#!/usr/bin/python3
"""Fixtures for data/csv.hpp, data/xlsx.hpp, data/casme2.hpp and data/image_folder.hpp.

Usage: casme2_fixtures.py <out_dir>   (the directory is emptied first)

Everything is written by the tools the real files come from: workbooks by openpyxl (and, for shared
strings and rich text, which openpyxl 3.0 does not write, rewritten the way Excel stores them), CSV by
Python's csv module, JPEG and PNG frames by PIL.

CASME II (see the comment above write_casme below for the sheet's rows):
  sheet.xlsx            the coding sheet with shared strings and a rich-text cell (as Excel writes it)
  sheet_openpyxl.xlsx   the same sheet as openpyxl writes it (inline strings)
  sheet.csv             its CSV export (UTF-8 with BOM, CRLF, as Excel's "CSV UTF-8")
  unknown_emotion.xlsx / .csv   + a row whose emotion is "contempt"
  missing_clip.csv      + a row naming a clip folder that does not exist
  raw/                  CASME2_RAW_selected layout: sub01/EP02_01f/img9.jpg (12 x 10 colour JPEG)
  cropped/              CASME2_Cropped layout: sub01/EP02_01f/reg_img9.jpg (8 x 9 gray JPEG)
  missing_frame/ corrupt/ text_file/ ambiguous/ mixed/    broken copies of raw/ (see write_broken)
  frames.csv            every frame of raw/ and cropped/: layout, clip, frame, file, expected gray level
Generic xlsx:
  cells.xlsx            two sheets ("Values", "Second") of typed cells; cells_expected.txt holds the rows of
                        "Values" as the reader must return them (a line per row: count, then hex fields)
CSV:
  tricky.csv            rows Python's csv writes with quotes, commas and line breaks; tricky_expected.txt
Image folders (torchvision ImageFolder layout):
  folder/               classes with nested folders and mixed-case names; folder_manifest.csv;
                        folder_expected.csv: the order of torchvision's make_dataset, transcribed below
  folder_text/ folder_empty_class/ folder_none/ and manifests folder_manifest_missing.csv,
  folder_manifest_partial.csv: broken variants
"""
import csv
import io
import os
import re
import shutil
import sys
import zipfile

import openpyxl
from PIL import Image

out = sys.argv[1]
if os.path.isdir(out):
    shutil.rmtree(out)
os.makedirs(out)


def path(*parts):
    return os.path.join(out, *parts)


# --- workbooks -------------------------------------------------------------------------------------------

def save_workbook(name, sheets):
    """sheets: [(title, rows)]; a row is a list of cell values (None leaves the cell out)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
    wb.save(path(name))


INLINE = re.compile(r'<c ([^>]*?)t="inlineStr"([^>]*)><is><t(?: [^>]*)?>(.*?)</t></is></c>', re.S)


def to_shared_strings(name, rich=None):
    """Rewrites an openpyxl workbook the way Excel stores strings: every inline string cell becomes an index
    into xl/sharedStrings.xml (with its relationship and content type). rich maps a string to the <si> body
    to store instead of a plain <t>: rich-text runs, as Excel writes a cell with mixed formatting."""
    rich = rich or {}
    src = zipfile.ZipFile(path(name))
    members = {n: src.read(n) for n in src.namelist()}
    src.close()
    strings = []

    def shared(m):
        text = m.group(3)
        if text not in strings:
            strings.append(text)
        return '<c %st="s"%s><v>%d</v></c>' % (m.group(1), m.group(2), strings.index(text))

    for n in list(members):
        if n.startswith("xl/worksheets/") and n.endswith(".xml"):
            members[n] = INLINE.sub(shared, members[n].decode("utf-8")).encode("utf-8")
    items = []
    for s in strings:
        body = rich.get(s, '<t xml:space="preserve">%s</t>' % s)
        items.append("<si>%s</si>" % body)
    members["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'
        % (len(strings), len(strings), "".join(items))).encode("utf-8")
    rels = members["xl/_rels/workbook.xml.rels"].decode("utf-8")
    rels = rels.replace("</Relationships>",
                        '<Relationship Id="rIdShared" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                        'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    members["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
    types = members["[Content_Types].xml"].decode("utf-8")
    types = types.replace("</Types>",
                          '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                          'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    members["[Content_Types].xml"] = types.encode("utf-8")
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in members.items():
            z.writestr(n, data)


def shown(value):
    """A cell value as a CSV export (and fergen's reader) shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return "%.15g" % value
    return str(value)


def save_csv(name, rows, bom=True):
    with open(path(name), "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        w = csv.writer(f)  # excel dialect: CRLF, minimal quoting
        for row in rows:
            w.writerow([shown(v) for v in row])


def hex_rows(name, rows):
    """count, then each field as hex ('-' for empty): exact bytes without a parser on the C++ side."""
    with open(path(name), "w") as f:
        for row in rows:
            f.write(" ".join([str(len(row))] + [v.encode("utf-8").hex() or "-" for v in row]) + "\n")


# --- CASME II ------------------------------------------------------------------------------------------

# Laid out like CASME2-coding-20140508.xlsx: header in row 1, Subject as integers; plus blank columns
# between fields and the quirks the reader must resolve and report:
#   row 3: ApexFrame "/"            row 4: emotion " Disgust ", Filename EP01_12 for folder EP01_12f
#   row 6: Filename in other case    row 8: Filename with a trailing space
#   row 9: blank                     row 11: offset before onset      row 12: no onset/offset
HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
          "Estimated Emotion"]
ROWS = [
    [1, "EP02_01f", None, 9, 10, 11, None, "12", "happiness"],
    [1, "EP03_02", None, 5, "/", 8, None, "1+2", "surprise"],
    [2, "EP01_12", None, 98, 100, 101, None, "4", " Disgust "],
    [2, "EP05_03f", None, 1, 2, 3, None, "4+7", "fear"],
    [3, "Ep07_01", None, 20, 21, 22, None, "14", "repression"],
    [3, "EP08_02f", None, 4, 5, 6, None, "R12", "others"],
    [3, "EP09_01 ", None, 1, 1, 2, None, "15", "sadness"],
    [None] * 9,
    [4, "EP10_01", None, 3, 3, 3, None, "12", "happiness"],
    [4, "EP11_01", None, 10, None, 5, None, None, "surprise"],
    [4, "EP12_01", None, None, None, None, None, None, "others"],
]
# Folder of each clip in the tree, its subject and frame numbers present (a few outside onset..offset).
CLIPS = [
    ("sub01", "EP02_01f", [8, 9, 10, 11, 12]),
    ("sub01", "EP03_02", [5, 6, 7, 8]),
    ("sub02", "EP01_12f", [98, 99, 100, 101]),
    ("sub02", "EP05_03f", [1, 2, 3]),
    ("sub03", "EP07_01", [20, 21, 22]),
    ("sub03", "EP08_02f", [4, 5, 6]),
    ("sub03", "EP09_01", [1, 2]),
    ("sub04", "EP10_01", [3]),
]


def raw_colour(frame):
    v = (frame * 37) % 200 + 20
    return (v, (v + 50) % 256, (v + 100) % 256)


def raw_gray(frame):  # BT.601 luma of raw_colour, the value the loader's gray frames approximate
    r, g, b = raw_colour(frame)
    return 0.299 * r + 0.587 * g + 0.114 * b


def cropped_gray(frame):
    return (frame * 53) % 180 + 40


def write_tree(root, layout):
    for subject, clip, frames in CLIPS:
        d = os.path.join(root, subject, clip)
        os.makedirs(d, exist_ok=True)
        for n in frames:
            if layout == "raw":
                Image.new("RGB", (12, 10), raw_colour(n)).save(os.path.join(d, "img%d.jpg" % n), quality=95)
            else:
                Image.new("L", (8, 9), cropped_gray(n)).save(os.path.join(d, "reg_img%d.jpg" % n), quality=95)


def write_casme():
    rich = {" Disgust ": '<r><t xml:space="preserve"> Dis</t></r><r><rPr><b/></rPr><t xml:space="preserve">gust </t>'
                         '</r><rPh sb="0" eb="1"><t>x</t></rPh>'}
    save_workbook("sheet.xlsx", [("Sheet1", [HEADER] + ROWS)])
    shutil.copy(path("sheet.xlsx"), path("sheet_openpyxl.xlsx"))
    to_shared_strings("sheet.xlsx", rich)
    save_csv("sheet.csv", [HEADER] + ROWS)

    unknown = ROWS + [[4, "EP13_01", None, 1, 2, 3, None, "4", "contempt"]]
    save_workbook("unknown_emotion.xlsx", [("Sheet1", [HEADER] + unknown)])
    to_shared_strings("unknown_emotion.xlsx")
    save_csv("unknown_emotion.csv", [HEADER] + unknown)
    save_csv("missing_clip.csv", [HEADER] + ROWS + [[1, "EP99_99", None, 1, 2, 3, None, "12", "happiness"]])

    write_tree(path("raw"), "raw")
    write_tree(path("cropped"), "cropped")
    with open(path("frames.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["layout", "clip", "frame", "file", "gray"])
        for subject, clip, frames in CLIPS:
            for n in frames:
                w.writerow(["raw", subject + "/" + clip, n, "raw/%s/%s/img%d.jpg" % (subject, clip, n),
                            "%.4f" % raw_gray(n)])
                w.writerow(["cropped", subject + "/" + clip, n, "cropped/%s/%s/reg_img%d.jpg" % (subject, clip, n),
                            "%d" % cropped_gray(n)])


def write_broken():
    # missing_frame: frame 10 of sub01/EP02_01f (row 2) is gone.
    shutil.copytree(path("raw"), path("missing_frame"))
    os.remove(path("missing_frame", "sub01", "EP02_01f", "img10.jpg"))
    # corrupt: frame 99 of sub02/EP01_12f (row 4) is a JPEG cut after its header, with garbage after.
    shutil.copytree(path("raw"), path("corrupt"))
    with open(path("corrupt", "sub02", "EP01_12f", "img99.jpg"), "r+b") as f:
        head = f.read(40)
        f.seek(0)
        f.truncate()
        f.write(head + bytes(range(7, 250, 3)))
    # text_file: frame 21 of sub03/EP07_01 (row 6) is a text file img21.txt; notes.txt is a stray file.
    shutil.copytree(path("raw"), path("text_file"))
    os.remove(path("text_file", "sub03", "EP07_01", "img21.jpg"))
    with open(path("text_file", "sub03", "EP07_01", "img21.txt"), "w") as f:
        f.write("frame 21 was exported as text\n")
    with open(path("text_file", "sub03", "EP07_01", "notes.txt"), "w") as f:
        f.write("stray notes\n")
    # ambiguous: the sheet's EP01_12 (row 4) could be EP01_12f or EP01_12g.
    shutil.copytree(path("raw"), path("ambiguous"))
    shutil.copytree(path("raw", "sub02", "EP01_12f"), path("ambiguous", "sub02", "EP01_12g"))
    # mixed: one clip folder holding both layouts' frames.
    d = path("mixed", "sub01", "EP02_01f")
    os.makedirs(d)
    for n in (9, 10, 11):
        Image.new("RGB", (12, 10), raw_colour(n)).save(os.path.join(d, "img%d.jpg" % n))
        Image.new("L", (8, 9), cropped_gray(n)).save(os.path.join(d, "reg_img%d.jpg" % n))


# --- generic xlsx and csv -------------------------------------------------------------------------------

def write_cells():
    values = [
        ["text", 46, 46.0, 1.5, True, False, None, "end"],
        [],
        [None, None, "C3 after blanks", None, 0.1 + 0.2, -7, 1e20, 123456789012],
        ["line\nbreak", "quote \" inside", "comma, inside", "  spaced  ", "unicode \u00e9\u4e2d", 2.5e-7],
    ]
    second = [["only", "in", "Second"], [1, 2, 3]]
    save_workbook("cells.xlsx", [("Values", values), ("Second", second)])
    to_shared_strings("cells.xlsx")
    expected = []
    for row in values:
        last = max([i + 1 for i, v in enumerate(row) if v is not None] or [0])
        expected.append([shown(v) for v in row[:last]])
    hex_rows("cells_expected.txt", expected)
    hex_rows("second_expected.txt", [[shown(v) for v in row] for row in second])

    tricky = [["a", "b,c", 'say "hi"', ""], ["multi\nline", "crlf\r\ninside", " lead", "trail "], [],
              [""], ["x"], ["", "", ""], ["\u00fcnicode", "tab\there"]]
    with open(path("tricky.csv"), "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(tricky)
    hex_rows("tricky_expected.txt", tricky)


# --- image folders --------------------------------------------------------------------------------------

IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")


def make_dataset(directory):
    """torchvision 0.14's datasets.folder.find_classes + make_dataset, transcribed (torchvision is not a
    Debian package here), with the extensions fergen reads."""
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    instances = []
    for class_index, target_class in enumerate(classes):
        target_dir = os.path.join(directory, target_class)
        for root, _, fnames in sorted(os.walk(target_dir, followlinks=True)):
            for fname in sorted(fnames):
                p = os.path.join(root, fname)
                if p.lower().endswith(IMG_EXTENSIONS):
                    instances.append((p, class_index))
    return classes, instances


def folder_image(p, value, mode="L"):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    colour = value if mode == "L" else (value, value // 2, 255 - value)
    Image.new(mode, (6, 5), colour).save(p)  # PNG and BMP are lossless: the values are exact


def write_folders():
    root = path("folder")
    files = [
        ("Zebra/b.png", "L"), ("Zebra/a.PNG", "L"),
        ("apple/img10.png", "L"), ("apple/img9.png", "RGB"), ("apple/IMG2.bmp", "L"),
        ("apple/sub/a.png", "L"), ("apple/sub-x/b.png", "L"), ("apple/sub/deeper/c.png", "L"),
        ("b_c/one.png", "RGB"), ("b-c/two.png", "L"),
    ]
    with open(path("folder_manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["File", "Subject", "Clip", "Frame"])
        for i, (name, mode) in enumerate(files):
            folder_image(os.path.join(root, name), 10 + 20 * i, mode)
            w.writerow([name, "s%d" % (i % 3), "s%d/c%d" % (i % 3, i), i if i % 4 else ""])
    with open(os.path.join(root, "apple", ".DS_Store"), "w") as f:
        f.write("hidden")
    classes, instances = make_dataset(root)
    values = {name: 10 + 20 * i for i, (name, _) in enumerate(files)}
    with open(path("folder_expected.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label", "class", "value"])
        for p, label in instances:
            rel = os.path.relpath(p, root).replace(os.sep, "/")
            w.writerow([rel, label, classes[label], values[rel]])

    shutil.copytree(root, path("folder_text"))
    with open(path("folder_text", "b_c", "readme.txt"), "w") as f:
        f.write("not an image")
    shutil.copytree(root, path("folder_empty_class"))
    os.makedirs(path("folder_empty_class", "empty"))
    os.makedirs(path("folder_none"))
    with open(path("folder_none", "loose.png"), "wb") as f:
        f.write(open(os.path.join(root, "Zebra", "b.png"), "rb").read())
    with open(path("folder_manifest_missing.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "subject", "clip"])
        for name, _ in files:
            w.writerow([name, "s", "c"])
        w.writerow(["apple/ghost.png", "s", "c"])
    with open(path("folder_manifest_partial.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "subject", "clip"])
        for name, _ in files:
            if name != "apple/img9.png":
                w.writerow([name, "s", "c"])


write_casme()
write_broken()
write_cells()
write_folders()
with open(path("index.txt"), "w") as f:
    f.write("done\n")
