"""HTML to PDF, in one place: the export package's period report is printed here.

WeasyPrint is imported when a PDF is made (it is slow to import). Nothing but inline ``data:``
URLs may be loaded while rendering, so a hostile value in the page can never make the renderer
fetch a file or a URL. The output carries no creation time: the same page gives the same bytes.
"""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    """``html`` (a self-contained page) as PDF bytes."""
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",))
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
