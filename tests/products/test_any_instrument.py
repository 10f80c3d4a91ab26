"""Products of any MMODA instrument: prod_uris/extra_metadata choose the class and label, every
payload list decodes, every sky image is a Mosaic, workflow spectra, file types, plot columns."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from _products_helpers import png_bytes, wire
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from oda_widgets.products import (
    Annotation,
    BinaryProduct,
    FluxSpectrum,
    Mosaic,
    NumpyProduct,
    OgipSpectrum,
    ProductCollection,
    ProgressReport,
    TableProduct,
    Text,
    encode_numpy_data_product,
    guess_file_type,
    guess_plot_columns,
)
from oda_widgets.products.annotations import ODA, annotate_lists, kind_of_uri

# -- builders ------------------------------------------------------------------------------------


def sky_image(n: int = 32, *, ra: float = 56.75, dec: float = 24.1167, band: str = "B", proj: str = "TAN"):
    w = WCS(naxis=2)
    w.wcs.ctype = [f"RA---{proj}", f"DEC--{proj}"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [(n + 1) / 2, (n + 1) / 2]
    w.wcs.cdelt = [-0.01, 0.01]
    header = w.to_header()
    header.update(FILTER=band, OBJECT="Pleiades", BUNIT="count")
    data = np.arange(n * n, dtype=np.float32).reshape(n, n)
    return fits.HDUList([fits.PrimaryHDU(data, header=header)])


def ecsv_entry(table: Table, name: str, meta: dict, *, twice: bool = True) -> dict:
    text = io.StringIO()
    table.write(text, format="ascii.ecsv")
    once = json.dumps(meta)
    return {
        "binary": None,
        "ascii": text.getvalue(),
        "name": name,
        "meta_data": json.dumps(once) if twice else once,
    }


def binary_entry(data: bytes, name: str | None) -> dict:
    return {
        "name": name,
        "data": base64.urlsafe_b64encode(data).decode(),
        "md5": hashlib.md5(data).hexdigest(),
    }


def sed_table() -> Table:
    t = Table(
        {
            "band": ["R", "V", "2-10 keV", "1-10 GeV"],
            "frequency": [4.68e14, 5.45e14, 1.08e18, 7.6e23] * u.Hz,
            "nuFnu": [2e-10, 2.2e-10, 5e-11, 1e-11] * u.erg / u.cm**2 / u.s,
            "nuFnu_err": [4e-12, 4e-12, 2e-12, np.nan] * u.erg / u.cm**2 / u.s,
            "upper_limit": [False, False, False, True],
        }
    )
    return t


# -- annotations ----------------------------------------------------------------------------------


def test_terms_name_product_kinds():
    assert kind_of_uri(ODA + "LightCurve") == "light_curve"
    assert kind_of_uri(ODA + "Image") == "image"
    assert kind_of_uri(ODA + "ODAAstropyTable") == "table"
    assert kind_of_uri(ODA + "ISGRILightCurve") == "light_curve"  # a sub-term we do not list
    assert kind_of_uri(ODA + "Float") == "parameter"
    assert kind_of_uri(None) is None


def test_outputs_map_to_entries_by_list_and_position_not_by_name():
    products = {
        "prod_uris": {
            "light_curve_mag": ODA + "LightCurve",
            "colour": ODA + "ODAPictureProduct",
            "image_blue": ODA + "Image",
            "period": ODA + "Float",
            "summary": ODA + "ODATextProduct",
        },
        "extra_metadata": {
            "image_blue": {"label": "Blue image", "group": "images"},
            "period": {"label": "Period"},
        },
        # entries carry the notebook's product names, not the output names
        "numpy_data_product_list": [{"name": "delta_Cep_V_mag"}, {"name": "Pleiades_B"}],
        "binary_image_product_list": [{"name": "colour_composite"}],
        "text_product_list": [
            {"name": "period", "value": 5.37, "meta_data": {"uri": ODA + "Float"}},
            {"name": "summary", "value": "ok"},
        ],
        "progress_product_list": [],
    }
    notes = annotate_lists(products)
    lc, image = notes["numpy_data_product_list"]
    assert (lc.output, lc.kind) == ("light_curve_mag", "light_curve")
    assert (image.output, image.kind, image.label, image.group) == (
        "image_blue",
        "image",
        "Blue image",
        "images",
    )
    assert notes["binary_image_product_list"][0].output == "colour"
    period, summary = notes["text_product_list"]
    assert (period.kind, period.label) == ("parameter", "Period")
    assert summary.kind == "text"
    assert notes["progress_product_list"] == []


def test_an_output_giving_several_entries_keeps_its_term():
    """An output that is a list gives several entries: with one term in that list the kind is known."""
    products = {
        "prod_uris": {"images": ODA + "Image"},
        "numpy_data_product_list": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
    }
    notes = annotate_lists(products)["numpy_data_product_list"]
    assert [n.kind for n in notes] == ["image"] * 3 and all(n.output == "images" for n in notes)
    mixed = {
        "prod_uris": {"lc": ODA + "LightCurve", "imgs": ODA + "Image"},
        "numpy_data_product_list": [{"name": "x"}, {"name": "y"}, {"name": "z"}],
    }
    # three entries from two outputs of different terms: which is which cannot be told by position
    assert not any(annotate_lists(mixed)["numpy_data_product_list"])
    assert Annotation() == Annotation() and not Annotation()


# -- every list, labels, nothing lost ------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow_products() -> dict:
    blue = encode_numpy_data_product(sky_image(band="B"), "Pleiades_B", {})
    red = encode_numpy_data_product(sky_image(band="R", proj="SIN"), "Pleiades_R", {})
    cube = sky_image(8)
    cube[0].data = cube[0].data.reshape(1, 8, 8)
    cube_entry = encode_numpy_data_product(cube, "cube", {})
    fits_bytes = io.BytesIO()
    sed_table().write(fits_bytes, format="fits")
    return wire(
        {
            "prod_uris": {
                "image_blue": ODA + "Image",
                "image_red": ODA + "Image",
                "image_cube": ODA + "Image",
                "sed_table": ODA + "ODAAstropyTable",
                "colour_picture": ODA + "ODAPictureProduct",
                "summary": ODA + "ODATextProduct",
                "period": ODA + "Float",
                "sed_fits": ODA + "ODABinaryProduct",
                "unknown_blob": ODA + "ODABinaryProduct",
            },
            "extra_metadata": {"sed_table": {"label": "Mrk 421 SED"}, "image_red": {"description": "R band"}},
            "numpy_data_product_list": [blue, red, cube_entry],
            "astropy_table_product_ascii_list": [
                ecsv_entry(sed_table(), "Mrk 421 SED", {"source": "Mrk 421"})
            ],
            "binary_image_product_list": [
                {
                    "img_type": "png",
                    "b64data": base64.urlsafe_b64encode(png_bytes()).decode(),
                    "metadata": {},
                    "name": "colour_composite",
                }
            ],
            "text_product_list": [
                {"name": "summary", "value": "SED of Mrk 421"},
                {"name": "period", "value": 5.366, "meta_data": {"uri": ODA + "Float"}},
            ],
            "binary_data_product_list": [
                binary_entry(fits_bytes.getvalue(), "Mrk_421_sed.fits"),
                binary_entry(bytes(range(7, 200)), None),
            ],
            "progress_product_list": [{"name": "progress", "value": "<b>3/10 bands</b>"}],
            "some_new_product_list": [{"what": "a payload kind this client does not know"}],
            "analysis_parameters": {
                "instrument": "multiwavelength",
                "product_type": "sed",
                "src_name": "Mrk 421",
            },
        }
    )


def test_every_list_decodes_with_its_annotation(workflow_products):
    c = ProductCollection.from_response(workflow_products)
    kinds = {n: c.kind_of(p) for n, p in c.items()}
    assert kinds == {
        "Pleiades_B_0": "image",
        "Pleiades_R_1": "image",
        "cube_2": "image",
        "Mrk_421_sedfits_3": "binary",
        "sed_4": "binary",
        "Mrk_421_SED_5": "table",
        "colour_composite_6": "picture",
        "summary_7": "text",
        "period_8": "text",
        "progress_9": "progress",
    }
    assert c.prod_uris["sed_table"] == ODA + "ODAAstropyTable"
    assert "prod_uris" not in c.extra and "extra_metadata" not in c.extra
    # a payload kind we do not know is kept, not dropped
    assert c.unsupported == {"some_new_product_list": [{"what": "a payload kind this client does not know"}]}


def test_labels_come_from_the_response(workflow_products):
    c = ProductCollection.from_response(workflow_products)
    table = c.Mrk_421_SED_5
    assert isinstance(table, TableProduct) and table.label == "Mrk 421 SED"
    assert table.annotation.output == "sed_table"
    # meta_data arrives JSON-encoded twice: decoded to the notebook's dict
    assert table.meta_data == {"source": "Mrk 421"}
    assert c.period_8.parameter_uri == ODA + "Float" and c.period_8.value == "5.366"
    assert c.summary_7.label == "summary"
    progress = c.progress_9
    assert isinstance(progress, ProgressReport) and progress.value == "<b>3/10 bands</b>"
    assert [str(t.value) for t in c.texts] == ["SED of Mrk 421", "5.366", "<b>3/10 bands</b>"]


def test_every_sky_image_is_a_mosaic_with_its_own_wcs(workflow_products):
    c = ProductCollection.from_response(workflow_products)
    images = c.images
    assert [m.name for m in images] == ["Pleiades_B_0", "Pleiades_R_1", "cube_2"]
    blue, red, cube = images
    assert list(blue.images) == ["B"] and blue.band == "B" and blue.source == "Pleiades"
    assert blue.title() == "Pleiades · B"
    assert red.wcs.wcs.ctype[0] == "RA---SIN"
    assert cube.image.shape == (8, 8)  # NAXIS3 = 1 dropped
    ra, dec = red.wcs.all_pix2world(15.5, 15.5, 0)
    assert abs(ra - 56.75) < 1e-6 and abs(dec - 24.1167) < 1e-6
    # the first image stands in for the INTEGRAL mosaic (e.g. MosaicView(collection))
    assert c.mosaic is blue
    assert c.others() == []
    typed = [type(p).__name__ for _, p in c.typed()]
    assert (
        typed
        == ["Mosaic"] * 3
        + ["TableProduct", "Picture", "Text", "Text", "ProgressReport"]
        + ["BinaryProduct"] * 2
    )


def test_several_unnamed_images_in_one_product_all_stay():
    hdul = sky_image(16)
    second = fits.ImageHDU(hdul[0].data * 2, header=hdul[0].header)
    second.header.remove("FILTER")
    hdul.append(second)
    m = Mosaic.from_product(hdul)
    assert list(m.images) == ["B", "IMAGE"]
    hdul[1].header["FILTER"] = "B"
    assert list(Mosaic.from_product(hdul).images) == ["B", "B_2"]


def test_a_2d_array_without_celestial_wcs_is_not_a_sky_image(captures):
    """The dispatcher's "numerical" test product (100×100, no WCS) stays in others()."""
    body = json.loads((captures / "git-1.3.6" / "run_analysis_empty_numerical_done.json").read_text())
    c = ProductCollection.from_response(body["products"])
    assert c.images == [] and c.mosaic is None and [n for n, _ in c.others()] == ["numerical_0"]


