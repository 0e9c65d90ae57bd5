"""Tests of the website and e-mail checks of the place files."""

import pytest

from knowledge.loaders.contact import is_valid_email, is_valid_website


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://www2.ac-lyon.fr/orientation/ain/amberieu/", id="path"),
        pytest.param("https://www.mission-locale.asso.fr", id="asso-fr"),
        pytest.param("http://bellegarde.cio.ac-lyon.fr", id="no-path"),
        pytest.param("https://www.ml-corse.corsica/contact?page=2#haut", id="query-and-fragment"),
        pytest.param("http://www.mlpaysdebrest.bzh", id="regional-domain"),
        pytest.param("https://www.example.re:8443/", id="port"),
        pytest.param("https://mission-locale-évry.fr/", id="internationalised-host"),
    ],
)
def test_website_valid(url):
    assert is_valid_website(url) is True


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://www2.ac-lyon.frorientation/rhone/lyon-est", id="missing-slash"),
        pytest.param("http://www.ac-toulouse.frcid73711/cio", id="missing-slash-digits"),
        pytest.param("https://www.seine-saint-denis.frMission-locale.html", id="missing-slash-html"),
        pytest.param("www.ac-lyon.fr/orientation", id="no-scheme"),
        pytest.param("ftp://ftp.ac-lyon.fr/", id="ftp"),
        pytest.param("http://www.ac lyon.fr/", id="space"),
        pytest.param("http://localhost/", id="single-label"),
        pytest.param("http://www.example.invalid/", id="unknown-domain"),
        pytest.param("http://user:secret@www.example.fr/", id="user-info"),
        pytest.param("http://www.example.fr:port/", id="port-not-number"),
        pytest.param("http://-bad-.example.fr/", id="label-with-edge-hyphen"),
        pytest.param("http://www..example.fr/", id="empty-label"),
        pytest.param("", id="empty"),
    ],
)
def test_website_invalid(url):
    assert is_valid_website(url) is False


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("cio-amberieu@ac-lyon.fr", id="plain"),
        pytest.param("ce.0110843G@ac-montpellier.fr", id="capitals-and-dots"),
        pytest.param("mlbastia@ml-corse.corsica", id="regional-domain"),
        pytest.param("contact+ml@mission-locale.asso.fr", id="plus"),
    ],
)
def test_email_valid(address):
    assert is_valid_email(address) is True


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("laurence.achilli@ml-corse.corscia", id="misspelt-domain"),
        pytest.param("contact@@ac-lyon.fr", id="two-at-signs"),
        pytest.param("pas-une-adresse", id="no-at-sign"),
        pytest.param("contact@ac-lyon", id="no-top-level-domain"),
        pytest.param("con tact@ac-lyon.fr", id="space"),
        pytest.param(".contact@ac-lyon.fr", id="leading-dot"),
        pytest.param("con..tact@ac-lyon.fr", id="double-dot"),
        pytest.param("@ac-lyon.fr", id="empty-local-part"),
    ],
)
def test_email_invalid(address):
    assert is_valid_email(address) is False
