"""Regenerate the README's screenshots from a running demo (python manage.py demo 127.0.0.1:8765).

Uses Playwright with Debian's chromium and writes small palette PNGs to docs/screenshots/. The PDF page (the
incident report's executive summary, page 2 after the cover) is rendered with render_report and pdftoppm. Run
from the repository root: python docs/take_screenshots.py (DEMO_URL=http://127.0.0.1:PORT for another port).
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

BASE = os.environ.get("DEMO_URL", "http://127.0.0.1:8765")
OUT = Path(__file__).resolve().parent / "screenshots"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def shrink(source: Path, target: Path, *, width=960, max_height=1400):
    image = Image.open(source).convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image = image.crop((0, 0, image.width, min(image.height, max_height)))
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def login(user):
            page.context.clear_cookies()
            page.goto(f"{BASE}/login/")
            page.fill("#id_username", user)
            page.fill("#id_password", "gatehouse-demo")
            page.click("button[type=submit]")
            page.wait_for_load_state()

        def shot(name, full=False, start=None, end=None):
            """The viewport, the whole page, or the band of the page from selector start down to selector end."""
            path = tmp / f"{name}.png"
            if start:
                top = max(page.locator(start).bounding_box()["y"] - 24, 0)
                bottom = page.locator(end).bounding_box()["y"] - 24
                page.screenshot(path=str(path), full_page=True,
                                clip={"x": 0, "y": top, "width": 1280, "height": bottom - top})
            else:
                page.screenshot(path=str(path), full_page=full)
            shots.append((path, OUT / f"{name}.png"))

        login("cole")
        shot("dashboard")
        page.goto(f"{BASE}/launches/?q=Recommender")
        page.click("text=Recommender 7.0 full rollout")
        # The whole evaluation: verdicts, interval charts, the too-small segment and champion vs challenger.
        shot("e4-inconclusive-fairness", start="#eval-h", end="#checklist-h")
        page.goto(f"{BASE}/incidents/?q=Device-metadata")
        page.click("text=Device-metadata feature")
        shot("e1-incident", full=True)
        page.goto(f"{BASE}/launches/?q=Homepage")
        page.click("text=Homepage ranking 3.0")
        # From the top: the memo, the signatures with the recorded dissent, the plan and its guardrail charts.
        shot("e2-guardrails", full=True)
        page.goto(f"{BASE}/policies/TIER_1/")
        # The policy as it stands and the changes the incident's action items made to it.
        shot("tier1-policy", start="body", end="h2:has-text(\"Checklist template\")")
        browser.close()
    for source, target in shots:
        shrink(source, target)
    pdf = tmp / "e1.pdf"
    incident = os.environ.get("E1_INCIDENT_ID", "1")
    subprocess.run([sys.executable, "manage.py", "render_report", "INCIDENT_REPORT", incident, "-o", str(pdf)],
                   check=True)
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "2", "-l", "2", str(pdf), str(tmp / "page")], check=True)
    first = next(tmp.glob("page*.png"))
    shrink(first, OUT / "e1-incident-report-summary.png", width=620)
    print("\n".join(str(t) for _, t in shots))


if __name__ == "__main__":
    main()
