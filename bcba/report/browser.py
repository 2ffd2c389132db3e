"""Headless Chromium helpers: open a local page with the network off, print to PDF.

Uses the system Chromium (``/usr/bin/chromium``) through Playwright; Playwright's own
browser download is never used. Every request other than the page's own file is blocked
and recorded, so a test can prove a report or map works offline and leaks nothing.

Note: Playwright's sync API cannot run inside a running asyncio loop (a Jupyter kernel);
call these helpers from scripts, tests or the pipeline, not from a notebook cell.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from bcba.errors import BcbaError, MissingInputError

log = logging.getLogger(__name__)

CHROMIUM = Path(os.environ.get("BCBA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--metrics-recording-only",
)


class BrowserMissingError(BcbaError, FileNotFoundError):
    """Headless Chromium (or Playwright) is not installed."""


def chromium_path() -> Path:
    """The Chromium executable; raise a Dutch installation hint when it is absent."""
    found = CHROMIUM if CHROMIUM.exists() else None
    if found is None:
        which = shutil.which("chromium") or shutil.which("chromium-browser")
        found = Path(which) if which else None
    if found is None:
        raise BrowserMissingError(
            f"Chromium is niet gevonden ({CHROMIUM}). Nodig voor PDF en browsertests. "
            "Installeer het als beheerder met: apt-get install -y chromium "
            "(of zet BCBA_CHROMIUM op het pad van een Chromium-browser)."
        )
    return found


@contextlib.contextmanager
def launch() -> Iterator[object]:
    """A headless Chromium (Playwright ``Browser``) with a fresh, throw-away profile."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - dependency is in the dev extras
        raise BrowserMissingError(
            "Het Python-pakket 'playwright' ontbreekt; installeer het met pip install playwright "
            "(de browser zelf komt van apt-get install -y chromium)."
        ) from exc
    with tempfile.TemporaryDirectory(prefix="bcba-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(executable),
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport={"width": 1280, "height": 900},
            offline=False,  # requests are blocked by route(), so they are seen and recorded
            service_workers="block",
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class PageCheck:
    """What happened when a page was opened with the network off."""

    url: str
    requests: list[str] = field(default_factory=list)  # every URL besides the page itself
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # selector -> elements (all frames)
    map_zooms: list[float] = field(default_factory=list)  # zoom of every Leaflet map found
    screenshot: Path | None = None
    evaluated: object = None  # what the ``evaluate`` script returned

    @property
    def ok(self) -> bool:
        """No outside request and no JavaScript error."""
        return not (self.requests or self.console_errors or self.page_errors)


_ZOOMS_JS = """() => (typeof L === 'undefined') ? [] : Object.keys(window)
    .filter(k => k.startsWith('map_') && window[k] instanceof L.Map)
    .map(k => window[k].getZoom())"""


def _block_all_but(page_url: str, seen: list[str]):
    def handler(route) -> None:
        url = route.request.url
        if url == page_url:
            route.continue_()
        else:
            seen.append(url)
            route.abort("blockedbyclient")

    return handler


def open_offline(
    html_path: str | os.PathLike,
    *,
    screenshot: str | os.PathLike | None = None,
    selectors: Sequence[str] = (".leaflet-pane", ".leaflet-overlay-pane path"),
    full_page: bool = False,
    settle_ms: int = 500,
    print_media: bool = False,
    evaluate: str | None = None,
) -> PageCheck:
    """Open a local HTML file in headless Chromium with every other request blocked.

    Parameters
    ----------
    html_path
        The page to open.
    screenshot
        Where to write a PNG screenshot (none when omitted).
    selectors
        CSS selectors to count, summed over the page and all its frames (map iframes).
    full_page
        Screenshot the whole page instead of the viewport.
    settle_ms
        Time to let scripts draw after the load event.
    print_media
        Emulate print media (to see the print stylesheet).
    evaluate
        A JavaScript function run in the page after it settled; its result is kept in
        :attr:`PageCheck.evaluated` (e.g. a layout check).

    Returns
    -------
    PageCheck
        Requests made (blocked), console and page errors, selector counts, screenshot path.
    """
    path = Path(html_path).resolve()
    if not path.is_file():
        raise MissingInputError(f"Pagina niet gevonden: {path}")
    url = path.as_uri()
    check = PageCheck(url=url)
    with launch() as context:
        page = context.new_page()
        context.route("**/*", _block_all_but(url, check.requests))
        page.on(
            "request",
            lambda r: (
                None
                if r.url == url
                or r.url.startswith(("data:", "about:", "blob:"))
                or r.url in check.requests
                else check.requests.append(r.url)
            ),
        )
        page.on(
            "console",
            lambda msg: check.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: check.page_errors.append(str(exc)))
        if print_media:
            page.emulate_media(media="print")
        page.goto(url, wait_until="load")
        page.wait_for_timeout(settle_ms)
        for selector in selectors:
            check.counts[selector] = sum(frame.locator(selector).count() for frame in page.frames)
        for frame in page.frames:
            check.map_zooms.extend(frame.evaluate(_ZOOMS_JS))
        if evaluate is not None:
            check.evaluated = page.evaluate(evaluate)
        if screenshot is not None:
            shot = Path(screenshot)
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=full_page)
            check.screenshot = shot
    log.info("%s offline geopend: %d verzoeken geblokkeerd", path.name, len(check.requests))
    return check


