"""Tencent's official AES and signature vectors (WeChat's 消息加解密 documentation), then AES through our webhook."""

from __future__ import annotations

import time

import pytest
import requests
import wechatpy.crypto
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.security import Refused, check_msg_signature, check_signature, sha1_signature
from tests.driver import live_bot

SAMPLE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APPID = "wx2c2769f8efd9abc2"

# Vector C: the official Python Sample.py (compatible-mode body).
C_TIMESTAMP, C_NONCE = "1409735669", "1320562132"
C_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
C_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFm"
    "OD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8d"
    "KOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5"
    "RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNP"
    "fUM669WuMyVWQLCzpu9GhglF2PE="
)
C_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzS"
    "IWZf0rs]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Conte"
    "nt><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA["
    + C_ENCRYPT + "]]></Encrypt></xml>"
)
C_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    "<CreateTime>1409735668</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[abcdteT]]></Content>\n"
    "<MsgId>6054768590064713728</MsgId>\n"
    "</xml>"
)

# Vector D: the official C++ sample (safe-mode body).
D_TIMESTAMP, D_NONCE = "1410349438", "298025754"
D_SIGNATURE = "003fee52ecc56afb46c00b5c7721be87860ce785"
D_ENCRYPT = (
    "mfBCs65c67CeJw22u4VT2TD73q5H06+ocrAIxswCaeZ/d/Lw0msSZFHY0teqgSYiI1zR2gD2DKrB3TIrmX/liNSDrGqS8jSI/WPe"
    "KB5VPr7Ezr7gomZAyGCwJSgT1TRFWPfONGJMxuj2nk4faTuspAuVIFQ6SHwZuJBZC7mcJp7Cgr9cUhATQWDbOPaE7ukZBTV2Yqyz"
    "H+UI2AK+J1S47cE79k1RX8t0hcTz/O0hlK8DGXKnvYv88qKQcI7z4iaajqHfRVZKBNyOODabs+It+ZfM3dWTeFcPgDbGtIEnpt/E"
    "DtuuA/zMvtkaKdHdswPnVZQ+xdwbYr3ldGvfT8HlEYEgkgKaThxTFobVlwzu2ZkXCjicbP3xdr15Iq48ObgzPpqYuZ3IEoyggZDK"
    "Clquk0u0orMck4GTF/XyE8yGzc4="
)
D_BODY = ("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA["
          + D_ENCRYPT + "]]></Encrypt></xml>")

# Vector E: the current official "消息推送" document's end-to-end example.
E_TOKEN, E_KEY, E_APPID = "AAAAA", "A" * 43, "wx134c8103faa5a59e"
E_TIMESTAMP, E_NONCE = "1715943329", "1590219412"
E_SIGNATURE = "cc0c594499c1634947d5b502f158ee518947db27"
E_MSG_SIGNATURE = "6c12a4205838198b8fa631b3220723bb07f1015c"
E_ENCRYPT = (
    "D7yzvUNAL930rd28wf21s4hvXhz0L6Uit/p2Di6C5DHyYGpEgdBRnKjBec34JwoQXicwaZC7fOVihW80F4VtsdvE//1vr7oAbqjD"
    "v8KenVp+ajKYpJnyQ4zMRhIC+a31fCVOMC03FfzV/QuC94kBP55a+Za3sJgvAn+ZbsNqZI5DkyuzkhQN8OBqCzFhizGmy0xpM0ME"
    "A4agpvE+RuNO1rhHTtuJB5yltw1FiYzecSXJ+y/D2r81VkRn2eYjh2ltsoyfbDR7Is6ookXIFxTfyeNyeHxMeT4KN5WpCDmSbTcU"
    "YrbBUlkGLJ9n/rU8YOywma6G7aTb7KZKOqCxgfoUlYEZPk4FUL/TK7ShriFDMVCLyjQJ15Ob++agDWtcxhfUfe6HIoIpRW8mKNBQ"
    "iY/Jd1svvuskA1wLef1RTtzKfMpagSCX/laZINmdnX4zrF6kIaR9P4xQrWXbsTFHTYe0Mg=="
)
E_BODY = "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[" + E_ENCRYPT + "]]></Encrypt></xml>"