def test_binary_products_say_what_they_are_and_save_with_an_extension(workflow_products, tmp_path):
    c = ProductCollection.from_response(workflow_products)
    fits_file, blob = c.binaries
    assert fits_file.file_type.extension == "fits" and fits_file.file_name() == "Mrk_421_sed.fits"
    assert blob.extension == "bin" and blob.file_type.description == "binary data"
    assert blob.file_name() == "unknown_blob.bin"  # no name: the output's, and .bin
    paths = c.save(tmp_path)
    assert sorted(p.name for p in paths)[:2] == ["Mrk_421_SED_5.fits", "Mrk_421_sedfits_3.fits"]
    assert (tmp_path / "sed_4.bin").read_bytes() == bytes(range(7, 200))
    with fits.open(tmp_path / "Mrk_421_sedfits_3.fits") as h:
        assert len(h[1].data) == 4


@pytest.mark.parametrize(
    "data, ext",
    [
        (b"SIMPLE  =                    T", "fits"),
        (png_bytes(), "png"),
        (b"\xff\xd8\xff\xe0" + bytes(20), "jpg"),
        (b"%PDF-1.7\n", "pdf"),
        (gzip.compress(b"hello"), "gz"),
        (b"\x89HDF\r\n\x1a\n" + bytes(8), "h5"),
        (b'<?xml version="1.0"?>\n<VOTABLE version="1.4"><RESOURCE/></VOTABLE>', "vot"),
        (b'<?xml version="1.0"?><root/>', "xml"),
        (b'{"a": [1, 2]}', "json"),
        (b"# %ECSV 1.0\n# ---\na b\n1 2\n", "ecsv"),
        (b"a,b,c\n1,2,3\n4,5,6\n", "csv"),
        ("plain text, ν F_ν\nsecond line\n".encode(), "txt"),
        (b"\x93NUMPY\x01\x00", "npy"),
        (b"\x00\x00\x00\x18ftypmp42" + bytes(40), "mp4"),  # beyond our table: puremagic's database
        (bytes(range(256)) * 4, "bin"),
        (b"", "bin"),
    ],
)
def test_file_types_from_magic_bytes(data, ext):
    assert guess_file_type(data).extension == ext


