"""The Twilio REST API stand-in behaves like Twilio, as seen through the real twilio client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from flask import Flask, request
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_WHATSAPP_FROM,
    WINDOW_MESSAGE,
    FakeTwilioApi,
    inbound_params,
    sign,
    status_callback_params,
)

CITIZEN = "whatsapp:+6281234567890"
OTHER = "whatsapp:+6281299990000"
SENDER = DEFAULT_WHATSAPP_FROM
TEMPLATE = "HX" + "ab" * 16
CALLBACK = "https://iceta.example.go.id/webhooks/whatsapp/status"


@pytest.fixture
def api() -> Iterator[FakeTwilioApi]:
    with FakeTwilioApi() as fake:
        yield fake


@pytest.fixture
def client(api: FakeTwilioApi) -> Client:
    """The documented way: a plain Client, its "api" domain pointed at the stand-in."""
    client = Client(api.account_sid, api.auth_token)
    client.api.base_url = api.base_url
    client.edge = client.region = None
    return client


# ---- sending -----------------------------------------------------------------------------


def test_create_with_body_and_status_callback_is_recorded(
    api: FakeTwilioApi, client: Client
) -> None:
    sent = client.messages.create(
        to=CITIZEN, from_=SENDER, body="Halo Siti 👋 <b>&", status_callback=CALLBACK
    )

    assert sent.sid.startswith("SM") and len(sent.sid) == 34
    assert sent.status == "queued"
    assert (sent.to, sent.from_, sent.body) == (CITIZEN, SENDER, "Halo Siti 👋 <b>&")
    assert sent.account_sid == api.account_sid
    assert sent.direction == "outbound-api"
    assert (sent.num_media, sent.num_segments) == ("0", "1")
    assert sent.error_code is None and sent.error_message is None and sent.price is None
    assert sent.api_version == "2010-04-01"
    assert sent.date_created is not None and sent.date_created.tzinfo is not None
    assert sent.uri == f"/2010-04-01/Accounts/{api.account_sid}/Messages/{sent.sid}.json"
    assert sent.subresource_uris == {
        "media": f"/2010-04-01/Accounts/{api.account_sid}/Messages/{sent.sid}/Media.json"
    }

    (message,) = api.messages
    assert message["sid"] == sent.sid
    assert message["to"] == CITIZEN and message["from_"] == SENDER
    assert message["body"] == "Halo Siti 👋 <b>&"
    assert message["status_callback"] == CALLBACK
    assert message["media_urls"] == [] and message["content_sid"] is None
    assert api.wait_for_message(CITIZEN)["sid"] == sent.sid
    assert api.messages_to(CITIZEN) == [message] and api.messages_to(OTHER) == []

    with pytest.raises(TwilioRestException) as caught:  # the product never fetches
        client.messages(sent.sid).fetch()
    assert caught.value.status == 404 and caught.value.code == 20404


def test_versioned_path_and_repeated_media_urls(api: FakeTwilioApi, client: Client) -> None:
    urls = ["https://iceta.example.go.id/media/a.jpg", "https://iceta.example.go.id/media/b.pdf"]
    sent = client.api.v2010.account.messages.create(
        to=CITIZEN, from_=SENDER, media_url=urls, body="Lampiran"
    )

    assert sent.sid.startswith("MM")  # Twilio's SID prefix for messages with media
    assert sent.num_media == "2"
    message = api.wait_for_message(lambda m: m["media_urls"] == urls)
    assert message["params"].count(("MediaUrl", urls[0])) == 1
    assert [key for key, _ in message["params"]].count("MediaUrl") == 2


def test_template_with_content_variables_is_recorded(api: FakeTwilioApi, client: Client) -> None:
    variables = {"1": "ICT-000123", "2": "Dinas PUPR"}
    client.messages.create(
        to=CITIZEN, from_=SENDER, content_sid=TEMPLATE, content_variables=json.dumps(variables)
    )

    (message,) = api.messages
    assert message["content_sid"] == TEMPLATE
    assert message["content_variables"] == variables
    assert message["body"] is None


def test_wrong_token_is_401_authenticate(api: FakeTwilioApi) -> None:
    bad = Client(api.account_sid, "wrong-token")
    bad.api.base_url = api.base_url
    with pytest.raises(TwilioRestException) as caught:
        bad.messages.create(to=CITIZEN, from_=SENDER, body="halo")

    assert caught.value.status == 401
    assert caught.value.code == 20003
    assert caught.value.msg == "Unable to create record: Authenticate"
    assert api.messages == []
    assert api.attempts[-1]["http_status"] == 401

    raw = requests.post(
        f"{api.base_url}/2010-04-01/Accounts/{api.account_sid}/Messages.json",
        data={"To": CITIZEN, "From": SENDER, "Body": "x"},
        timeout=5,
    )
    assert raw.status_code == 401
    assert raw.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


def test_validation_errors_like_twilio(api: FakeTwilioApi, client: Client) -> None:
    def error_of(**kwargs: Any) -> tuple[int, int | None, str]:
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(**kwargs)
        return caught.value.status, caught.value.code, caught.value.msg

    assert error_of(to=CITIZEN, from_=SENDER, body="x" * 1601) == (
        400,
        21617,
        "Unable to create record: The concatenated message body exceeds the 1600 character limit.",
    )
    assert error_of(to=CITIZEN, from_=SENDER) == (
        400,
        21619,
        "Unable to create record: A text message body or media urls must be specified.",
    )
    assert error_of(to=CITIZEN, body="x")[1] == 21603
    assert error_of(to="whatsapp:0812", from_=SENDER, body="x")[1] == 21211
    assert error_of(to="+6281234567890", from_=SENDER, body="x")[1] == 21910
    assert error_of(to=CITIZEN, from_=SENDER, content_sid="HXnope")[1] == 21655
    assert error_of(to=CITIZEN, from_=SENDER, content_sid=TEMPLATE, content_variables="{")[1] == (
        21656
    )
    assert api.messages == [] and len(api.attempts) == 7

    exactly = client.messages.create(to=CITIZEN, from_=SENDER, body="é" * 1600)
    assert exactly.status == "queued"


def test_fail_next_injects_twilio_errors(api: FakeTwilioApi, client: Client) -> None:
    api.fail_next()  # 63018 rate limit, any recipient
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=CITIZEN, from_=SENDER, body="halo")
    assert (caught.value.code, caught.value.status) == (63018, 429)
    assert caught.value.msg == "Unable to create record: Rate limit exceeded"
    client.messages.create(to=CITIZEN, from_=SENDER, body="halo")  # only once

    api.fail_next(to=OTHER, times=2, code=20429, retry_after=2)
    client.messages.create(to=CITIZEN, from_=SENDER, body="not matching")
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to=OTHER, from_=SENDER, body="halo")
        assert (caught.value.code, caught.value.status) == (20429, 429)
    client.messages.create(to=OTHER, from_=SENDER, body="halo")

    api.fail_next(code=500)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=CITIZEN, from_=SENDER, body="halo")
    assert (caught.value.code, caught.value.status) == (20500, 500)

    api.fail_next(code=21211)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=CITIZEN, from_=SENDER, body="halo")
    assert (caught.value.code, caught.value.status) == (21211, 400)

    api.fail_next(disconnect=True)
    with pytest.raises(requests.ConnectionError):
        client.messages.create(to=CITIZEN, from_=SENDER, body="halo")

    assert [m["to"] for m in api.messages] == [CITIZEN, CITIZEN, OTHER]
    assert [a["http_status"] for a in api.attempts] == [429, 201, 201, 429, 429, 201, 500, 400, 0]


def test_window_closed_blocks_freeform_but_not_templates(
    api: FakeTwilioApi, client: Client
) -> None:
    api.window_closed(CITIZEN)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=CITIZEN, from_=SENDER, body="Tiket Anda selesai")
    assert (caught.value.code, caught.value.status) == (63016, 400)
    assert caught.value.msg == f"Unable to create record: {WINDOW_MESSAGE}"
    with pytest.raises(TwilioRestException):
        client.messages.create(to=CITIZEN, from_=SENDER, media_url=["https://x.example/a.jpg"])

    client.messages.create(to=OTHER, from_=SENDER, body="other citizens are unaffected")
    template = client.messages.create(
        to=CITIZEN, from_=SENDER, content_sid=TEMPLATE, content_variables='{"1": "ICT-000001"}'
    )
    assert template.status == "queued"

    api.window_open(CITIZEN)
    client.messages.create(to=CITIZEN, from_=SENDER, body="Tiket Anda selesai")
    assert [(m["to"], m["content_sid"]) for m in api.messages] == [
        (OTHER, None),
        (CITIZEN, TEMPLATE),
        (CITIZEN, None),
    ]


# ---- status callbacks --------------------------------------------------------------------


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], str]] = []
        self.got = threading.Event()
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhooks/whatsapp/status"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.server.posts.append(
            (self.path, dict(parse_qsl(body)), self.headers.get("X-Twilio-Signature", ""))
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.got.set()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_asynchronous_window_failure_arrives_as_signed_callback(
    api: FakeTwilioApi, client: Client, receiver: _Receiver
) -> None:
    api.window_closed(CITIZEN, synchronous=False)
    sent = client.messages.create(
        to=CITIZEN, from_=SENDER, body="Tiket selesai", status_callback=receiver.url
    )
    assert sent.status == "queued"

    assert receiver.got.wait(5)
    _, params, signature = receiver.posts[0]
    assert params["MessageSid"] == sent.sid and params["MessageStatus"] == "failed"
    assert params["ErrorCode"] == "63016"
    assert RequestValidator(api.auth_token).validate(receiver.url, params, signature)
    assert api.message(sent.sid)["error_code"] == 63016
    # the stand-in records the callback once our receiver has answered it
    deadline = time.monotonic() + 5
    while not api.callbacks and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api.callbacks[0]["http_status"] == 200

    status, _, _ = api.send_status_callback(sent.sid, "read")
    assert status == 200 and receiver.posts[-1][1]["SmsStatus"] == "read"


def test_status_callback_params_shape() -> None:
    params = status_callback_params(
        "SM" + "1" * 32, "undelivered", to=CITIZEN, from_=SENDER, error_code=63018
    )
    assert params == {
        "ErrorCode": "63018",
        "ChannelPrefix": "whatsapp",
        "ChannelInstallSid": "XE" + "0" * 32,
        "ChannelToAddress": "+6281234567890",
        "StructuredMessage": "false",
        "ApiVersion": "2010-04-01",
        "MessageStatus": "undelivered",
        "SmsSid": "SM" + "1" * 32,
        "SmsStatus": "undelivered",
        "To": CITIZEN,
        "From": SENDER,
        "MessageSid": "SM" + "1" * 32,
        "AccountSid": DEFAULT_ACCOUNT_SID,
    }
    assert "ErrorCode" not in status_callback_params("SMx", "sent", to=CITIZEN, from_=SENDER)


# ---- media -------------------------------------------------------------------------------


def test_media_download_needs_auth_and_follows_redirect(api: FakeTwilioApi) -> None:
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    url = api.add_media(photo, "image/jpeg")
    assert url.startswith(f"{api.base_url}/2010-04-01/Accounts/{api.account_sid}/Messages/MM")
    assert "/Media/ME" in url

    anonymous = requests.get(url, timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == 20003

    first = requests.get(url, auth=(api.account_sid, api.auth_token), allow_redirects=False)
    assert first.status_code == 307
    assert first.headers["Location"].startswith(f"{api.base_url}/media-store/")

    got = requests.get(url, auth=(api.account_sid, api.auth_token), timeout=5)
    assert got.status_code == 200 and got.content == photo
    assert got.headers["Content-Type"] == "image/jpeg"

    store = requests.get(first.headers["Location"], timeout=5)  # no auth needed there
    assert store.content == photo
    assert api.media_requests[0] == (urlpath(url), False)
    assert [had_auth for _, had_auth in api.media_requests] == [False, True, True, True, False]

    unused = requests.get(url + ".json", auth=(api.account_sid, api.auth_token), timeout=5)
    assert unused.status_code == 404  # media metadata: the product never asks for it

    big = api.add_media(b"\0" * (6 * 1024 * 1024), "video/mp4")
    response = requests.get(big, auth=(api.account_sid, api.auth_token), timeout=5)
    assert len(response.content) == 6 * 1024 * 1024

    api.remove_media(url)
    gone = requests.get(url, auth=(api.account_sid, api.auth_token), timeout=5)
    assert gone.status_code == 404 and gone.json()["code"] == 20404


def urlpath(url: str) -> str:
    """The path part of an absolute URL."""
    return "/" + url.split("/", 3)[3]


# ---- inbound webhooks and signatures -------------------------------------------------------


def test_inbound_params_text_media_location_button() -> None:
    text = inbound_params(body="Jalan berlubang di Jl. Merdeka")
    assert text["MessageSid"].startswith("SM") and len(text["MessageSid"]) == 34
    assert text["SmsMessageSid"] == text["SmsSid"] == text["MessageSid"]
    assert text["From"] == CITIZEN and text["To"] == SENDER
    assert text["WaId"] == "6281234567890" and text["ProfileName"] == "Siti"
    assert text["NumMedia"] == "0" and text["MessageType"] == "text"
    assert text["SmsStatus"] == "received" and text["ApiVersion"] == "2010-04-01"
    assert text["AccountSid"] == DEFAULT_ACCOUNT_SID and "MessagingServiceSid" not in text
    assert all(isinstance(value, str) for value in text.values())

    photo = inbound_params(media=[("https://api.twilio.com/m/ME1", "image/jpeg")])
    assert photo["MessageSid"].startswith("MM") and photo["MessageType"] == "image"
    assert photo["NumMedia"] == "1" and photo["MediaContentType0"] == "image/jpeg"

    place = inbound_params(latitude=-6.2, longitude=106.816666, address="Jl. Thamrin", label="X")
    assert place["MessageType"] == "location"
    assert (place["Latitude"], place["Longitude"]) == ("-6.2", "106.816666")
    assert (place["Address"], place["Label"]) == ("Jl. Thamrin", "X")

    button = inbound_params(button_payload="confirm:ICT-000001", button_text="Ya, selesai")
    assert button["MessageType"] == "button" and button["Body"] == "Ya, selesai"
    assert button["ButtonPayload"] == "confirm:ICT-000001"

    reply = inbound_params(body="ok", original_replied_message_sid="SM" + "2" * 32)
    assert reply["OriginalRepliedMessageSid"] == "SM" + "2" * 32


def test_sign_matches_request_validator_and_flask_test_client(api: FakeTwilioApi) -> None:
    url = "https://iceta.example.go.id/webhooks/whatsapp?x=1"
    params = api.inbound_params(body="halo & <b>")
    signature = sign(url, params)
    assert RequestValidator(DEFAULT_AUTH_TOKEN).validate(url, params, signature)
    assert not RequestValidator(DEFAULT_AUTH_TOKEN).validate(
        url, {**params, "Body": "x"}, signature
    )
    assert api.sign(url, params, "other-token") != signature

    app = Flask(__name__)

    @app.post("/webhooks/whatsapp")
    def webhook() -> tuple[str, int]:
        valid = RequestValidator(DEFAULT_AUTH_TOKEN).validate(
            "https://iceta.example.go.id" + request.full_path.rstrip("?"),
            request.form,
            request.headers.get("X-Twilio-Signature", ""),
        )
        return ("<Response/>", 200) if valid else ("", 403)

    test_client = app.test_client()
    good = test_client.post(
        "/webhooks/whatsapp?x=1", data=params, headers={"X-Twilio-Signature": signature}
    )
    bad = test_client.post(
        "/webhooks/whatsapp?x=1", data=params, headers={"X-Twilio-Signature": "AAAA"}
    )
    assert (good.status_code, bad.status_code) == (200, 403)


def test_post_signed_to_a_running_server(api: FakeTwilioApi, receiver: _Receiver) -> None:
    params = api.inbound_params(body="halo")
    status, _, _ = api.post_signed(receiver.url, params)
    assert status == 200
    _, received, signature = receiver.posts[-1]
    assert received == params
    assert RequestValidator(api.auth_token).validate(receiver.url, received, signature)

    api.post_signed(receiver.url, params, tamper=True)
    _, received, signature = receiver.posts[-1]
    assert received["Body"] != params["Body"]
    assert not RequestValidator(api.auth_token).validate(receiver.url, received, signature)

    api.post_signed(receiver.url, params, unsigned=True)
    assert receiver.posts[-1][2] == ""


def test_client_helper_and_region_in_environment(
    api: FakeTwilioApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "au1")
    helper = api.client()
    assert helper.messages.create(to=CITIZEN, from_=SENDER, body="halo").status == "queued"

    mangled = Client(api.account_sid, api.auth_token)  # region from the environment
    mangled.api.base_url = api.base_url
    url = f"{api.base_url}/2010-04-01/Accounts/{api.account_sid}/Messages.json"
    assert mangled.get_hostname(url).startswith("http://127.au1.0.1:")  # why edge/region go


def test_wait_for_message_times_out_with_a_dump(api: FakeTwilioApi, client: Client) -> None:
    api.fail_next()
    with pytest.raises(TwilioRestException):
        client.messages.create(to=CITIZEN, from_=SENDER, body="halo")
    with pytest.raises(AssertionError, match=r"(?s)within 0.1s.*429 error 63018"):
        api.wait_for_message(CITIZEN, timeout=0.1)


def test_auto_callbacks_report_sent_then_delivered(receiver: _Receiver) -> None:
    with FakeTwilioApi(auto_callbacks=True, callback_delay=0.01) as api:
        sent = api.client().messages.create(
            to=CITIZEN, from_=SENDER, body="halo", status_callback=receiver.url
        )
        api.wait_for_message(lambda m: m["status"] == "delivered")
    assert [(p["MessageSid"], p["MessageStatus"]) for _, p, _ in receiver.posts] == [
        (sent.sid, "sent"),
        (sent.sid, "delivered"),
    ]