def _fixed_random(value: str) -> type:
    """A PrpCrypto whose 16-byte random prefix is fixed (the technique of wechatpy's own tests)."""

    class FixedPrpCrypto(wechatpy.crypto.PrpCrypto):
        def get_random_string(self) -> str:
            return value

    return FixedPrpCrypto


# ---- decrypt ------------------------------------------------------------------------------------

def test_vector_c_official_python_sample_decrypts():
    crypto = WeChatCrypto("spamtest", SAMPLE_KEY, SAMPLE_APPID)
    assert crypto.decrypt_message(C_BODY, C_SIGNATURE, C_TIMESTAMP, C_NONCE) == C_PLAINTEXT


def test_vector_d_official_cpp_sample_decrypts():
    crypto = WeChatCrypto("spamtest", SAMPLE_KEY, SAMPLE_APPID)
    plain = crypto.decrypt_message(D_BODY, D_SIGNATURE, D_TIMESTAMP, D_NONCE)
    doc = xmltodict.parse(plain)["xml"]
    assert doc["MsgType"] == "text"
    assert doc["Content"] == "abcdteT"
    assert doc["MsgId"] == "6057404712141979648"
    assert doc["ToUserName"] == "gh_10f6c3c3ac5a"


def test_vector_e_official_doc_decrypts_to_debug_demo_event():
    crypto = WeChatCrypto(E_TOKEN, E_KEY, E_APPID)
    plain = crypto.decrypt_message(E_BODY, E_MSG_SIGNATURE, E_TIMESTAMP, E_NONCE)
    assert len(plain) == 292
    doc = xmltodict.parse(plain)["xml"]
    assert doc["MsgType"] == "event"
    assert doc["Event"] == "debug_demo"
    assert doc["FromUserName"] == "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
    assert doc["ToUserName"] == "gh_97417a04a28d"
    assert doc["debug_str"] == "hello world"


# ---- encrypt with a fixed random ----------------------------------------------------------------

def test_vector_a_java_sample_encrypts(monkeypatch):
    monkeypatch.setattr(wechatpy.crypto, "PrpCrypto", _fixed_random("aaaabbbbccccdddd"))
    crypto = WeChatCrypto("pamtest", SAMPLE_KEY, "wxb11529c136998cb6")
    envelope = xmltodict.parse(crypto.encrypt_message("我是中文abcd123", "xxxxxx", "1409304348"))["xml"]
    assert envelope["Encrypt"] == (
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    )
    assert envelope["MsgSignature"] == "82c962d39941aa48552f90ef55aa323dc620cc10"
    assert envelope["TimeStamp"] == "1409304348"
    assert envelope["Nonce"] == "xxxxxx"


def test_vector_e_reply_encrypts(monkeypatch):
    monkeypatch.setattr(wechatpy.crypto, "PrpCrypto", _fixed_random("999951349e8ee746"))
    crypto = WeChatCrypto(E_TOKEN, E_KEY, E_APPID)
    envelope = xmltodict.parse(crypto.encrypt_message(
        "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>", "415670741", "1713424427"))["xml"]
    assert envelope["Encrypt"] == (
        "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t"
        "/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7"
    )
    assert envelope["MsgSignature"] == "03e0812039325c2712ef5f0f980fd14c70d6e307"


# ---- plain signatures with our checker ---------------------------------------------------------

@pytest.mark.parametrize(
    ("signature", "timestamp", "nonce"),
    [
        ("f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492"),  # GET URL check
        ("899cf89e464efb63f54ddac96b0a0a235f53aa78", "1714037059", "486452656"),  # plain POST
        (E_SIGNATURE, E_TIMESTAMP, E_NONCE),  # safe-mode POST's plain signature
    ],
)
def test_official_plain_signatures_pass_our_check(signature, timestamp, nonce):
    check_signature("AAAAA", signature, timestamp, nonce)
    check_signature("AAAAA", signature.upper(), timestamp, nonce)  # hex case does not matter


