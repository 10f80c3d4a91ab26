"""Products a notebook builds with oda_api's own classes, sent through the plugin's translation
(``demo.workflows.products.build_products``, checked against the real chain's captures in
tests/workflows), decode to the values oda_api's own ``DataCollection`` reads from the same answer."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from astropy import units as u
from astropy.table import Table
from astropy.wcs import WCS

oda_dp = pytest.importorskip("oda_api.data_products", reason="oda_api is in the test extra")
from oda_api.api import DataCollection  # noqa: E402

from oda_widgets.demo.workflows import DEMO_ONTOLOGY, Ontology  # noqa: E402
from oda_widgets.demo.workflows.products import build_products  # noqa: E402
from oda_widgets.products import ProductCollection  # noqa: E402
from oda_widgets.products.annotations import ODA  # noqa: E402


def through_the_chain(outputs: dict) -> dict:
    """``{output: (term, object)}`` → the ``products`` of the dispatcher's api=True answer."""
    declarations = {name: {"owl_type": term} for name, (term, _) in outputs.items()}
    values = {
        name: obj if isinstance(obj, str) else json.dumps(obj.encode()) for name, (_, obj) in outputs.items()
    }
    products = build_products(declarations, values, Ontology(DEMO_ONTOLOGY))
    return json.loads(json.dumps(products))


def oda_api_reads(products: dict) -> list:
    body = {"products": products, "job_monitor": {"job_id": "0123456789abcdef"}}
    return DataCollection.from_response_json(body, "wf", "prod")._p_list


def image_product():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [83.633, 22.0145]
    w.wcs.crpix = [10.5, 12.5]
    w.wcs.cdelt = [-0.002, 0.002]
    header = dict(w.to_header())
    header.update(BUNIT="Jy/beam", FILTER="1.4 GHz", OBJECT="Crab")
    data = np.random.default_rng(1).normal(size=(24, 20)).astype(np.float32)
    unit = oda_dp.NumpyDataUnit(data=data, data_header=header, hdu_type="primary", name="PRIMARY")
    return oda_dp.ImageDataProduct(data_unit=[unit], name="crab_radio"), data


def test_images_pictures_tables_texts_and_files_match_what_oda_api_reads():
    from PIL import Image

    image, data = image_product()
    png = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 90, 200)).save(png, format="PNG")
    table = Table(
        {"freq": [1.4, 5.0, 15.0] * u.GHz, "flux": [2.1, 1.5, 0.9] * u.Jy, "flux_err": [0.1, 0.1, 0.2] * u.Jy}
    )
    products = through_the_chain(
        {
            "radio_image": (ODA + "Image", image),
            "quicklook": (ODA + "ODAPictureProduct", oda_dp.PictureProduct(png.getvalue(), name="quicklook")),
            "spectrum_points": (
                ODA + "ODAAstropyTable",
                oda_dp.ODAAstropyTable(table, name="radio points", meta_data={"source": "Crab"}),
            ),
            "note": (ODA + "ODATextProduct", "three bands"),
            "archive": (
                ODA + "ODABinaryProduct",
                oda_dp.BinaryProduct(b"PK\x05\x06" + bytes(18), name="empty.zip"),
            ),
        }
    )
    theirs = oda_api_reads(products)
    ours = ProductCollection.from_response(products, instrument="wf", product="prod")
    assert len(ours) == len(theirs) == 5

    # the image: same pixels and WCS, as a sky image with its labels
    (m,) = ours.images
    their_image = next(p for p in theirs if isinstance(p, oda_dp.NumpyDataProduct))
    assert np.array_equal(m.image, their_image.data_unit[0].data) and np.array_equal(m.image, data)
    their_wcs = WCS(their_image.data_unit[0].header)
    assert np.allclose(m.wcs.wcs.crval, their_wcs.wcs.crval) and np.allclose(
        m.wcs.pixel_scale_matrix, their_wcs.pixel_scale_matrix
    )
    assert m.title() == "Crab · 1.4 GHz" and m.unit("1.4 GHZ") == "Jy/beam"
    assert m.product.annotation.output == "radio_image"

    # the picture: the same bytes
    (pic,) = ours.pictures
    their_pic = next(p for p in theirs if isinstance(p, oda_dp.PictureProduct))
    assert pic.data == their_pic.binary_data and pic.img_type == their_pic.img_type == "png"

    # the table: same columns, values, units; meta_data the notebook's dict (oda_api keeps the text)
    (tab,) = ours.tables
    their_tab = next(p for p in theirs if isinstance(p, oda_dp.ODAAstropyTable))
    for name in table.colnames:
        assert np.array_equal(tab.table[name], their_tab.table[name])
        assert tab.table[name].unit == their_tab.table[name].unit
    assert tab.meta_data == {"source": "Crab"} == json.loads(json.loads(their_tab.meta_data))
    assert tab.label == "radio points"

    # the text and the file
    (note,) = ours.texts
    their_note = next(p for p in theirs if isinstance(p, oda_dp.TextLikeProduct))
    assert note.value == their_note.value == "three bands"
    (blob,) = ours.binaries
    their_blob = next(p for p in theirs if isinstance(p, oda_dp.BinaryProduct))
    assert blob.data == their_blob.bin_data and blob.extension == "zip" == their_blob.suggest_fn_extension()
    # the same names as oda_api gives them (the table's meta_data, text for oda_api, adds no suffix)
    assert [n for n, _ in ours.items()] == [
        "crab_radio_0",
        "emptyzip_1",
        "radio_points_2",
        "quicklook_3",
        "note_4",
    ]


def test_a_text_product_object_arrives_as_its_dict_text_for_both():
    """The plugin sends str() of an ODATextProduct object's decoded JSON (a Python dict's repr)."""
    text = oda_dp.TextLikeProduct("fit converged", name="fit_report", meta_data={"chi2": 1.1})
    products = through_the_chain({"report": (ODA + "ODATextProduct", text)})
    (theirs,) = oda_api_reads(products)
    (ours,) = ProductCollection.from_response(products).texts
    assert ours.value == theirs.value and "fit converged" in ours.value


def test_a_table_whose_meta_data_names_its_source_decodes_here_and_not_in_oda_api():
    """oda_api 1.3.5 keeps the twice-encoded meta_data as text and then indexes it when naming the
    product (``'src_name' in text`` is a substring test): TypeError. Decoded twice, it names it."""
    table = oda_dp.ODAAstropyTable(Table({"x": [1.0]}), name="points", meta_data={"src_name": "Crab Nebula"})
    products = through_the_chain({"t": (ODA + "ODAAstropyTable", table)})
    with pytest.raises(TypeError):
        oda_api_reads(products)
    ours = ProductCollection.from_response(products)
    assert ours.names() == ["points_0_CrabNebula"] and ours[0].meta_data == {"src_name": "Crab Nebula"}