def test_a_zip_and_text_named_by_its_product():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("a.txt", "x")
    assert BinaryProduct("bundle", buffer.getvalue()).extension == "zip"
    # text the magic cannot place further keeps the extension its name gives
    assert BinaryProduct("events.qdp", b"READ SERR 1\n1 2 0.1\n").extension == "qdp"


# -- spectra of workflows ------------------------------------------------------------------------------


def ogip_file(with_ebounds: bool = True, e_columns: bool = False) -> fits.HDUList:
    channels = np.arange(10)
    cols = [
        fits.Column("CHANNEL", "J", array=channels),
        fits.Column("RATE", "E", unit="count/s", array=np.linspace(5, 1, 10)),
    ]
    cols.append(fits.Column("STAT_ERR", "E", unit="count/s", array=np.full(10, 0.2)))
    if e_columns:
        cols += [
            fits.Column("E_MIN", "E", unit="eV", array=1000 * (1 + channels)),
            fits.Column("E_MAX", "E", unit="eV", array=1000 * (2 + channels)),
        ]
    spec = fits.BinTableHDU.from_columns(cols, name="SPECTRUM")
    spec.header.update(HDUCLAS1="SPECTRUM", EXPOSURE=1000.0, TELESCOP="XRT", OBJECT="GRB 221009A")
    hdus = [fits.PrimaryHDU(), spec]
    if with_ebounds:
        hdus.append(
            fits.BinTableHDU.from_columns(
                [
                    fits.Column("CHANNEL", "J", array=channels),
                    fits.Column("E_MIN", "E", unit="keV", array=1.0 + channels),
                    fits.Column("E_MAX", "E", unit="keV", array=2.0 + channels),
                ],
                name="EBOUNDS",
            )
        )
    return fits.HDUList(hdus)