@pytest.mark.parametrize(
    ("token", "signature", "timestamp", "nonce"),
    [
        ("AAAAB", "f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492"),
        ("AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441697", "1714036504", "1514711492"),
        ("AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036505", "1514711492"),
        ("AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711493"),
        ("AAAAA", "", "1714036504", "1514711492"),
        ("AAAAA", "f464b24f", "1714036504", "1514711492"),
    ],
    ids=["wrong-token", "wrong-digest", "other-timestamp", "other-nonce", "empty", "truncated"],
)
def test_wrong_plain_signature_is_refused_403(token, signature, timestamp, nonce):
    with pytest.raises(Refused) as info:
        check_signature(token, signature, timestamp, nonce)
    assert info.value.status == 403


def test_our_msg_signature_check_on_vectors_e_c_d():
    check_msg_signature(E_TOKEN, E_MSG_SIGNATURE, E_TIMESTAMP, E_NONCE, E_ENCRYPT)
    check_msg_signature("spamtest", C_SIGNATURE, C_TIMESTAMP, C_NONCE, C_ENCRYPT)
    check_msg_signature("spamtest", D_SIGNATURE, D_TIMESTAMP, D_NONCE, D_ENCRYPT)


@pytest.mark.parametrize(
    ("token", "signature", "encrypt"),
    [
        (E_TOKEN, "deadbeef", E_ENCRYPT),
        (E_TOKEN, "", E_ENCRYPT),
        ("AAAAB", E_MSG_SIGNATURE, E_ENCRYPT),
        (E_TOKEN, E_MSG_SIGNATURE, E_ENCRYPT[:-4] + "AAA="),  # tampered ciphertext
        (E_TOKEN, E_SIGNATURE, E_ENCRYPT),  # the plain signature is not the msg_signature
    ],
    ids=["garbage", "empty", "wrong-token", "tampered", "plain-signature"],
)
def test_bad_msg_signature_is_refused_403(token, signature, encrypt):
    with pytest.raises(Refused) as info:
        check_msg_signature(token, signature, E_TIMESTAMP, E_NONCE, encrypt)
    assert info.value.status == 403


# ---- negative checks with wechatpy ---------------------------------------------------------------

def test_vector_c_wrong_appid_raises_invalid_appid():
    crypto = WeChatCrypto("spamtest", SAMPLE_KEY, "wx_other")
    with pytest.raises(InvalidAppIdException):
        crypto.decrypt_message(C_BODY, C_SIGNATURE, C_TIMESTAMP, C_NONCE)


def test_vector_e_wrong_appid_raises_invalid_appid():
    crypto = WeChatCrypto(E_TOKEN, E_KEY, "wxshangliangtest")
    with pytest.raises(InvalidAppIdException):
        crypto.decrypt_message(E_BODY, E_MSG_SIGNATURE, E_TIMESTAMP, E_NONCE)


def test_vector_c_bad_msg_signature_raises_invalid_signature():
    crypto = WeChatCrypto("spamtest", SAMPLE_KEY, SAMPLE_APPID)
    with pytest.raises(InvalidSignatureException):
        crypto.decrypt_message(C_BODY, "deadbeef", C_TIMESTAMP, C_NONCE)


# ---- AES through our webhook ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def aes_bots(session_services):
    """One running bot per mode for the module (these checks need no particular data)."""
    with live_bot(session_services, mode="safe") as safe, live_bot(session_services, mode="compatible") as compat, \
            live_bot(session_services) as plain:
        yield {"safe": safe, "compatible": compat, "plain": plain}


@pytest.fixture
def safe_bot(aes_bots):
    return aes_bots["safe"]


def _aes_key(bot) -> str:
    return bot.services.settings.wechat.encoding_aes_key


@pytest.mark.parametrize("mode", ["safe", "compatible"])
def test_aes_round_trip_through_our_webhook(aes_bots, mode):
    bot = aes_bots[mode]
    params, body = bot.pusher.build_request(bot.pusher.text("u-aes", "帮助"))
    assert params["encrypt_type"] == "aes" and "msg_signature" in params
    if mode == "safe":
        assert "<MsgType>" not in body and "帮助" not in body
    else:
        assert "<Encrypt>" in body and "<MsgType>" in body
    # the pusher verifies the reply's MsgSignature and decrypts it, like WeChat does
    result = bot.pusher.post(bot.pusher.text("u-aes", "帮助"))
    assert result.status == 200
    assert result.encrypted
    assert result.reply["ToUserName"] == "u-aes"
    assert result.reply["MsgType"] == "text"
    assert "绑定 邀请码" in result.text


