"""``BinaryView``: what a binary product is (size, type guessed from its first bytes), a look
inside when that is safe (text, a FITS file's units, an image) and a Save button — :meth:`save`.

Nothing in the bytes is run or unpickled: FITS is read by astropy's parser, images are shown by the
browser, text is escaped. A type that cannot be guessed saves as ``.bin``.
"""

from __future__ import annotations

import html
import io
import os
import warnings
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from oda_widgets.products import BinaryProduct, guess_file_type

__all__ = ["BinaryView", "human_size"]

#: lines of a text file shown in the preview
PREVIEW_LINES = 30
_BROWSER_IMAGES = {"png", "jpg", "gif", "webp", "bmp"}


def human_size(n: int) -> str:
    """``1536`` → ``1.5 kB`` (powers of 1000, as file managers show)."""
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"


def _fits_summary(data: bytes) -> str:
    from astropy.io import fits

    rows = []
    with warnings.catch_warnings():
        # a damaged file's verification notes: the preview says what failed instead
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        hdul = fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=False)
    with hdul:
        for i, h in enumerate(hdul):
            if getattr(h, "columns", None) is not None:
                n = 0 if h.data is None else len(h.data)
                what = f"table, {n} rows: " + ", ".join(h.columns.names[:12])
                if len(h.columns.names) > 12:
                    what += ", …"
            elif h.data is not None:
                what = "image " + "×".join(str(s) for s in h.data.shape[::-1])
            else:
                what = "header only"
            rows.append(f"<tr><td>{i}</td><td>{html.escape(h.name)}</td><td>{html.escape(what)}</td></tr>")
    return (
        "<table class='oda-binary-fits'><tr><th>#</th><th>unit</th><th>content</th></tr>"
        + "".join(rows)
        + "</table>"
    )


class BinaryView(widgets.VBox):
    """One binary product: name, size, guessed type, a preview where one is safe, and Save.

    ``BinaryView(product)`` takes a :class:`~oda_widgets.products.BinaryProduct` (or bytes with
    ``name=``). :meth:`save` is the Save button: ``save()`` writes ``<name>.<ext>`` in the current
    folder, ``save(folder)`` into a folder, ``save("file.fits")`` to that file.
    """

    def __init__(self, product: Any, *, name: str | None = None, **kwargs: Any):
        if isinstance(product, (bytes, bytearray, memoryview)):
            product = BinaryProduct(name, bytes(product))
        if not isinstance(product, BinaryProduct):
            raise TypeError(f"BinaryView shows a BinaryProduct or bytes, not a {type(product).__name__}")
        self.product = product
        self.file_type = guess_file_type(product.data)
        label = product.label
        summary = widgets.HTML(
            f"<b>{html.escape(label)}</b> — {html.escape(human_size(product.size))}, "
            f"{html.escape(self.file_type.description)} "
            f"<code>.{html.escape(product.extension)}</code>"
        )
        summary.add_class("oda-binary-summary")
        self.path = widgets.Text(
            placeholder=f"{product.file_name()} (or a folder)", layout=widgets.Layout(width="320px")
        )
        self.path.add_class("oda-binary-path")
        self.save_button = widgets.Button(description="Save", icon="save")
        self.save_button.add_class("oda-binary-save")
        self.save_button.on_click(lambda _b: self._save_clicked())
        self.message = widgets.HTML()
        self.message.add_class("oda-binary-message")
        children: list[widgets.Widget] = [summary]
        preview = self._preview()
        if preview is not None:
            children.append(preview)
        children += [widgets.HBox([self.path, self.save_button]), self.message]
        super().__init__(children=children, **kwargs)
        self.add_class("oda-binary-view")

    def _preview(self) -> widgets.Widget | None:
        data, ftype = self.product.data, self.file_type
        try:
            if ftype.extension == "fits":
                w: widgets.Widget = widgets.HTML(_fits_summary(data))
            elif ftype.extension in _BROWSER_IMAGES:
                w = widgets.Image(
                    value=data, format=ftype.extension, layout=widgets.Layout(max_width="480px")
                )
            elif ftype.is_text or ftype.extension in ("txt", "csv", "ecsv", "json", "xml", "vot"):
                lines = data[:200_000].decode("utf-8", "replace").splitlines()
                more = f"\n… {len(lines) - PREVIEW_LINES} more lines" if len(lines) > PREVIEW_LINES else ""
                text = "\n".join(lines[:PREVIEW_LINES]) + more
                w = widgets.HTML(
                    f"<pre style='max-height:240px;overflow:auto;white-space:pre-wrap'>{html.escape(text)}</pre>"
                )
            else:
                return None
        except Exception as exc:  # a damaged file still gets its summary and Save
            w = widgets.HTML(f"<i>No preview: {html.escape(type(exc).__name__)}: {html.escape(str(exc))}</i>")
        w.add_class("oda-binary-preview")
        return w

    def save(self, path: str | os.PathLike[str] | None = None, overwrite: bool = False) -> Path:
        """Write the bytes: to ``path``, into ``path`` if it is a folder, else to
        ``<name>.<ext>`` here (``.bin`` when the type cannot be guessed). Returns the path;
        refuses to overwrite unless ``overwrite=True``."""
        target = Path(path) if path not in (None, "") else Path(self.product.file_name())
        if target.is_dir():
            target = target / self.product.file_name()
        self.product.save(target, overwrite=overwrite)
        self.message.value = (
            f"Saved {html.escape(human_size(self.product.size))} to <code>{html.escape(str(target))}</code>"
        )
        return target

    def _save_clicked(self) -> None:
        try:
            self.save(self.path.value.strip() or None)
        except (OSError, FileExistsError) as exc:
            self.message.value = f"<span style='color:#c62828'>{html.escape(str(exc))}</span>"

    def __repr__(self) -> str:
        return f"BinaryView({self.product!r})"