@pytest.mark.parametrize("with_ebounds, e_columns", [(True, False), (False, True)])
def test_an_ogip_spectrum_file_is_a_spectrum_with_its_own_energies(with_ebounds, e_columns):
    entry = encode_numpy_data_product(ogip_file(with_ebounds, e_columns), "grb_spectrum", {})
    products = wire({"prod_uris": {"spectrum": ODA + "Spectrum"}, "numpy_data_product_list": [entry]})
    c = ProductCollection.from_response(products)
    (s,) = c.spectra
    assert isinstance(s, OgipSpectrum) and s.source == "GRB 221009A" and s.instrument == "XRT"
    assert np.allclose(s.energy_low.to_value(u.keV), 1.0 + np.arange(10))  # eV columns converted
    assert s.rate.unit == u.ct / u.s and s.products == [c.grb_spectrum_0]
    assert c.others() == [] and [type(p).__name__ for _, p in c.typed()] == ["OgipSpectrum"]


def test_an_ogip_spectrum_without_uri_is_recognised_from_its_content():
    entry = encode_numpy_data_product(ogip_file(), "spec", {})
    c = ProductCollection.from_response(wire({"numpy_data_product_list": [entry]}))
    assert [type(s).__name__ for s in c.spectra] == ["OgipSpectrum"]


def test_an_energy_flux_table_declared_a_spectrum_is_a_flux_spectrum():
    table = Table(
        {
            "energy": [1.0, 3.0, 10.0, 30.0] * u.keV,
            "flux": [1e-2, 3e-3, 5e-4, 1e-4] * u.ph / u.cm**2 / u.s / u.keV,
            "flux_err": [1e-3, 3e-4, 1e-4, np.nan] * u.ph / u.cm**2 / u.s / u.keV,
            "ul": [False, False, False, True],
        }
    )
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(table)])
    products = wire(
        {
            "prod_uris": {"spec": ODA + "Spectrum", "tab": ODA + "Spectrum"},
            "numpy_data_product_list": [encode_numpy_data_product(hdul, "model_spectrum", {})],
            "analysis_parameters": {"src_name": "Crab"},
        }
    )
    c = ProductCollection.from_response(products)
    (s,) = c.spectra
    assert isinstance(s, FluxSpectrum) and s.source == "Crab" and s.columns["upper_limit"] == "ul"
    assert s.energy.unit == u.keV and s.upper_limit.tolist() == [False, False, False, True]
    assert s.label == "flux [ph / (keV s cm2)]"
    # frequencies convert to keV with astropy's spectral equivalence
    sed = FluxSpectrum(sed_table(), name="sed")
    assert np.isclose(
        sed.energy[2].to_value(u.keV), (1.08e18 * u.Hz).to_value(u.keV, equivalencies=u.spectral())
    )