def print_pdf(
    html_path: str | os.PathLike,
    pdf_path: str | os.PathLike,
    *,
    header_template: str,
    footer_template: str,
    paper: str = "A4",
    landscape: bool = False,
    margin: dict[str, str] | None = None,
    settle_ms: int = 800,
    browser: BackgroundBrowser | None = None,
    number_toc=None,
) -> PageCheck:
    """Print a local page to PDF with Chromium (network off), header and footer on every page.

    ``header_template``/``footer_template`` follow Chromium's rules: inline styles only,
    and ``<span class="pageNumber">``/``<span class="totalPages">`` for page numbers.
    With ``browser`` (a :class:`BackgroundBrowser` started earlier) the page is printed
    there instead of in a Chromium started for this page.

    ``number_toc(pdf_bytes, headings) -> {anchor: page}``: when given and the page has a
    table of contents, the page is printed once with a document outline, the page numbers
    are written into the contents, and it is printed again (Chromium has no
    ``target-counter``).
    """
    path = Path(html_path).resolve()
    if not path.is_file():
        raise MissingInputError(f"Pagina niet gevonden: {path}")
    options = {
        "header_template": header_template,
        "footer_template": footer_template,
        "paper": paper,
        "landscape": landscape,
        "margin": margin,
        "settle_ms": settle_ms,
        "number_toc": number_toc,
    }
    if browser is not None:
        return browser.run(_print_page, path, pdf_path, **options)
    with launch() as context:
        return _print_page(context, path, pdf_path, **options)


def _print_page(
    context,
    path: Path,
    pdf_path: str | os.PathLike,
    *,
    header_template: str,
    footer_template: str,
    paper: str,
    landscape: bool,
    margin: dict[str, str] | None,
    settle_ms: int,
    number_toc=None,
) -> PageCheck:
    url = path.as_uri()
    check = PageCheck(url=url)
    page = context.new_page()
    context.route("**/*", _block_all_but(url, check.requests))
    page.on("pageerror", lambda exc: check.page_errors.append(str(exc)))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(settle_ms)
    page.emulate_media(media="print")
    options = {
        "format": paper,
        "landscape": landscape,
        "print_background": True,
        "display_header_footer": True,
        "header_template": header_template,
        "footer_template": footer_template,
        "prefer_css_page_size": True,  # named landscape pages in the annex
        "margin": margin or {"top": "20mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
    }
    if number_toc is not None and page.locator(".bcba-toc-page").count():
        headings = page.evaluate(_HEADINGS_JS)
        numbers = number_toc(page.pdf(outline=True, tagged=True, **options), headings)
        page.evaluate(_FILL_TOC_JS, numbers)
    page.pdf(path=str(pdf_path), **options)
    page.close()
    context.unroute("**/*")
    return check


_HEADINGS_JS = """() => Array.from(document.querySelectorAll('.bcba-toc-page'))
    .map(s => s.dataset.anker)
    .map(id => [id, (document.getElementById(id) || {}).textContent || ''])"""
_FILL_TOC_JS = """(numbers) => document.querySelectorAll('.bcba-toc-page')
    .forEach(s => { s.textContent = numbers[s.dataset.anker] || ''; })"""


class BackgroundBrowser:
    """Headless Chromium started in a thread of its own ahead of use, e.g. while the report
    notebook runs, so that printing need not wait for its start-up (about a second).

    Playwright's sync API belongs to the thread that started it, so the work is done in
    that thread: :meth:`run` hands it a function of the browser context and waits. If
    Chromium cannot start, :meth:`run` raises what :func:`launch` raised. Close it (or use
    it as a context manager) to stop Chromium.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="bcba-chromium", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            with launch() as context:
                while (job := self._jobs.get()) is not None:
                    _do(job, context)
        except BaseException as exc:  # Chromium missing or broken: each caller hears why
            while (job := self._jobs.get()) is not None:
                job[-1].set_exception(exc)

    def run(self, fn, /, *args, **kwargs):
        """``fn(context, *args, **kwargs)`` in the browser's thread; its result or error."""
        if not self._thread.is_alive():
            raise BcbaError("De achtergrondbrowser is al gesloten.")
        future: Future = Future()
        self._jobs.put((fn, args, kwargs, future))
        return future.result()

    def close(self) -> None:
        """Stop Chromium and its thread."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()

    def __enter__(self) -> BackgroundBrowser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _do(job: tuple, context) -> None:
    fn, args, kwargs, future = job
    try:
        future.set_result(fn(context, *args, **kwargs))
    except BaseException as exc:  # handed to the caller, who raises it
        future.set_exception(exc)