def test_safe_mode_reply_signature_covers_the_ciphertext(safe_bot):
    settings = safe_bot.services.settings.wechat
    params, body = safe_bot.pusher.build_request(safe_bot.pusher.text("u-aes2", "帮助"))
    response = requests.post(safe_bot.url, params=params, data=body.encode(), timeout=5)
    assert response.status_code == 200
    envelope = xmltodict.parse(response.text)["xml"]
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert envelope["Nonce"] == params["nonce"]
    check_msg_signature(settings.token, envelope["MsgSignature"], envelope["TimeStamp"],
                        envelope["Nonce"], envelope["Encrypt"])
    crypto = WeChatCrypto(settings.token, settings.encoding_aes_key, settings.app_id)
    plain = crypto.decrypt_message(envelope, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    assert "帮助" in xmltodict.parse(plain)["xml"]["Content"]


def test_safe_mode_envelope_without_encrypt_type_is_refused_400(safe_bot):
    signed, _ = safe_bot.pusher.build_request(safe_bot.pusher.text("u-x", "帮助"))
    envelope_only = (
        "<xml><ToUserName><![CDATA[gh_shangliang]]></ToUserName>"
        "<Encrypt><![CDATA[" + "A" * 64 + "]]></Encrypt></xml>"
    )
    params = {k: signed[k] for k in ("signature", "timestamp", "nonce", "openid")}
    response = requests.post(safe_bot.url, params=params, data=envelope_only.encode(), timeout=5)
    assert response.status_code == 400


def test_safe_mode_bad_msg_signature_is_refused_403(safe_bot):
    params, body = safe_bot.pusher.build_request(safe_bot.pusher.text("u-x", "帮助"))
    params["msg_signature"] = "0" * 40
    response = requests.post(safe_bot.url, params=params, data=body.encode(), timeout=5)
    assert response.status_code == 403


def test_safe_mode_message_for_another_appid_is_refused_not_500(safe_bot):
    token = safe_bot.services.settings.wechat.token
    other = WeChatCrypto(token, _aes_key(safe_bot), "wxsomeoneelse")
    timestamp, nonce = str(int(time.time())), "424242"
    envelope = xmltodict.parse(other.encrypt_message(safe_bot.pusher.text("u-x", "帮助"), nonce, timestamp))["xml"]
    params = {"signature": sha1_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
              "openid": "u-x", "encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
    body = f"<xml><ToUserName><![CDATA[gh_shangliang]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    response = requests.post(safe_bot.url, params=params, data=body.encode(), timeout=5)
    assert response.status_code == 400
    assert safe_bot.pusher.post(safe_bot.pusher.text("u-x", "帮助")).text  # still serving


def test_plain_mode_refuses_encrypted_message_400(aes_bots):
    bot = aes_bots["plain"]
    params, _ = bot.pusher.build_request(bot.pusher.text("u-x", "帮助"))
    params.update(encrypt_type="aes", msg_signature="0" * 40)
    envelope = f"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{'A' * 64}]]></Encrypt></xml>"
    response = requests.post(bot.url, params=params, data=envelope.encode(), timeout=5)
    assert response.status_code == 400


def test_plaintext_refused_when_encryption_required(services):
    """With [webhook] require_encryption, a signed plaintext message is refused (its body is unsigned)."""
    from tests.driver import AES_KEY, live_bot

    with live_bot(services, mode="plain", wechat={"encoding_aes_key": AES_KEY},
                  webhook={"require_encryption": True}) as running:
        result = running.post(running.pusher.text("u-plain", "帮助"))
        assert result.status == 403
    with live_bot(services, mode="safe", webhook={"require_encryption": True}) as running:
        assert "帮助" in (running.send("u-safe", "帮助") or "")
