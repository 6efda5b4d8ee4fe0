"""Renders a study's report.html in headless Chromium (Debian's chromium) as a reader's browser would, and
fails unless the page loads with no console message, every image decodes, and the screenshot shows a page
(not a blank or error page).

    /usr/bin/python3 check_report_html.py REPORT.html SCREENSHOT.png [--min-images N]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from PIL import Image, ImageStat

parser = argparse.ArgumentParser()
parser.add_argument("html")
parser.add_argument("screenshot")
parser.add_argument("--min-images", type=int, default=1)
args = parser.parse_args()

chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    sys.exit("chromium not found: the report test needs Debian's chromium (scripts/install-deps.sh --tests installs it)")
url = "file://" + os.path.abspath(args.html)
# The flags that keep a headless Chromium from reaching for the network on a machine that has none.
flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0"]

with tempfile.TemporaryDirectory() as profile:
    dom = subprocess.run([chromium, *flags, "--user-data-dir=" + profile, "--virtual-time-budget=5000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=120)
if dom.returncode != 0:
    sys.exit("chromium --dump-dom failed (%d):\n%s" % (dom.returncode, dom.stderr[-3000:]))
console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
if console:
    sys.exit("the page wrote to the console:\n" + "\n".join(console))
loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom.stdout)
if not loaded:
    sys.exit("the page's load handler did not run (no data-images-loaded attribute in the rendered DOM)")
ok, total = int(loaded.group(1)), int(loaded.group(2))
if total < args.min_images or ok != total:
    sys.exit("images: %d of %d decoded (at least %d expected)" % (ok, total, args.min_images))

with tempfile.TemporaryDirectory() as profile:
    shot = subprocess.run([chromium, *flags, "--user-data-dir=" + profile, "--window-size=1280,2000",
                           "--screenshot=" + os.path.abspath(args.screenshot), url],
                          capture_output=True, text=True, timeout=120)
if shot.returncode != 0 or not os.path.exists(args.screenshot):
    sys.exit("chromium --screenshot failed (%d):\n%s" % (shot.returncode, shot.stderr[-3000:]))
img = Image.open(args.screenshot).convert("L")
spread = ImageStat.Stat(img).stddev[0]
if img.size != (1280, 2000) or spread < 10:
    sys.exit("the screenshot looks empty: size %s, pixel standard deviation %.1f" % (img.size, spread))
print("report renders: %d of %d images decoded, no console messages; screenshot %s (%dx%d, pixel sd %.1f)"
      % (ok, total, args.screenshot, img.size[0], img.size[1], spread))
