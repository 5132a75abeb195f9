"""The Nominatim, Photon and Pelias clients against a real local HTTP server that answers in each
engine's documented format (tests/geocode_fakes.py): the named confidence per result type,
structured vs free-form requests, reverse, the cache, the rate limit, timeouts and errors."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from places.geocode import AddressQuery, Confidence
from places.geocode.engines import (
    EngineError,
    MemoryCache,
    NominatimGeocoder,
    SqliteCache,
    TokenBucket,
    make_engine,
    query_key,
)
from tests.geocode_fakes import FakeGeocodeServer

ENGINES = ["nominatim", "photon", "pelias"]


@pytest.fixture(params=ENGINES)
def server(request: pytest.FixtureRequest) -> Iterator[FakeGeocodeServer]:
    fake = FakeGeocodeServer(str(request.param))
    yield fake
    fake.stop()


def client(fake: FakeGeocodeServer, **kw: object):  # noqa: ANN201 - any of the three
    kw.setdefault("rate", 1000.0)
    kw.setdefault("burst", 1000)
    return make_engine(fake.engine, fake.url, **kw)


HOUSE = AddressQuery(street="Mannerheimintie", housenumber="1", postcode="00100",
                     city="Helsinki", country="FI")


def test_exact_house_number(server: FakeGeocodeServer) -> None:
    result = client(server).forward(HOUSE)
    assert result is not None
    assert result.confidence is Confidence.EXACT
    assert (result.lon, result.lat) == pytest.approx((24.94285, 60.16887), abs=1e-6)
    assert result.source == server.engine
    assert result.address["housenumber"] == "1"
    assert result.address["street"] == "Mannerheimintie"
    assert result.address["postcode"] == "00100"
    assert "Mannerheimintie" in result.label


def test_unknown_number_is_street_only(server: FakeGeocodeServer) -> None:
    result = client(server).forward(AddressQuery(street="Mannerheimintie", housenumber="999",
                                                 city="Helsinki"))
    assert result is not None and result.confidence is Confidence.STREET


def test_postcode_and_locality_grades(server: FakeGeocodeServer) -> None:
    geo = client(server)
    postcode = geo.forward(AddressQuery(street="Nosuchstreet", housenumber="4",
                                        postcode="00120", city="Helsinki"))
    assert postcode is not None and postcode.confidence is Confidence.POSTCODE
    city = geo.forward(AddressQuery(city="Espoo"))
    assert city is not None and city.confidence is Confidence.LOCALITY
    assert geo.forward(AddressQuery(street="Nosuchstreet", city="Atlantis")) is None


@pytest.mark.parametrize("engine,grade", [("nominatim", Confidence.INTERPOLATED),
                                          ("pelias", Confidence.INTERPOLATED),
                                          # Photon has no interpolation: a house is a house
                                          ("photon", Confidence.EXACT)])
def test_interpolated_numbers(engine: str, grade: Confidence) -> None:
    fake = FakeGeocodeServer(engine)
    try:
        result = client(fake).forward(AddressQuery(street="Fredrikinkatu", housenumber="41",
                                                   city="Helsinki"))
        assert result is not None and result.confidence is grade
    finally:
        fake.stop()


def test_free_text_query(server: FakeGeocodeServer) -> None:
    result = client(server).forward(AddressQuery(text="Bulevardi 5, 00120 Helsinki"))
    assert result is not None and result.confidence is Confidence.EXACT
    assert result.address["street"] == "Bulevardi"


def test_structured_requests_use_each_engines_parameters() -> None:
    nom = FakeGeocodeServer("nominatim")
    pel = FakeGeocodeServer("pelias")
    try:
        client(nom).forward(HOUSE)
        _, path, params = nom.requests[-1]
        assert path == "/search" and "q" not in params
        assert params["street"] == "1 Mannerheimintie" and params["postalcode"] == "00100"
        assert params["format"] == "jsonv2" and params["addressdetails"] == "1"
        assert params["countrycodes"] == "fi"
        client(pel).forward(HOUSE)
        _, path, params = pel.requests[-1]
        assert path == "/v1/search/structured"
        assert params["address"] == "1 Mannerheimintie" and params["locality"] == "Helsinki"
        client(pel).forward(AddressQuery(text="Bulevardi 5, Helsinki"))
        assert pel.requests[-1][1] == "/v1/search"
    finally:
        nom.stop()
        pel.stop()


def test_reverse(server: FakeGeocodeServer) -> None:
    geo = client(server)
    result = geo.reverse(24.94195, 60.16852)  # a few metres from Aleksanterinkatu 52
    assert result is not None
    assert result.address["street"] == "Aleksanterinkatu"
    assert result.address["housenumber"] == "52"
    assert result.confidence is Confidence.EXACT
    assert geo.reverse(25.5, 61.0) is None  # nothing near: no answer, no error
    with pytest.raises(ValueError):
        geo.reverse(200.0, 60.0)


def test_reverse_sends_position_as_parameters_of_each_engine() -> None:
    for engine, path, keys in [("nominatim", "/reverse", ("lat", "lon")),
                               ("photon", "/reverse", ("lat", "lon")),
                               ("pelias", "/v1/reverse", ("point.lat", "point.lon"))]:
        fake = FakeGeocodeServer(engine)
        try:
            client(fake).reverse(24.9429, 60.1689)
            _, got_path, params = fake.requests[-1]
            assert got_path == path
            assert float(params[keys[0]]) == pytest.approx(60.1689)
            assert float(params[keys[1]]) == pytest.approx(24.9429)
        finally:
            fake.stop()


# -- cache ------------------------------------------------------------------------------------
def test_cache_asks_the_server_once_per_normalised_query(server: FakeGeocodeServer) -> None:
    geo = client(server)
    spellings = [HOUSE,
                 AddressQuery(street="MANNERHEIMINTIE ", housenumber="1", postcode="00100",
                              city="helsinki", country="fi"),
                 AddressQuery(street="Mannerheimintie", housenumber="1", postcode="00100",
                              city="Helsinki,", country="FI")]
    results = geo.forward_many(spellings + [AddressQuery(city="Atlantis")] * 3)
    assert [r.confidence if r else None for r in results] == [Confidence.EXACT] * 3 + [None] * 3
    assert len(server.requests) == 2  # one for the house, one remembered "nothing found"
    geo.reverse(24.9429, 60.1689)
    geo.reverse(24.942901, 60.168901)  # ~10 cm away: the same question
    assert len(server.requests) == 3


def test_memory_cache_is_bounded() -> None:
    cache = MemoryCache(maxsize=2)
    cache.put("a", None)
    cache.put("b", None)
    cache.get("a")  # a is now the most recent
    cache.put("c", None)
    assert len(cache) == 2
    assert cache.get("b") == (False, None)
    assert cache.get("a") == (True, None)


def test_persistent_cache_survives_a_new_client(tmp_path) -> None:  # noqa: ANN001
    fake = FakeGeocodeServer("nominatim")
    try:
        first = client(fake, cache=SqliteCache(tmp_path / "geocode.sqlite"))
        answer = first.forward(HOUSE)
        assert answer is not None and len(fake.requests) == 1
        second = client(fake, cache=SqliteCache(tmp_path / "geocode.sqlite"))
        again = second.forward(HOUSE)
        assert again == answer  # same place, grade, label and fields
        assert len(fake.requests) == 1
    finally:
        fake.stop()


def test_query_key_ignores_case_spacing_and_commas() -> None:
    assert query_key(AddressQuery(text="Bulevardi  5, Helsinki")) == \
        query_key(AddressQuery(text="bulevardi 5 HELSINKI"))
    assert query_key(AddressQuery(text="Bulevardi 5")) != \
        query_key(AddressQuery(text="Bulevardi 6"))


# -- rate limit -------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_token_bucket_spaces_requests() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(7):
        bucket.acquire()
    # three at once (the burst), then one every half second
    assert clock.sleeps == pytest.approx([0.5, 0.5, 0.5, 0.5])
    assert clock.now == pytest.approx(2.0)
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_nominatim_defaults_to_one_request_a_second() -> None:
    fake = FakeGeocodeServer("nominatim")
    try:
        geo = NominatimGeocoder(fake.url, timeout=5)
        assert geo.bucket.rate == 1.0
        geo.bucket = TokenBucket(8.0)  # the real clock, fast enough for a test
        started = time.monotonic()
        for number in ("1", "3", "5", "7"):
            geo.forward(AddressQuery(street="Mannerheimintie", housenumber=number,
                                     city="Helsinki"))
        times = [t for t, _, _ in fake.requests]
        assert len(times) == 4
        # one at once, then one every 1/8 s: the last cannot arrive before 3/8 s (a busy
        # machine only delays arrivals, so this bound does not flake)
        assert times[-1] - started >= 3 / 8 - 0.01
        assert geo.bucket.waited > 0  # it did hold requests back (each round trip also refills)
    finally:
        fake.stop()


# -- failures ---------------------------------------------------------------------------------
def test_server_error_is_a_clear_engine_error(server: FakeGeocodeServer) -> None:
    server.fail_status = 500
    geo = client(server)
    with pytest.raises(EngineError) as err:
        geo.forward(HOUSE)
    assert server.engine in str(err.value) and "HTTP 500" in str(err.value)
    assert "Mannerheimintie" not in str(err.value)  # the customer's address is not logged
    server.fail_status = None
    assert geo.forward(HOUSE) is not None  # a failure is not cached


def test_too_many_requests_says_so() -> None:
    fake = FakeGeocodeServer("photon", fail_status=429)
    try:
        with pytest.raises(EngineError, match="too many requests"):
            client(fake).forward(HOUSE)
    finally:
        fake.stop()


def test_timeout_is_a_clear_engine_error(server: FakeGeocodeServer) -> None:
    server.delay = 1.0
    with pytest.raises(EngineError, match=r"no answer within 0\.2 s"):
        client(server, timeout=0.2).forward(HOUSE)


def test_not_json_is_an_engine_error(server: FakeGeocodeServer) -> None:
    server.garbage = True
    with pytest.raises(EngineError, match="not JSON"):
        client(server).reverse(24.94, 60.17)


def test_unreachable_server_is_an_engine_error() -> None:
    fake = FakeGeocodeServer("pelias")
    url = fake.url
    fake.stop()
    with pytest.raises(EngineError, match="cannot connect"):
        make_engine("pelias", url, timeout=2).forward(HOUSE)


def test_make_engine_rejects_unknown_names_and_urls() -> None:
    with pytest.raises(ValueError, match="nominatim, photon, pelias"):
        make_engine("google", "http://127.0.0.1:1")
    with pytest.raises(ValueError, match="http://"):
        make_engine("photon", "127.0.0.1:2322")
