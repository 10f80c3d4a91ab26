"""BinaryView: size, guessed type, a safe preview, and Save (a type that cannot be guessed is .bin)."""

from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from oda_widgets.binary import BinaryView, human_size
from oda_widgets.products import BinaryProduct


def fits_bytes() -> bytes:
    buffer = io.BytesIO()
    Table({"energy": np.arange(3.0), "flux": np.ones(3)}).write(buffer, format="fits")
    return buffer.getvalue()


def test_size_type_and_fits_preview():
    view = BinaryView(BinaryProduct("Mrk_421_sed.fits", fits_bytes()))
    summary = view.children[0].value
    assert "Mrk_421_sed.fits" in summary and "FITS file" in summary and ".fits" in summary
    assert human_size(len(fits_bytes())) in summary
    preview = view.children[1]
    assert "oda-binary-preview" in preview._dom_classes
    assert "table, 3 rows: energy, flux" in preview.value


def test_text_preview_is_escaped_and_bounded():
    data = ("<script>alert(1)</script>\n" + "\n".join(f"line {i}" for i in range(100))).encode()
    view = BinaryView(BinaryProduct("log.txt", data))
    preview = view.children[1].value
    assert "&lt;script&gt;" in preview and "<script>" not in preview
    assert "line 28" in preview and "line 40" not in preview and "71 more lines" in preview


def test_images_are_shown_unknown_bytes_get_no_preview():
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, format="PNG")
    assert isinstance(BinaryView(png.getvalue(), name="thumb").children[1], widgets.Image)
    blob = BinaryView(BinaryProduct(None, bytes(range(256)) * 3))
    assert len(blob.children) == 3  # summary, path + Save, message
    assert "binary data" in blob.children[0].value and ".bin" in blob.children[0].value


def test_save_is_the_button_unknown_types_as_bin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blob = BinaryView(BinaryProduct(None, b"\x00\x01\x02opaque"))
    path = blob.save()
    assert path.name == "file.bin" and path.read_bytes() == b"\x00\x01\x02opaque"
    with pytest.raises(FileExistsError):
        blob.save()
    view = BinaryView(BinaryProduct("Mrk_421_sed.fits", fits_bytes()))
    out = tmp_path / "out"
    out.mkdir()
    view.path.value = str(out)
    view.save_button.click()
    assert (out / "Mrk_421_sed.fits").read_bytes() == fits_bytes()
    assert "Saved" in view.message.value
    view.save_button.click()  # exists: the error is shown at the button, nothing raised
    assert "exists" in view.message.value
    with fits.open(out / "Mrk_421_sed.fits") as h:
        assert h[1].data["flux"].tolist() == [1.0, 1.0, 1.0]


def test_a_damaged_fits_file_still_gets_summary_and_save():
    view = BinaryView(BinaryProduct("broken.fits", b"SIMPLE  =                    T" + b"garbage" * 10))
    assert "No preview" in view.children[1].value and isinstance(view.save_button, widgets.Button)
