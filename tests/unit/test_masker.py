"""Secrets never leave in a text: every registered part of a channel URL is blanked, the longest first."""

from duban.notify.secrets import Masker


def test_a_bot_url_and_its_key_are_blanked_wherever_they_appear():
    masker = Masker()
    masker.register_url("wecombot://0f9e8d7c-xiyang-key?base=http://10.1.2.3:8080")
    text = "POST wecombot://0f9e8d7c-xiyang-key?base=http://10.1.2.3:8080 failed; key 0f9e8d7c-xiyang-key refused"
    assert masker.mask(text) == "POST *** failed; key *** refused"
    assert "0f9e8d7c-xiyang-key" in masker and "乐平镇统计站 errcode 0" not in masker


def test_a_longer_secret_is_never_half_masked_by_a_shorter_one():
    masker = Masker()
    masker.register("abcdef")
    masker.register("abcdefXYZ123")  # a later bot whose key begins like an earlier one
    assert masker.mask("key=abcdefXYZ123&other=abcdef!") == "key=***&other=***!"


def test_passwords_in_mail_urls_and_dingtalk_secrets_are_blanked_but_short_words_are_not():
    masker = Masker()
    masker.register_url("mailtos://tongji:S3cretPassw0rd@mail.jz.gov.cn?to=sgk@jz.gov.cn")
    masker.register_url("dingtalk://SECd1ngta1kse3ret@tok3n0123456789")
    masked = masker.mask("login S3cretPassw0rd for tongji; sign SECd1ngta1kse3ret token tok3n0123456789 json")
    assert masked == "login *** for tongji; sign *** token *** json"


def test_many_bots_register_one_by_one_and_each_is_masked():
    masker = Masker()
    keys = [f"okbot{code:09d}" for code in range(140_700_000, 140_705_000)]
    for key in keys:
        masker.register_url(f"wecombot://{key}?base=http://127.0.0.1:9")
    assert masker.mask(f"{keys[0]} {keys[-1]} 140700000") == "*** *** 140700000"


def test_the_url_a_unit_is_mailed_through_keeps_the_senders_password_masked():
    """mail:ADDRESS is DUBAN_MAIL_SENDER's URL sent to that address: the password in it, in the user part or in the
    query as written (pass=s%26cret, which the masker knew only decoded), is blanked in whatever shows that URL."""
    from duban.notify.secrets import MASKER, resolver

    sender = (
        "mailtos://tongji:S3cret%40Passw0rd@mail.jz.gov.cn?from=duban@jz.gov.cn&to=sgk@jz.gov.cn&pass=Qu3ry%26Pw0rd"
    )
    resolve = resolver({"JZ_SMTP": sender}.get, lambda name: None, "env:JZ_SMTP")
    url = resolve("mail:wang+1@xiyang.gov.cn")
    assert url.endswith("&to=wang%2B1@xiyang.gov.cn") and "sgk@jz.gov.cn" not in url
    assert (
        MASKER.mask(url)
        == "mailtos://tongji:***@mail.jz.gov.cn?from=duban@jz.gov.cn&pass=***&to=wang%2B1@xiyang.gov.cn"
    )


def test_a_url_that_is_a_scheme_alone_masks_nothing():
    """A channel variable left as `wecombot://` (no key) was registered whole: from then on every `wecombot://` and
    `mailtos://` in a log line or a delivery record read `***`, the scheme an operator needs to see what is wrong."""
    from duban.notify.secrets import Masker

    masker = Masker()
    masker.register_url("wecombot://")
    masker.register_url("mailtos://")
    said = "env:XY_WECOM：环境变量 XY_WECOM 中的 wecombot:// 地址不完整; mailtos://duban@mail.jz.gov.cn"
    assert masker.mask(said) == said
