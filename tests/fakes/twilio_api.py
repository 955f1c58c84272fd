"""A local stand-in for Twilio's REST API (Programmable Messaging over WhatsApp), for tests.

The REAL twilio-python client talks HTTP to it on 127.0.0.1, no internet needed::

    with FakeTwilioApi() as api:
        client = Client(api.account_sid, api.auth_token)
        client.api.base_url = api.base_url          # "http://127.0.0.1:PORT", no trailing slash
        client.edge = client.region = None          # only matters if TWILIO_EDGE/REGION are set
        client.messages.create(to="whatsapp:+6281234567890", from_="whatsapp:+14155238886",
                               body="Halo", status_callback="https://svc/webhooks/whatsapp/status")
        api.wait_for_message("whatsapp:+6281234567890")     # what the citizen got

``api.client()`` returns a Client configured exactly like that.

How the pointing works (twilio 9.x): every resource of ``api.twilio.com`` -- both
``client.messages`` and ``client.api.v2010.account.messages`` -- goes through the one cached
``client.api`` Domain, whose ``absolute_url()`` reads ``self.base_url`` (default
``"https://api.twilio.com"``) on every request. Setting ``client.api.base_url`` therefore
redirects all of them, including ones fetched before the change. Do NOT use ``edge`` /
``region`` for this: ``ClientBase.get_hostname()`` rewrites the URL's host by splitting it on
"." when either is set (from the constructor or ``TWILIO_EDGE`` / ``TWILIO_REGION`` in the
environment) and would mangle ``127.0.0.1``; clear them as shown. twilio's HTTP client is
``requests`` with ``trust_env``, so a ``HTTP_PROXY`` in the environment needs ``NO_PROXY``
to include 127.0.0.1.

What the client sends and how it reads answers (what this stand-in reproduces):

* ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded
  (``application/x-www-form-urlencoded``), HTTP Basic auth ``AccountSid:AuthToken``, keys in
  Twilio's PascalCase (``To``, ``From``, ``Body``, ``StatusCallback``, ``ContentSid``,
  ``ContentVariables`` (a JSON string), ``MessagingServiceSid``...); ``None``/unset values
  are dropped and a list (``media_url=[...]``) becomes a repeated ``MediaUrl`` key.
* 2xx: the JSON body becomes a ``MessageInstance`` (``from`` -> ``.from_``, RFC 2822 dates).
* 4xx/5xx: ``TwilioRestException`` with ``.status`` = HTTP status, ``.code`` = the JSON
  ``code`` and ``.msg`` = ``"Unable to create record: " + message`` (``"Unable to fetch
  record: ..."`` for GETs), as long as the body is NOT shaped like RFC 9457 (no
  ``type``/``title``) -- Twilio's classic ``{"code", "message", "more_info", "status"}``.

Served routes, only what the product calls: create (above) and
``GET .../Messages/{Sid}/Media/{MediaSid}`` (307 to a short-lived, unauthenticated
``{base}/media-store/<token>`` URL serving the bytes). Anything else, Twilio's fetch and list
of messages and media metadata included: Twilio's 404 (20404) or 405 (20004).

Validation follows Twilio's synchronous errors: 21604 / 21603 missing To / From, 21211 /
21212 bad numbers, 21910 mixed channels, 21619 nothing to send, 21617 body over 1600
characters (counted in code points), 21620 / 21623 media URLs, 21655 / 21656 ContentSid /
ContentVariables, 21609 StatusCallback, 63007 unknown sender (only when ``senders`` is given),
63016 freeform message to a closed window (``window_closed``). ``fail_next`` injects any
error (rate limits, 5xx, dropped connections).

Deliberate differences from Twilio: message SIDs are "SM..." for text and "MM..." for
messages with media, as on Twilio (so never assume "SM"); 63016 / 63018 are answered
synchronously (Twilio usually reports them in a later status callback -- see
``window_closed(..., synchronous=False)`` and ``send_status_callback`` for that path).

Webhook helpers (module functions, also methods bound to the instance's sid/token):
``inbound_params`` / ``status_callback_params`` build the exact form fields Twilio posts,
``sign`` computes ``X-Twilio-Signature`` with twilio's own ``RequestValidator`` and
``post_signed`` posts them to a running service.

The server uses only the standard library; ``sign`` and ``client()`` import twilio.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

if TYPE_CHECKING:
    from twilio.rest import Client

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_CITIZEN",
    "DEFAULT_WHATSAPP_FROM",
    "KNOWN_ERRORS",
    "FakeTwilioApi",
    "MediaRequest",
    "inbound_params",
    "post_signed",
    "sign",
    "status_callback_params",
    "twilio_error",
]

JsonDict = dict[str, Any]
MessagePredicate = Callable[[JsonDict], bool]

DEFAULT_ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
DEFAULT_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
DEFAULT_WHATSAPP_FROM = "whatsapp:+14155238886"  # Twilio's WhatsApp sandbox number
DEFAULT_CITIZEN = "whatsapp:+6281234567890"
API_VERSION = "2010-04-01"

MAX_BODY_LENGTH = 1600
MAX_MEDIA = 10
MEDIA_STORE_TTL = 300.0  # seconds a redirect target stays valid

WINDOW_MESSAGE = (
    "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template."
)

#: Twilio error code -> (HTTP status, message) used when an error is answered or injected.
KNOWN_ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20004: (405, "Method not allowed"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    21211: (400, "Invalid 'To' Phone Number"),
    21212: (400, "Invalid 'From' Phone Number"),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21609: (400, "Invalid StatusCallback url"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21619: (400, "A text message body or media urls must be specified."),
    21620: (400, "Invalid media URL(s)"),
    21623: (400, "Number of media files exceeds allowed limit"),
    21655: (400, "The ContentSid is Invalid."),
    21656: (400, "The ContentVariables Parameter is invalid."),
    21910: (400, "Invalid From and To pair. From and To should be of the same channel"),
    63007: (400, "Twilio could not find a Channel with the specified From address"),
    63016: (400, WINDOW_MESSAGE),
    63018: (429, "Rate limit exceeded"),
}

_NUMBER = re.compile(r"\+[1-9][0-9]{6,14}")
_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
_BASE_PATH = f"/{API_VERSION}/Accounts/"
_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("messages", re.compile(r"/2010-04-01/Accounts/([^/]+)/Messages\.json")),
    ("media", re.compile(r"/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)/Media/([^/.]+)")),
    ("store", re.compile(r"/media-store/([^/]+)")),
]


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment is not None else None


def twilio_error(code: int, message: str | None = None, status: int | None = None) -> JsonDict:
    """Twilio's classic error body: ``{"code", "message", "more_info", "status"}``.

    ``message`` / ``status`` default to ``KNOWN_ERRORS`` (400 and "Error" for unknown codes).
    """
    known_status, known_message = KNOWN_ERRORS.get(code, (400, "Error"))
    return {
        "code": code,
        "message": known_message if message is None else message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": known_status if status is None else status,
    }


def _digits(address: str) -> str:
    return "".join(ch for ch in address if ch.isdigit())


def _channel(address: str) -> str:
    return address.split(":", 1)[0] if ":" in address else "sms"


def _bare(address: str) -> str:
    return address.split(":", 1)[1] if ":" in address else address


# --------------------------------------------------------------------------------------------
# Webhook helpers: what Twilio posts to us, signed like Twilio signs it
# --------------------------------------------------------------------------------------------


def sign(url: str, params: Mapping[str, str], auth_token: str | None = None) -> str:
    """``X-Twilio-Signature`` for a POST of ``params`` to ``url`` (twilio's RequestValidator).

    ``url`` is the full URL Twilio requested, query string included.
    """
    from twilio.request_validator import RequestValidator

    return RequestValidator(auth_token or DEFAULT_AUTH_TOKEN).compute_signature(url, dict(params))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # Twilio reports a 3xx answer to a webhook; it does not follow it


def post_signed(
    url: str,
    params: Mapping[str, str],
    auth_token: str | None = None,
    *,
    tamper: bool = False,
    signature: str | None = None,
    unsigned: bool = False,
    timeout: float = 10.0,
) -> tuple[int, str, bytes]:
    """POST ``params`` form-encoded to a running server the way Twilio does a webhook.

    Sends ``X-Twilio-Signature`` computed with ``auth_token`` (or ``signature`` verbatim;
    ``unsigned=True`` omits the header). ``tamper=True`` signs the params, then changes one
    before sending (``Body`` gets " [tampered]" appended, or a ``Tampered=1`` field is added),
    as a forger would. Redirects are not followed. Returns (status, content type, body);
    HTTP errors are returned, not raised; connection errors raise ``urllib.error.URLError``.
    """
    sent = {str(key): str(value) for key, value in params.items()}
    header = signature if signature is not None else sign(url, sent, auth_token)
    if tamper:
        if "Body" in sent:
            sent["Body"] += " [tampered]"
        else:
            sent["Tampered"] = "1"
    request = urllib.request.Request(
        url,
        data=urlencode(sent).encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "Accept": "*/*",
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        },
    )
    if not unsigned:
        request.add_header("X-Twilio-Signature", header)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type", ""), error.read()


def _message_type(
    media: list[tuple[str, str]],
    latitude: float | str | None,
    button_payload: str | None,
    button_text: str | None,
) -> str:
    if latitude is not None:
        return "location"
    if button_payload is not None or button_text is not None:
        return "button"
    if media:
        content_type = media[0][1].lower()
        if content_type == "image/webp":
            return "sticker"
        for kind in ("image", "video", "audio"):
            if content_type.startswith(kind + "/"):
                return kind
        return "document"
    return "text"


def inbound_params(
    from_: str = DEFAULT_CITIZEN,
    body: str = "",
    *,
    to: str = DEFAULT_WHATSAPP_FROM,
    profile_name: str | None = "Siti",
    media: Iterable[tuple[str, str]] | None = None,
    latitude: float | str | None = None,
    longitude: float | str | None = None,
    address: str | None = None,
    label: str | None = None,
    button_payload: str | None = None,
    button_text: str | None = None,
    original_replied_message_sid: str | None = None,
    message_sid: str | None = None,
    account_sid: str | None = None,
    messaging_service_sid: str | None = None,
    message_type: str | None = None,
) -> dict[str, str]:
    """The form fields Twilio posts to the incoming-message webhook for a WhatsApp message.

    ``media`` is a list of (url, content type). The SID is "MM..." when there is media and
    "SM..." otherwise, as on Twilio; it is repeated as ``SmsMessageSid`` and ``SmsSid``. A
    location needs ``latitude`` and ``longitude`` (``address`` / ``label`` for a shared
    place). A quick-reply button press sets ``ButtonPayload`` / ``ButtonText`` and, when
    ``body`` is empty, ``Body`` to the button text (as WhatsApp does). ``MessageType`` is
    derived (text, image, video, audio, document, sticker, location, button) unless given.
    """
    items = list(media or [])
    sid = message_sid or _sid("MM" if items else "SM")
    if button_text is not None and not body:
        body = button_text
    params: dict[str, str] = {
        "SmsMessageSid": sid,
        "NumMedia": str(len(items)),
    }
    if profile_name is not None:
        params["ProfileName"] = profile_name
    params["MessageType"] = message_type or _message_type(
        items, latitude, button_payload, button_text
    )
    params["SmsSid"] = sid
    params["WaId"] = _digits(from_)
    params["SmsStatus"] = "received"
    params["Body"] = body
    params["To"] = to
    params["NumSegments"] = "1"
    params["ReferralNumMedia"] = "0"
    params["MessageSid"] = sid
    params["AccountSid"] = account_sid or DEFAULT_ACCOUNT_SID
    if messaging_service_sid is not None:
        params["MessagingServiceSid"] = messaging_service_sid
    params["From"] = from_
    params["ApiVersion"] = API_VERSION
    for index, (url, content_type) in enumerate(items):
        params[f"MediaContentType{index}"] = content_type
        params[f"MediaUrl{index}"] = url
    if latitude is not None or longitude is not None:
        params["Latitude"] = str(latitude)
        params["Longitude"] = str(longitude)
    if address is not None:
        params["Address"] = address
    if label is not None:
        params["Label"] = label
    if button_payload is not None:
        params["ButtonPayload"] = button_payload
    if button_text is not None:
        params["ButtonText"] = button_text
    if original_replied_message_sid is not None:
        params["OriginalRepliedMessageSender"] = to
        params["OriginalRepliedMessageSid"] = original_replied_message_sid
    return params


def status_callback_params(
    message_sid: str,
    status: str,
    *,
    to: str,
    from_: str,
    error_code: int | str | None = None,
    account_sid: str | None = None,
    messaging_service_sid: str | None = None,
) -> dict[str, str]:
    """The form fields Twilio posts to a message's StatusCallback (WhatsApp flavour).

    ``status`` is one of queued, sending, sent, delivered, read, undelivered, failed;
    ``ErrorCode`` is present only when ``error_code`` is given.
    """
    params: dict[str, str] = {}
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    if _channel(to) == "whatsapp":
        params["ChannelPrefix"] = "whatsapp"
        params["ChannelInstallSid"] = "XE" + "0" * 32
        params["ChannelToAddress"] = _bare(to)
        params["StructuredMessage"] = "false"
    params.update(
        {
            "ApiVersion": API_VERSION,
            "MessageStatus": status,
            "SmsSid": message_sid,
            "SmsStatus": status,
            "To": to,
            "From": from_,
            "MessageSid": message_sid,
            "AccountSid": account_sid or DEFAULT_ACCOUNT_SID,
        }
    )
    if messaging_service_sid:
        params["MessagingServiceSid"] = messaging_service_sid
    return params


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class MediaRequest(NamedTuple):
    """One GET of a media URL or of its media-store redirect target."""

    path: str
    had_auth: bool


@dataclass
class _Failure:
    to: str | None
    remaining: int
    code: int
    status: int
    message: str
    retry_after: float | None
    disconnect: bool


@dataclass
class _Media:
    account_sid: str
    message_sid: str
    media_sid: str
    content: bytes
    content_type: str
    created: datetime


class _Reply(NamedTuple):
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


def _json_reply(status: int, payload: JsonDict, headers: dict[str, str] | None = None) -> _Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return _Reply(status, body, "application/json; charset=utf-8", headers or {})


def _error_reply(
    code: int,
    message: str | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
) -> _Reply:
    payload = twilio_error(code, message, status)
    return _json_reply(int(payload["status"]), payload, headers)


_DISCONNECT = _Reply(0, b"", "", {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, api: FakeTwilioApi, host: str) -> None:
        self.api = api
        super().__init__((host, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-request are normal in tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this Nagle + delayed ACK
        # stall every response by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        with suppress(OSError):
            super().finish()
        self.server.api._track(self.connection, add=False)

    def do_GET(self) -> None:
        self.server.api._serve_http(self)

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


# --------------------------------------------------------------------------------------------
# The fake REST API
# --------------------------------------------------------------------------------------------


class FakeTwilioApi:
    """Twilio's Messaging REST API on 127.0.0.1: records sends, answers and fails like Twilio.

    Use as a context manager (or ``start()`` / ``stop()``); point twilio's Client at
    ``base_url`` (see the module docstring) or use ``client()``. All public methods are
    thread-safe.

    ``senders``: if given, the only From addresses accepted (others: 63007).
    ``auto_callbacks``: after each accepted message, post "sent" then "delivered" to its
    StatusCallback (signed) from a background thread, ``callback_delay`` seconds later.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        senders: Iterable[str] | None = None,
        auto_callbacks: bool = False,
        callback_delay: float = 0.05,
        media_ttl: float = MEDIA_STORE_TTL,
        host: str = "127.0.0.1",
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.senders = set(senders) if senders is not None else None
        self.auto_callbacks = auto_callbacks
        self.callback_delay = callback_delay
        self.media_ttl = media_ttl
        self.host = host

        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._stopping = False
        self._connections: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []

        self._messages: list[JsonDict] = []  # accepted sends, oldest first
        self._attempts: list[JsonDict] = []  # every Messages.json POST, with the outcome
        self._resources: dict[str, JsonDict] = {}  # sid -> Message resource JSON
        self._callbacks: list[JsonDict] = []
        self._failures: list[_Failure] = []
        self._closed_windows: dict[str, bool] = {}  # to -> synchronous
        self._media: dict[str, _Media] = {}  # media sid -> media
        self._store: dict[str, tuple[str, float]] = {}  # token -> (media sid, expiry)
        self._media_requests: list[MediaRequest] = []

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeTwilioApi:
        """Start serving on an ephemeral port (idempotent)."""
        if self._server is not None:
            return self
        with self._cond:
            self._stopping = False
        server = _Server(self, self.host)
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-twilio-api:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and wait for pending callback deliveries."""
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            connections = list(self._connections)
            workers = list(self._workers)
        server.shutdown()
        server.server_close()
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        for worker in workers:
            worker.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTwilioApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port (after ``start()``)."""
        if self._port is None:
            raise RuntimeError("FakeTwilioApi is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the value for ``client.api.base_url`` /
        ``TWILIO_API_BASE_URL`` (stands for ``https://api.twilio.com``)."""
        return f"http://{self.host}:{self.port}"

    def environ(self) -> dict[str, str]:
        """The environment that points I-Ceta's WhatsApp channel at this stand-in."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_API_BASE_URL": self.base_url,
        }

    def client(self, **kwargs: Any) -> Client:
        """A real ``twilio.rest.Client`` for this account, pointed at the stand-in."""
        from twilio.rest import Client

        client = Client(self.account_sid, self.auth_token, **kwargs)
        client.api.base_url = self.base_url
        client.edge = None
        client.region = None
        return client

    # ---- recorded sends -------------------------------------------------------------------

    @property
    def messages(self) -> list[JsonDict]:
        """Every message Twilio accepted (201), oldest first (copies).

        Each: ``sid``, ``to``, ``from_``, ``body``, ``media_urls`` (list), ``status_callback``,
        ``content_sid``, ``content_variables`` (decoded JSON or None),
        ``messaging_service_sid``, ``status`` (current), ``error_code``, ``at`` (UTC
        datetime), ``params`` (the raw form pairs). Rejected posts are in ``attempts``.
        """
        with self._cond:
            return copy.deepcopy(self._messages)

    @property
    def attempts(self) -> list[JsonDict]:
        """Every POST to Messages.json (also rejected ones), oldest first (copies).

        Same keys as ``messages`` (``sid`` None when rejected) plus ``http_status`` and
        ``error`` (the Twilio error JSON or None; ``{"disconnect": True}`` when dropped).
        """
        with self._cond:
            return copy.deepcopy(self._attempts)

    def messages_to(self, to: str) -> list[JsonDict]:
        """Accepted messages addressed to ``to`` (e.g. "whatsapp:+62..."), oldest first."""
        return [message for message in self.messages if message["to"] == to]

    def message(self, sid: str) -> JsonDict | None:
        """The Message resource JSON as GET would return it now, or None."""
        with self._cond:
            found = self._resources.get(sid)
            return copy.deepcopy(found) if found is not None else None

    def wait_for_message(
        self, predicate_or_to: MessagePredicate | str, timeout: float = 5.0
    ) -> JsonDict:
        """Wait for an accepted message (to an address, or matching a predicate); return it.

        Messages already recorded count. Raises AssertionError with a dump on timeout.
        """
        return self.wait_for_messages(predicate_or_to, 1, timeout)[0]

    def wait_for_messages(
        self, predicate_or_to: MessagePredicate | str, count: int, timeout: float = 5.0
    ) -> list[JsonDict]:
        """Wait until at least ``count`` accepted messages match; return all that match."""
        if isinstance(predicate_or_to, str):
            address = predicate_or_to
            label = repr(address)

            def matches(message: JsonDict) -> bool:
                return message["to"] == address

        else:
            predicate = predicate_or_to
            label = getattr(predicate, "__qualname__", repr(predicate))

            def matches(message: JsonDict) -> bool:
                try:
                    return bool(predicate(message))
                except (KeyError, IndexError, TypeError, AttributeError, ValueError):
                    return False

        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in copy.deepcopy(self._messages) if matches(m)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} WhatsApp message(s) matching {label} within "
                        f"{timeout}s, got {len(found)}.\n{self.dump()}"
                    )
                self._cond.wait(remaining)

    def dump(self, last: int = 40) -> str:
        """A readable listing of the recorded Messages.json posts."""
        with self._cond:
            attempts = list(self._attempts[-last:])
            total = len(self._attempts)
        lines = [f"Messages.json posts: {total} (last {len(attempts)} shown)"]
        for attempt in attempts:
            error = attempt["error"]
            outcome = (
                attempt["sid"]
                if error is None
                else ("dropped" if error.get("disconnect") else f"error {error['code']}")
            )
            detail = attempt["body"] or ""
            if attempt["content_sid"]:
                detail = f"[{attempt['content_sid']} {attempt['content_variables']}] {detail}"
            if attempt["media_urls"]:
                detail = f"{detail} +{len(attempt['media_urls'])} media"
            detail = detail.replace("\n", "\\n")
            if len(detail) > 100:
                detail = detail[:97] + "..."
            lines.append(
                f"  {attempt['http_status']} {outcome} to={attempt['to']} "
                f"from={attempt['from_']} {detail}"
            )
        return "\n".join(lines)

    def fail_next(
        self,
        *,
        to: str | None = None,
        times: int = 1,
        code: int = 63018,
        status: int | None = None,
        message: str | None = None,
        retry_after: float | None = None,
        disconnect: bool = False,
    ) -> None:
        """Make the next ``times`` Messages.json posts (to ``to``, or any) fail.

        The answer is Twilio's error JSON with ``code``; ``status`` and ``message`` default to
        ``KNOWN_ERRORS`` (63018: 429 "Rate limit exceeded"; 63016: 400 outside the window;
        21211: 400; 20429: 429 "Too Many Requests"; ``code=500`` or 20500: a 500 with code
        20500). ``retry_after`` adds a Retry-After header; ``disconnect=True`` closes the
        connection without answering. Checked after authentication, before validation.
        """
        if code == 500:
            code = 20500
        known_status, known_message = KNOWN_ERRORS.get(code, (400, "Error"))
        with self._cond:
            self._failures.append(
                _Failure(
                    to=to,
                    remaining=times,
                    code=code,
                    status=known_status if status is None else status,
                    message=known_message if message is None else message,
                    retry_after=retry_after,
                    disconnect=disconnect,
                )
            )

    def window_closed(self, to: str, *, synchronous: bool = True) -> None:
        """From now on freeform messages (no ContentSid) to ``to`` fail with 63016.

        Synchronously (400 answer) by default; with ``synchronous=False`` the way Twilio
        usually does it: accepted (201 queued), then marked failed with ErrorCode 63016 and,
        when the message has a StatusCallback, a signed "failed" callback is posted to it.
        Template messages (ContentSid) still go through.
        """
        with self._cond:
            self._closed_windows[to] = synchronous

    def window_open(self, to: str) -> None:
        """The citizen wrote again: freeform messages to ``to`` go through again."""
        with self._cond:
            self._closed_windows.pop(to, None)

    # ---- status callbacks -----------------------------------------------------------------

    @property
    def callbacks(self) -> list[JsonDict]:
        """Status callbacks the stand-in posted: ``url``, ``params``, ``http_status`` (None
        when the POST failed), ``error`` (str or None), ``at``."""
        with self._cond:
            return copy.deepcopy(self._callbacks)

    def set_status(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> None:
        """Change a stored message's status (what GET and ``messages`` show), no callback."""
        with self._cond:
            resource = self._resources.get(sid)
            if resource is None:
                raise KeyError(f"unknown message sid {sid}")
            now = _now()
            resource["status"] = status
            resource["date_updated"] = _rfc2822(now)
            if status in ("sent", "delivered", "read") and resource["date_sent"] is None:
                resource["date_sent"] = _rfc2822(now)
            if error_code is not None:
                resource["error_code"] = error_code
                resource["error_message"] = error_message
            for record in self._messages:
                if record["sid"] == sid:
                    record["status"] = status
                    if error_code is not None:
                        record["error_code"] = error_code
            self._cond.notify_all()

    def status_callback_params(
        self,
        message_sid: str,
        status: str,
        *,
        to: str | None = None,
        from_: str | None = None,
        error_code: int | str | None = None,
        account_sid: str | None = None,
    ) -> dict[str, str]:
        """``status_callback_params`` for this account; ``to`` / ``from_`` default to the
        stored message's."""
        resource = self.message(message_sid) or {}
        return status_callback_params(
            message_sid,
            status,
            to=to if to is not None else resource.get("to", ""),
            from_=from_ if from_ is not None else (resource.get("from") or ""),
            error_code=error_code,
            account_sid=account_sid or self.account_sid,
            messaging_service_sid=resource.get("messaging_service_sid"),
        )

    def send_status_callback(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        url: str | None = None,
        update: bool = True,
    ) -> tuple[int, str, bytes]:
        """Post a signed status callback for a stored message, as Twilio would.

        Goes to ``url`` or the message's StatusCallback; updates the stored status first
        unless ``update=False``. Returns (status, content type, body) like ``post_signed``.
        """
        resource = self.message(sid)
        if resource is None:
            raise KeyError(f"unknown message sid {sid}")
        target = url or self._status_callback_of(sid)
        if not target:
            raise ValueError(f"message {sid} has no StatusCallback and no url was given")
        if update:
            self.set_status(sid, status, error_code=error_code)
        params = self.status_callback_params(sid, status, error_code=error_code)
        return self._post_callback(target, params)

    def _status_callback_of(self, sid: str) -> str | None:
        with self._cond:
            for record in self._messages:
                if record["sid"] == sid:
                    return record["status_callback"]
        return None

    def _post_callback(self, url: str, params: dict[str, str]) -> tuple[int, str, bytes]:
        entry: JsonDict = {
            "url": url,
            "params": params,
            "http_status": None,
            "error": None,
            "at": _now(),
        }
        try:
            result = post_signed(url, params, self.auth_token)
        except (OSError, urllib.error.URLError) as error:
            entry["error"] = repr(error)
            with self._cond:
                self._callbacks.append(entry)
                self._cond.notify_all()
            raise
        entry["http_status"] = result[0]
        with self._cond:
            self._callbacks.append(entry)
            self._cond.notify_all()
        return result

    def _deliver_later(self, sid: str, steps: list[tuple[str, int | None]]) -> None:
        callback = self._status_callback_of(sid)

        def run() -> None:
            for status, error_code in steps:
                with self._cond:
                    if self._cond.wait_for(lambda: self._stopping, self.callback_delay):
                        return
                message = KNOWN_ERRORS[error_code][1] if error_code in KNOWN_ERRORS else None
                self.set_status(sid, status, error_code=error_code, error_message=message)
                if callback:
                    with suppress(OSError, urllib.error.URLError):
                        self._post_callback(
                            callback,
                            self.status_callback_params(sid, status, error_code=error_code),
                        )

        worker = threading.Thread(target=run, name=f"fake-twilio-callback:{sid}", daemon=True)
        with self._cond:
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
        worker.start()

    # ---- media ----------------------------------------------------------------------------

    def add_media(
        self,
        content: bytes,
        content_type: str = "image/jpeg",
        *,
        message_sid: str | None = None,
    ) -> str:
        """Store media a citizen "sent"; return its Twilio media URL.

        ``{base}/2010-04-01/Accounts/{sid}/Messages/MM.../Media/ME...`` -- GET it with Basic
        auth to be redirected (307) to ``{base}/media-store/<token>``, which serves
        ``content`` with ``content_type`` and needs no auth. Use the URL in
        ``inbound_params(media=[(url, content_type)], message_sid=...)``.
        """
        media = _Media(
            account_sid=self.account_sid,
            message_sid=message_sid or _sid("MM"),
            media_sid=_sid("ME"),
            content=bytes(content),
            content_type=content_type,
            created=_now(),
        )
        with self._cond:
            self._media[media.media_sid] = media
        return f"{self.base_url}{self._media_path(media)}"

    def remove_media(self, url: str) -> None:
        """Delete stored media (its URL then answers 404, like deleted media on Twilio)."""
        media_sid = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        with self._cond:
            self._media.pop(media_sid, None)

    @property
    def media_requests(self) -> list[MediaRequest]:
        """GETs of media URLs and of media-store URLs, oldest first: (path, had_auth), where
        ``had_auth`` means an Authorization header was sent (right or wrong)."""
        with self._cond:
            return list(self._media_requests)

    def _media_path(self, media: _Media) -> str:
        return (
            f"{_BASE_PATH}{media.account_sid}/Messages/{media.message_sid}/Media/{media.media_sid}"
        )

    # ---- webhook helpers bound to this account ----------------------------------------------

    def inbound_params(
        self,
        from_: str = DEFAULT_CITIZEN,
        body: str = "",
        **kwargs: Any,
    ) -> dict[str, str]:
        """``inbound_params`` with this account's sid (same keyword arguments)."""
        kwargs.setdefault("account_sid", self.account_sid)
        return inbound_params(from_, body, **kwargs)

    def sign(self, url: str, params: Mapping[str, str], auth_token: str | None = None) -> str:
        """``sign`` with this account's auth token by default."""
        return sign(url, params, auth_token or self.auth_token)

    def post_signed(
        self,
        url: str,
        params: Mapping[str, str],
        auth_token: str | None = None,
        *,
        tamper: bool = False,
        signature: str | None = None,
        unsigned: bool = False,
    ) -> tuple[int, str, bytes]:
        """``post_signed`` with this account's auth token by default."""
        return post_signed(
            url,
            params,
            auth_token or self.auth_token,
            tamper=tamper,
            signature=signature,
            unsigned=unsigned,
        )

    # ---- HTTP -----------------------------------------------------------------------------

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._cond:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _serve_http(self, handler: _Handler) -> None:
        body = _read_body(handler)
        url = urlsplit(handler.path)
        path = unquote(url.path)
        method = handler.command
        reply = self._route(method, path, url.query, handler, body)
        if reply.status == 0:
            handler.close_connection = True
            with suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.send_header("Twilio-Request-Id", _sid("RQ"))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            view = memoryview(reply.body)
            for start in range(0, len(view), 1 << 20):
                handler.wfile.write(view[start : start + (1 << 20)])
        except OSError:
            handler.close_connection = True

    def _route(self, method: str, path: str, query: str, handler: _Handler, body: bytes) -> _Reply:
        for name, pattern in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if name == "store":
                return self._serve_store(method, path, match.group(1), handler)
            authorization = handler.headers.get("Authorization", "")
            if _basic_auth(authorization) != (self.account_sid, self.auth_token):
                reply = _error_reply(
                    20003, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'}
                )
                if name == "messages" and method == "POST":
                    self._record_attempt(
                        parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True),
                        reply,
                    )
                if name == "media":
                    self._note_media(path, had_auth=bool(authorization))
                return reply
            if match.group(1) != self.account_sid:
                return self._not_found(path)
            if name == "messages" and method == "POST":
                return self._create(handler, body)
            if name == "media" and method == "GET":
                self._note_media(path, had_auth=True)
                return self._serve_media(match.group(3), path)
            return _error_reply(20004)
        return self._not_found(path)

    def _not_found(self, path: str) -> _Reply:
        return _error_reply(20404, f"The requested resource {path} was not found")

    def _note_media(self, path: str, *, had_auth: bool) -> None:
        with self._cond:
            self._media_requests.append(MediaRequest(path, had_auth))
            self._cond.notify_all()

    # ---- Messages.json --------------------------------------------------------------------

    def _record_attempt(
        self, pairs: list[tuple[str, str]], reply: _Reply | None, sid: str | None = None
    ) -> JsonDict:
        record = self._record(pairs, sid)
        if reply is None:
            record["http_status"], record["error"] = 201, None
        elif reply.status == 0:
            record["http_status"], record["error"] = 0, {"disconnect": True}
        else:
            record["http_status"], record["error"] = reply.status, json.loads(reply.body)
        with self._cond:
            self._attempts.append(record)
            self._cond.notify_all()
        return record

    @staticmethod
    def _record(pairs: list[tuple[str, str]], sid: str | None) -> JsonDict:
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, value)
        variables: Any = None
        if fields.get("ContentVariables"):
            try:
                variables = json.loads(fields["ContentVariables"])
            except ValueError:
                variables = fields["ContentVariables"]
        return {
            "sid": sid,
            "to": fields.get("To"),
            "from_": fields.get("From"),
            "body": fields.get("Body"),
            "media_urls": [value for key, value in pairs if key == "MediaUrl"],
            "status_callback": fields.get("StatusCallback"),
            "content_sid": fields.get("ContentSid"),
            "content_variables": variables,
            "messaging_service_sid": fields.get("MessagingServiceSid"),
            "status": None,
            "error_code": None,
            "at": _now(),
            "params": list(pairs),
        }

    def _create(self, handler: _Handler, body: bytes) -> _Reply:
        content_type = handler.headers.get("Content-Type", "")
        pairs: list[tuple[str, str]] = []
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, value)
        to = fields.get("To", "")

        injected = self._take_failure(to)
        if injected is not None:
            self._record_attempt(pairs, injected)
            return injected

        error = self._validate(fields, [v for k, v in pairs if k == "MediaUrl"])
        if error is not None:
            self._record_attempt(pairs, error)
            return error

        asynchronous_window_failure = False
        if not fields.get("ContentSid"):
            with self._cond:
                synchronous = self._closed_windows.get(to)
            if synchronous is True:
                error = _error_reply(63016)
                self._record_attempt(pairs, error)
                return error
            asynchronous_window_failure = synchronous is False

        media_urls = [value for key, value in pairs if key == "MediaUrl"]
        sid = _sid("MM" if media_urls else "SM")
        resource = self._resource(sid, fields, media_urls)
        with self._cond:
            self._resources[sid] = resource
            record = self._record_attempt(pairs, None, sid)
            accepted = copy.deepcopy(record)
            accepted["status"] = resource["status"]
            del accepted["http_status"], accepted["error"]
            self._messages.append(accepted)
            self._cond.notify_all()
        if asynchronous_window_failure:
            self._deliver_later(sid, [("failed", 63016)])
        elif self.auto_callbacks:
            self._deliver_later(sid, [("sent", None), ("delivered", None)])
        return _json_reply(201, resource)

    def _take_failure(self, to: str) -> _Reply | None:
        with self._cond:
            for failure in self._failures:
                if failure.to is not None and failure.to != to:
                    continue
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                if failure.disconnect:
                    return _DISCONNECT
                headers = {}
                if failure.retry_after is not None:
                    headers["Retry-After"] = f"{failure.retry_after:g}"
                return _error_reply(failure.code, failure.message, failure.status, headers)
        return None

    def _validate(self, fields: dict[str, str], media_urls: list[str]) -> _Reply | None:
        to = fields.get("To", "")
        from_ = fields.get("From", "")
        service = fields.get("MessagingServiceSid", "")
        if not to:
            return _error_reply(21604)
        if not from_ and not service:
            return _error_reply(21603)
        if _channel(to) not in ("sms", "whatsapp") or not _NUMBER.fullmatch(_bare(to)):
            return _error_reply(21211, f"Invalid 'To' Phone Number: {to}")
        if from_:
            if _channel(from_) not in ("sms", "whatsapp") or not _NUMBER.fullmatch(_bare(from_)):
                return _error_reply(
                    21212,
                    f"The 'From' number {from_} is not a valid phone number, shortcode, "
                    "or alphanumeric sender ID.",
                )
            if _channel(from_) != _channel(to):
                return _error_reply(21910)
        body = fields.get("Body", "")
        content_sid = fields.get("ContentSid", "")
        if not body and not media_urls and not content_sid:
            return _error_reply(21619)
        if len(body) > MAX_BODY_LENGTH:
            return _error_reply(21617)
        if len(media_urls) > MAX_MEDIA:
            return _error_reply(21623)
        for media_url in media_urls:
            parts = urlsplit(media_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return _error_reply(21620, f"Invalid media URL(s): {media_url}")
        if content_sid and not _CONTENT_SID.fullmatch(content_sid):
            return _error_reply(21655)
        if "ContentVariables" in fields:
            try:
                variables = json.loads(fields["ContentVariables"])
            except ValueError:
                variables = None
            if not isinstance(variables, dict):
                return _error_reply(21656)
        callback = fields.get("StatusCallback")
        if callback is not None:
            parts = urlsplit(callback)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return _error_reply(21609)
        if from_ and self.senders is not None and from_ not in self.senders:
            return _error_reply(63007)
        return None

    def _resource(self, sid: str, fields: dict[str, str], media_urls: list[str]) -> JsonDict:
        now = _rfc2822(_now())
        base = f"{_BASE_PATH}{self.account_sid}/Messages/{sid}"
        body = fields.get("Body", "")
        from_ = fields.get("From") or None
        if _channel(fields["To"]) == "whatsapp" or len(body) <= 160:
            segments = 1
        else:
            segments = -(-len(body) // 153)
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": fields.get("MessagingServiceSid") or None,
            "num_media": str(len(media_urls)),
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": fields["To"],
            "uri": f"{base}.json",
        }

    # ---- media serving --------------------------------------------------------------------

    def _serve_media(self, media_sid: str, path: str) -> _Reply:
        with self._cond:
            media = self._media.get(media_sid)
            if media is None or not path.startswith(
                f"{_BASE_PATH}{media.account_sid}/Messages/{media.message_sid}/"
            ):
                return self._not_found(path)
            token = secrets.token_urlsafe(24)
            self._store[token] = (media_sid, time.monotonic() + self.media_ttl)
        location = f"{self.base_url}/media-store/{token}"
        return _Reply(
            307,
            b"",
            "text/html; charset=utf-8",
            {"Location": location},
        )

    def _serve_store(self, method: str, path: str, token: str, handler: _Handler) -> _Reply:
        self._note_media(path, had_auth=bool(handler.headers.get("Authorization")))
        if method != "GET":
            return _error_reply(20004)
        with self._cond:
            entry = self._store.get(token)
            media = self._media.get(entry[0]) if entry is not None else None
            expired = entry is not None and time.monotonic() > entry[1]
        if media is None or expired:
            reason = "Request has expired" if expired else "Access Denied"
            xml = f"<Error><Code>AccessDenied</Code><Message>{reason}</Message></Error>"
            return _Reply(403, xml.encode(), "application/xml", {})
        return _Reply(200, media.content, media.content_type, {"Cache-Control": "private"})