def test_plot_columns_of_an_sed_and_a_magnitude_light_curve():
    cols = guess_plot_columns(sed_table())
    assert (cols.x, cols.y, cols.y_err, cols.upper_limit) == (
        "frequency",
        "nuFnu",
        "nuFnu_err",
        "upper_limit",
    )
    assert cols.log_x and cols.log_y and not cols.invert_y
    lc = Table(
        {"TIME": [60000.0, 60000.5, 60001.0], "MAG": [3.9, 4.1, 4.4] * u.mag, "ERROR": [0.01] * 3 * u.mag}
    )
    cols = guess_plot_columns(lc)
    assert (cols.x, cols.y, cols.y_err, cols.invert_y, cols.log_y) == ("TIME", "MAG", "ERROR", True, False)
    assert guess_plot_columns(Table({"name": ["a"]})).x is None


def test_text_products_keep_structured_values_readable():
    c = ProductCollection.from_response(
        {"text_product_list": [{"name": "fit", "value": {"chi2": 1.2, "dof": 10}}, "a bare string"]}
    )
    fit, bare = c.texts
    assert isinstance(fit, Text) and json.loads(fit.value) == {"chi2": 1.2, "dof": 10}
    assert bare.value == "a bare string" and not bare.annotation


def test_no_uris_means_content_recognition_as_before(samples):
    with fits.open(samples / "isgri_mosaic_significance_1E1740.fits.gz") as h:
        mosaic = encode_numpy_data_product(h, "mosaic_image", {"product": "mosaic"})
    c = ProductCollection.from_response(wire({"numpy_data_product_list": [mosaic]}))
    assert isinstance(c.mosaic, Mosaic) and c.images == [c.mosaic]
    assert isinstance(c[0], NumpyProduct) and not c[0].annotation


def test_saving_a_collection_with_workflow_spectra(tmp_path):
    table = Table({"energy": [1.0, 3.0] * u.keV, "flux": [1e-2, 3e-3] * u.ph / u.cm**2 / u.s / u.keV})
    flux = fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(table)])
    products = wire(
        {
            "prod_uris": {"a": ODA + "Spectrum", "b": ODA + "Spectrum"},
            "numpy_data_product_list": [
                encode_numpy_data_product(ogip_file(), "xrt_pha", {}),
                encode_numpy_data_product(flux, "model", {}),
            ],
        }
    )
    c = ProductCollection.from_response(products)
    assert [type(s).__name__ for s in c.spectra] == ["OgipSpectrum", "FluxSpectrum"]
    paths = c.save(tmp_path)
    assert sorted(p.name for p in paths) == ["model_1.fits", "xrt_pha_0.fits"]
    with fits.open(tmp_path / "xrt_pha_0.fits") as h:
        spec = next(x for x in h if x.name == "SPECTRUM")
        assert spec.header["OBJECT"] == "GRB 221009A" and len(spec.data) == 10
    assert Table.read(tmp_path / "model_1.fits")["flux"].unit == u.ph / u.cm**2 / u.s / u.keV


def test_value_columns_of_light_curve_tables():
    from oda_widgets.products.columns import light_curve_values

    def names(t):
        return [(v.name, v.error, v.kind) for v in light_curve_values(t, time="TIME")]

    oda_api_mag = Table({"TIME": [1.0], "MAG": [3.9] * u.mag, "ERROR": [0.01] * u.mag})
    assert names(oda_api_mag) == [("MAG", "ERROR", "magnitude")]
    jemx = Table(
        {"TIME": [1.0], "RATE": [2.0], "ERROR": [0.1], "BRATE": [5.0], "BERROR": [0.2], "BARYTIME": [1.0]}
    )
    assert names(jemx) == [("RATE", "ERROR", "rate")]
    bands = Table({"TIME": [1.0], "FLUX_B": [1.0], "FLUX_B_ERR": [0.1], "FLUX_V": [2.0], "ERR_FLUX_V": [0.2]})
    assert names(bands) == [("FLUX_B", "FLUX_B_ERR", "flux"), ("FLUX_V", "ERR_FLUX_V", "flux")]
    by_unit = Table({"TIME": [1.0], "nu_f": [1.0] * u.Jy, "snr": [3.0]})
    assert names(by_unit) == [("nu_f", None, "flux")]
    assert names(Table({"TIME": [1.0], "snr": [3.0]})) == []
